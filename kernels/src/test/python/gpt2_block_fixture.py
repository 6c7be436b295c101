#!/usr/bin/env python3
"""Writes the PyTorch fixtures that TorchFixtureTest checks the nn and linalg ops against, the way
llm.c's test_gpt2.c checks its C against a state dumped by PyTorch.

Run by hand (not by CI), from the repository root:

    /usr/bin/python3 kernels/src/test/python/gpt2_block_fixture.py

It needs torch and numpy (written with torch 1.13) and writes, in kernels/src/test/resources/fixtures/:

  gpt2_block_fixture.safetensors  a 2-layer GPT-2 stack (pre-LN causal blocks, GELU tanh, ln_f, the head
                                  tied to wte), Hugging Face key names, Conv1D weights [in, out]
  vit_block_fixture.safetensors   a 2-layer ViT stack (non-causal blocks, GELU erf, LayerNorm eps 1e-6,
                                  final norm, class-token pooling, a linear head), timm key names,
                                  nn.Linear weights [out, in]; no embedding: the input x [B, T, C] is given

Each file holds the random float32 parameters, the inputs, PyTorch's logits and loss, the activations
named act.*, and the gradient of the loss with respect to every parameter (grad.<name>) and to a few
activations (grad.act.*). The forward and backward passes run in float64 from the float32 parameters
and inputs, then every result is rounded to float32 once: the fixture is the exact answer to within
float32 rounding, so a test's tolerance measures only the float32 arithmetic of the code under test.

Format: safetensors (8-byte little-endian header length, a JSON header, raw little-endian data), the
header written with sorted keys and no spaces, each entry {"dtype","shape","data_offsets"} in that order,
and __metadata__ (string values) carrying format, format_version (FIXTURE_VERSION), the command that
regenerates the file and the configuration, one key each (B, T, C, NH, L, eps, label_smoothing, ...). Bump FIXTURE_VERSION when the contents change meaning; the Java test refuses
other versions and prints the command above.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

FIXTURE_VERSION = 1
REGENERATE = "/usr/bin/python3 kernels/src/test/python/gpt2_block_fixture.py"
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures")


def write_safetensors(path, tensors, metadata):
    """tensors: name -> numpy array (float32 or int32), written in name order."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = tensors[name]
        if a.dtype == np.float32:
            dtype = "F32"
        elif a.dtype == np.int32:
            dtype = "I32"
        else:
            raise ValueError(f"{name}: unsupported dtype {a.dtype}")
        data = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), sort_keys=False)
    raw = text.encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)  # data starts 8-byte aligned, as the format recommends
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    return 8 + len(raw) + offset


def f32(t):
    """A float32 parameter or input, then held in float64 for the computation."""
    return t.float().double().requires_grad_(True)


def layer_norm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def attention(qkv, nh, causal, keep):
    """qkv [B, T, 3C] -> out [B, T, C]; keep['lse'] gets log Σ exp of each query row's visible scaled scores
    [B, NH, T], the one statistic of the softmax that a fused (online-softmax) attention keeps."""
    b, t, c3 = qkv.shape
    c = c3 // 3
    hs = c // nh
    q, k, v = qkv.split(c, dim=2)
    q = q.view(b, t, nh, hs).transpose(1, 2)
    k = k.view(b, t, nh, hs).transpose(1, 2)
    v = v.view(b, t, nh, hs).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / (hs ** 0.5)
    if causal:
        mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
        scores = scores.masked_fill(~mask, float("-inf"))
    att = torch.softmax(scores, dim=-1)
    keep["lse"] = torch.logsumexp(scores, dim=-1)
    return (att @ v).transpose(1, 2).contiguous().view(b, t, c)


def smoothed_cross_entropy(logits, targets, smoothing, ignore_index):
    """PyTorch's F.cross_entropy, checked against the contract's formula written out."""
    loss = F.cross_entropy(logits, targets, ignore_index=ignore_index, label_smoothing=smoothing)
    keep = targets != ignore_index
    lse = torch.logsumexp(logits[keep], dim=-1)
    x_t = logits[keep].gather(1, targets[keep].unsqueeze(1)).squeeze(1)
    mine = (lse - (1 - smoothing) * x_t - smoothing * logits[keep].mean(dim=-1)).mean()
    assert abs(loss.item() - mine.item()) < 1e-12, (loss.item(), mine.item())
    return loss


