#!/usr/bin/env python3
"""Writes the PyTorch fixture that LlamaTorchFixtureTest checks nola's LLaMA-family models against.

Run by hand (not by CI), from the repository root:

    /usr/bin/python3 models/src/test/python/llama_fixture.py

It needs torch and numpy (written with torch 1.13; Hugging Face transformers is not used: this is an
independent implementation of what its LlamaForCausalLM / Qwen2ForCausalLM compute, from the published
conventions) and writes models/src/test/resources/fixtures/llama_fixture.safetensors holding, for each
case (a prefix per case):

  llama.*   GQA (4 query heads, 2 KV heads), head_dim 8 with hidden 24 (head_dim * heads != hidden),
            Llama 3 rope scaling, untied lm_head, no biases; stored F32
  qwen2.*   q/k/v biases, 1 KV head, head_dim 6, tied head, rope_theta 1e6, no scaling; stored BF16
  llama3.*  as a Llama 3 release: GQA (4 heads, 2 KV heads), llama3 rope scaling, theta 500000, untied
            head; stored BF16 in two shards with model.safetensors.index.json
  llama2.*  as a Llama 2 release: MHA (KV heads = heads), no scaling; stored F16

Each case's metadata says how the checkpoint is stored (<case>.dtype: F32, BF16 or F16; <case>.shards).
The parameters are drawn in float32 and rounded to that dtype first (round to nearest even, PyTorch's
.bfloat16() / .half()); the fixture holds those rounded values (exact in float32), so a checkpoint
written from them in the stated dtype holds exactly what the reference was computed from.

Besides the batch, each case holds what `nola score --ids <case>.score.ids` prints: the mean next-token
loss of one sequence (<case>.score.loss) and the logits of its last input position (<case>.score.logits).

and per case: the config.json text (metadata <case>.config), the float32 parameters under Hugging Face
names (<case>.param.<name>), the ids and targets (<case>.ids, <case>.targets; int32, -1 = ignored),
PyTorch's logits and mean loss, and the gradient of the loss with respect to every parameter
(<case>.grad.<name>) and to the embedding output (<case>.grad.embed). The passes run in float64 from
the float32 parameters (the rotary table in float32, as Hugging Face computes it), then every result is
rounded to float32 once.

Format: safetensors as kernels/src/test/python/gpt2_block_fixture.py writes it; __metadata__ carries
format "nola-llama-fixture", format_version (FIXTURE_VERSION) and the command that regenerates it.
"""
import json
import math
import os
import struct

import numpy as np
import torch

FIXTURE_VERSION = 2
REGENERATE = "/usr/bin/python3 models/src/test/python/llama_fixture.py"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "llama_fixture.safetensors")