def gpt2(gen):
    B, T, V, C, NH, L, P = 2, 5, 61, 12, 3, 2, 8
    eps, smoothing, ignore = 1e-5, 0.1, -100
    p = {"wte.weight": torch.randn(V, C, generator=gen) * 0.5, "wpe.weight": torch.randn(P, C, generator=gen) * 0.2}
    for i in range(L):
        h = f"h.{i}."
        p[h + "ln_1.weight"] = 1 + 0.2 * torch.randn(C, generator=gen)
        p[h + "ln_1.bias"] = 0.1 * torch.randn(C, generator=gen)
        p[h + "attn.c_attn.weight"] = torch.randn(C, 3 * C, generator=gen) * 0.3
        p[h + "attn.c_attn.bias"] = 0.1 * torch.randn(3 * C, generator=gen)
        p[h + "attn.c_proj.weight"] = torch.randn(C, C, generator=gen) * 0.3
        p[h + "attn.c_proj.bias"] = 0.1 * torch.randn(C, generator=gen)
        p[h + "ln_2.weight"] = 1 + 0.2 * torch.randn(C, generator=gen)
        p[h + "ln_2.bias"] = 0.1 * torch.randn(C, generator=gen)
        p[h + "mlp.c_fc.weight"] = torch.randn(C, 4 * C, generator=gen) * 0.3
        p[h + "mlp.c_fc.bias"] = 0.1 * torch.randn(4 * C, generator=gen)
        p[h + "mlp.c_proj.weight"] = torch.randn(4 * C, C, generator=gen) * 0.15
        p[h + "mlp.c_proj.bias"] = 0.1 * torch.randn(C, generator=gen)
    p["ln_f.weight"] = 1 + 0.2 * torch.randn(C, generator=gen)
    p["ln_f.bias"] = 0.1 * torch.randn(C, generator=gen)
    params = {k: f32(v) for k, v in p.items()}
    seq = torch.randint(0, V, (B, T + 1), generator=gen)
    ids, targets = seq[:, :T], seq[:, 1:].clone()
    targets[:, 0] = ignore  # a masked prompt token per row
    acts = {}
    x = params["wte.weight"][ids] + params["wpe.weight"][:T]
    acts["encoded"] = x
    for i in range(L):
        h = f"h.{i}."
        keep = {}
        a = layer_norm(x, params[h + "ln_1.weight"], params[h + "ln_1.bias"], eps)
        qkv = a @ params[h + "attn.c_attn.weight"] + params[h + "attn.c_attn.bias"]
        y = attention(qkv, NH, True, keep)
        x = x + y @ params[h + "attn.c_proj.weight"] + params[h + "attn.c_proj.bias"]
        m = layer_norm(x, params[h + "ln_2.weight"], params[h + "ln_2.bias"], eps)
        m = F.gelu(m @ params[h + "mlp.c_fc.weight"] + params[h + "mlp.c_fc.bias"], approximate="tanh")
        x = x + m @ params[h + "mlp.c_proj.weight"] + params[h + "mlp.c_proj.bias"]
        acts[h + "lse"] = keep["lse"]
        acts[h + "out"] = x
    x = layer_norm(x, params["ln_f.weight"], params["ln_f.bias"], eps)
    logits = x @ params["wte.weight"].t()
    loss = smoothed_cross_entropy(logits.view(B * T, V), targets.reshape(B * T), smoothing, ignore)
    for a in acts.values():
        a.retain_grad()
    loss.backward()
    out = {k: v.detach().float().numpy() for k, v in params.items()}
    out.update({"grad." + k: v.grad.float().numpy() for k, v in params.items()})
    out.update({"act." + k: v.detach().float().numpy() for k, v in acts.items()})
    out["grad.act.encoded"] = acts["encoded"].grad.float().numpy()
    out["ids"] = ids.int().numpy()
    out["targets"] = targets.int().numpy()
    out["logits"] = logits.detach().float().numpy()
    out["loss"] = np.array(loss.item(), dtype=np.float32)
    config = dict(B=B, T=T, V=V, C=C, NH=NH, L=L, P=P, eps=eps, label_smoothing=smoothing, ignore_index=ignore,
                  gelu="tanh", causal="true", weights="Conv1D [in, out]: y = x W + b; head tied to wte.weight")
    return out, config


def vit(gen):
    B, T, C, NH, L, K = 2, 5, 12, 3, 2, 10
    eps, smoothing = 1e-6, 0.1
    p = {}
    for i in range(L):
        h = f"blocks.{i}."
        p[h + "norm1.weight"] = 1 + 0.2 * torch.randn(C, generator=gen)
        p[h + "norm1.bias"] = 0.1 * torch.randn(C, generator=gen)
        p[h + "attn.qkv.weight"] = torch.randn(3 * C, C, generator=gen) * 0.3
        p[h + "attn.qkv.bias"] = 0.1 * torch.randn(3 * C, generator=gen)
        p[h + "attn.proj.weight"] = torch.randn(C, C, generator=gen) * 0.3
        p[h + "attn.proj.bias"] = 0.1 * torch.randn(C, generator=gen)
        p[h + "norm2.weight"] = 1 + 0.2 * torch.randn(C, generator=gen)
        p[h + "norm2.bias"] = 0.1 * torch.randn(C, generator=gen)
        p[h + "mlp.fc1.weight"] = torch.randn(4 * C, C, generator=gen) * 0.3
        p[h + "mlp.fc1.bias"] = 0.1 * torch.randn(4 * C, generator=gen)
        p[h + "mlp.fc2.weight"] = torch.randn(C, 4 * C, generator=gen) * 0.15
        p[h + "mlp.fc2.bias"] = 0.1 * torch.randn(C, generator=gen)
    p["norm.weight"] = 1 + 0.2 * torch.randn(C, generator=gen)
    p["norm.bias"] = 0.1 * torch.randn(C, generator=gen)
    p["head.weight"] = torch.randn(K, C, generator=gen) * 0.5
    p["head.bias"] = 0.1 * torch.randn(K, generator=gen)
    params = {k: f32(v) for k, v in p.items()}
    x0 = f32(torch.randn(B, T, C, generator=gen))
    labels = torch.randint(0, K, (B,), generator=gen)
    acts = {}
    x = x0
    for i in range(L):
        h = f"blocks.{i}."
        keep = {}
        a = layer_norm(x, params[h + "norm1.weight"], params[h + "norm1.bias"], eps)
        y = attention(F.linear(a, params[h + "attn.qkv.weight"], params[h + "attn.qkv.bias"]), NH, False, keep)
        x = x + F.linear(y, params[h + "attn.proj.weight"], params[h + "attn.proj.bias"])
        m = layer_norm(x, params[h + "norm2.weight"], params[h + "norm2.bias"], eps)
        m = F.gelu(F.linear(m, params[h + "mlp.fc1.weight"], params[h + "mlp.fc1.bias"]))
        x = x + F.linear(m, params[h + "mlp.fc2.weight"], params[h + "mlp.fc2.bias"])
        acts[h + "lse"] = keep["lse"]
        acts[h + "out"] = x
    x = layer_norm(x, params["norm.weight"], params["norm.bias"], eps)
    pooled = x[:, 0]  # the class token
    logits = F.linear(pooled, params["head.weight"], params["head.bias"])
    loss = smoothed_cross_entropy(logits, labels, smoothing, -100)
    loss.backward()
    out = {k: v.detach().float().numpy() for k, v in params.items()}
    out.update({"grad." + k: v.grad.float().numpy() for k, v in params.items()})
    out.update({"act." + k: v.detach().float().numpy() for k, v in acts.items()})
    out["x"] = x0.detach().float().numpy()
    out["grad.x"] = x0.grad.float().numpy()
    out["labels"] = labels.int().numpy()
    out["logits"] = logits.detach().float().numpy()
    out["loss"] = np.array(loss.item(), dtype=np.float32)
    config = dict(B=B, T=T, C=C, NH=NH, L=L, K=K, eps=eps, label_smoothing=smoothing, gelu="erf", causal="false",
                  pool="first", weights="nn.Linear [out, in]: y = x W^T + b")
    return out, config


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    gen = torch.Generator().manual_seed(20240611)
    for name, build in (("gpt2_block_fixture", gpt2), ("vit_block_fixture", vit)):
        tensors, config = build(gen)
        meta = {"format": "nola-torch-fixture", "format_version": FIXTURE_VERSION, "model": name,
                "torch": torch.__version__,
                "regenerate": REGENERATE, "precision": "float64 computation from float32 inputs, stored as float32", **config}
        path = os.path.join(OUT_DIR, name + ".safetensors")
        size = write_safetensors(path, tensors, meta)
        print(f"{path}: {len(tensors)} tensors, {size} bytes, loss {float(tensors['loss']):.6f}")


if __name__ == "__main__":
    main()