CASES = {
    "llama": dict(model_type="llama", hidden_size=24, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=8, max_position_embeddings=16, vocab_size=50, rms_norm_eps=1e-5,
                  rope_theta=10000.0, tie_word_embeddings=False, attention_bias=False,
                  rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                    original_max_position_embeddings=8)),
    "qwen2": dict(model_type="qwen2", hidden_size=24, intermediate_size=36, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=1, head_dim=6, max_position_embeddings=16, vocab_size=50, rms_norm_eps=1e-6,
                  rope_theta=1000000.0, tie_word_embeddings=True, rope_scaling=None),
    "llama3": dict(model_type="llama", hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=16, vocab_size=60, rms_norm_eps=1e-5,
                   rope_theta=500000.0, tie_word_embeddings=False, attention_bias=False,
                   rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                     original_max_position_embeddings=8)),
    "llama2": dict(model_type="llama", hidden_size=24, intermediate_size=44, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=4, max_position_embeddings=16, vocab_size=50, rms_norm_eps=1e-5,
                   rope_theta=10000.0, tie_word_embeddings=False, attention_bias=False, rope_scaling=None),
}
STORAGE = {"llama": ("F32", 1), "qwen2": ("BF16", 1), "llama3": ("BF16", 2), "llama2": ("F16", 1)}
ROUND = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
B, T = 2, 7


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = tensors[name]
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}[a.dtype]
        data = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def head_dim(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def inverse_frequencies(cfg):
    """Float32, as Hugging Face's rotary init computes it, then the llama3 rule in float32."""
    d = head_dim(cfg)
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    s = cfg.get("rope_scaling")
    if s:
        f, lo, hi, orig = s["factor"], s["low_freq_factor"], s["high_freq_factor"], s["original_max_position_embeddings"]
        low_wl, high_wl = orig / lo, orig / hi
        wl = 2 * math.pi / inv
        scaled = torch.where(wl > low_wl, inv / f, inv)
        smooth = (orig / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / f + smooth * scaled
        medium = ~(wl < high_wl) * ~(wl > low_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv.float()


def rope_tables(cfg, t):
    inv = inverse_frequencies(cfg)
    angles = torch.arange(t, dtype=torch.int64).float()[:, None] * inv[None, :]  # float32, as HF
    emb = torch.cat([angles, angles], dim=-1)
    return emb.cos().double(), emb.sin().double()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def params(cfg, gen):
    c, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hq, hkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim(cfg)
    qwen = cfg["model_type"] == "qwen2"

    def rnd(*shape, std=0.2):
        return (torch.randn(*shape, generator=gen) * std).float()

    p = {"model.embed_tokens.weight": rnd(v, c, std=0.5)}
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        p[pre + "input_layernorm.weight"] = (1 + rnd(c, std=0.1))
        p[pre + "post_attention_layernorm.weight"] = (1 + rnd(c, std=0.1))
        for name, out, inp in (("q_proj", hq * hd, c), ("k_proj", hkv * hd, c), ("v_proj", hkv * hd, c), ("o_proj", c, hq * hd)):
            p[pre + "self_attn." + name + ".weight"] = rnd(out, inp)
            if qwen and name != "o_proj":
                p[pre + "self_attn." + name + ".bias"] = rnd(out, std=0.1)
        p[pre + "mlp.gate_proj.weight"] = rnd(i, c)
        p[pre + "mlp.up_proj.weight"] = rnd(i, c)
        p[pre + "mlp.down_proj.weight"] = rnd(c, i)
    p["model.norm.weight"] = 1 + rnd(c, std=0.1)
    if not cfg["tie_word_embeddings"]:
        p["lm_head.weight"] = rnd(v, c, std=0.3)
    return p


def forward(cfg, p, ids, targets):
    """Float64 logits [B, T, V], mean loss (targets -1 ignored) and the embedding output (for its gradient)."""
    B, T = ids.shape
    c = cfg["hidden_size"]
    hq, hkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim(cfg)
    eps = cfg["rms_norm_eps"]
    cos, sin = rope_tables(cfg, T)
    x = p["model.embed_tokens.weight"][ids.long()]
    embed = x
    if embed.requires_grad:
        embed.retain_grad()
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        h = rms_norm(x, p[pre + "input_layernorm.weight"], eps)

        def lin(name, inp):
            y = inp @ p[pre + name + ".weight"].T
            if pre + name + ".bias" in p:
                y = y + p[pre + name + ".bias"]
            return y

        q = lin("self_attn.q_proj", h).view(B, T, hq, hd).transpose(1, 2)
        k = lin("self_attn.k_proj", h).view(B, T, hkv, hd).transpose(1, 2)
        v = lin("self_attn.v_proj", h).view(B, T, hkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = hq // hkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~mask, float("-inf"))
        a = torch.softmax(s, dim=-1) @ v
        a = a.transpose(1, 2).reshape(B, T, hq * hd)
        x = x + lin("self_attn.o_proj", a)
        h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        g = lin("mlp.gate_proj", h)
        u = lin("mlp.up_proj", h)
        x = x + lin("mlp.down_proj", torch.nn.functional.silu(g) * u)
    x = rms_norm(x, p["model.norm.weight"], eps)
    head = p["lm_head.weight"] if "lm_head.weight" in p else p["model.embed_tokens.weight"]
    logits = x @ head.T
    loss = torch.nn.functional.cross_entropy(logits.view(B * T, -1), targets.long().view(-1), ignore_index=-1)
    return logits, loss, embed


def main():
    torch.manual_seed(0)
    out = {}
    meta = {"format": "nola-llama-fixture", "format_version": FIXTURE_VERSION, "regenerate": REGENERATE,
            "B": B, "T": T, "cases": ",".join(CASES)}
    for n, (case, cfg) in enumerate(CASES.items()):
        gen = torch.Generator().manual_seed(100 + n)
        dtype, shards = STORAGE[case]
        p32 = {k: v.to(ROUND[dtype]).float() for k, v in params(cfg, gen).items()}  # the values as stored
        ids = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen, dtype=torch.int64).int()
        targets = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen, dtype=torch.int64).int()
        targets[0, 2] = -1  # an ignored position
        p = {k: v.double().requires_grad_(True) for k, v in p32.items()}
        logits, loss, embed = forward(cfg, p, ids, targets)
        loss.backward()
        cfg_json = dict(cfg, architectures=[{"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM"}[cfg["model_type"]]],
                        hidden_act="silu")
        meta[case + ".config"] = json.dumps(cfg_json)
        meta[case + ".dtype"] = dtype
        meta[case + ".shards"] = shards
        # what `nola score --ids` computes: one sequence, the loss of each next token, the last logits
        seq = torch.cat([ids[0], targets[1, -1:].clamp(min=0)])
        with torch.no_grad():
            pd = {k: v.double() for k, v in p32.items()}
            s_logits, s_loss, _ = forward(cfg, pd, seq[None, :-1], seq[None, 1:])
        out[case + ".score.ids"] = seq.numpy().astype(np.int32)
        out[case + ".score.loss"] = np.array([s_loss.item()], dtype=np.float32)
        out[case + ".score.logits"] = s_logits[0, -1].float().numpy()
        for k, v in p32.items():
            out[f"{case}.param.{k}"] = v.numpy().astype(np.float32)
            out[f"{case}.grad.{k}"] = p[k].grad.float().numpy()
        out[case + ".ids"] = ids.numpy().astype(np.int32)
        out[case + ".targets"] = targets.numpy().astype(np.int32)
        out[case + ".logits"] = logits.detach().float().numpy()
        out[case + ".loss"] = np.array([loss.item()], dtype=np.float32)
        out[case + ".grad.embed"] = embed.grad.float().numpy()
    write_safetensors(OUT, out, meta)
    print("wrote", os.path.normpath(OUT), len(out), "tensors")


if __name__ == "__main__":
    main()
