#!/usr/bin/env python3
"""Writes the PyTorch fixture that HalfWeightsTorchTest checks `--weights bf16` against: the GPT-2 of
kernels' gpt2_block_fixture.safetensors run by PyTorch with its weight matrices and its token embedding
(the tied head) cast to torch.bfloat16, the way a bf16 checkpoint holds them; LayerNorm gains, biases
and the position table stay float32, as nola keeps them.

Run by hand (not by CI), from the repository root, after kernels/src/test/python/gpt2_block_fixture.py:

    /usr/bin/python3 models/src/test/python/gpt2_bf16_fixture.py

It writes models/src/test/resources/fixtures/gpt2_bf16_fixture.safetensors: the logits and the
label-smoothed loss of that forward pass, computed in float64 from the bfloat16 values (torch's
.to(torch.bfloat16): round to nearest even) and stored as float32, and the same for the float32 weights
(logits_f32, loss_f32), so the test can show that bf16 moved the result and by how much. Metadata as
in gpt2_block_fixture.py (format, format_version, regenerate).
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "kernels", "src", "test", "python"))
import gpt2_block_fixture as base  # noqa: E402  (the forward pass and the safetensors writer)

FIXTURE_VERSION = 1
REGENERATE = "/usr/bin/python3 models/src/test/python/gpt2_bf16_fixture.py"
SOURCE = os.path.join(ROOT, "kernels", "src", "test", "resources", "fixtures", "gpt2_block_fixture.safetensors")
OUT = os.path.join(HERE, "..", "resources", "fixtures", "gpt2_bf16_fixture.safetensors")


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = raw[8 + n:]
    out = {}
    for name, e in header.items():
        dt = {"F32": "<f4", "I32": "<i4"}[e["dtype"]]
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype=dt).reshape(e["shape"])
    return out, meta


def forward(t, meta, half):
    """The GPT-2 of gpt2_block_fixture.py, float64, with the tensors in `half` rounded to bfloat16 first."""
    B, T, V, C, NH, L = (int(meta[k]) for k in ("B", "T", "V", "C", "NH", "L"))
    eps, smoothing, ignore = float(meta["eps"]), float(meta["label_smoothing"]), int(meta["ignore_index"])

    def w(name):
        x = torch.from_numpy(np.array(t[name], dtype=np.float32))
        if name in half:
            x = x.to(torch.bfloat16)
        return x.double()

    ids = torch.from_numpy(np.array(t["ids"], dtype=np.int64))
    targets = torch.from_numpy(np.array(t["targets"], dtype=np.int64))
    x = w("wte.weight")[ids] + w("wpe.weight")[:T]
    for i in range(L):
        h = f"h.{i}."
        a = base.layer_norm(x, w(h + "ln_1.weight"), w(h + "ln_1.bias"), eps)
        qkv = a @ w(h + "attn.c_attn.weight") + w(h + "attn.c_attn.bias")
        y = base.attention(qkv, NH, True, {})
        x = x + y @ w(h + "attn.c_proj.weight") + w(h + "attn.c_proj.bias")
        m = base.layer_norm(x, w(h + "ln_2.weight"), w(h + "ln_2.bias"), eps)
        m = F.gelu(m @ w(h + "mlp.c_fc.weight") + w(h + "mlp.c_fc.bias"), approximate="tanh")
        x = x + m @ w(h + "mlp.c_proj.weight") + w(h + "mlp.c_proj.bias")
    x = base.layer_norm(x, w("ln_f.weight"), w("ln_f.bias"), eps)
    logits = x @ w("wte.weight").t()
    loss = base.smoothed_cross_entropy(logits.view(B * T, V), targets.reshape(B * T), smoothing, ignore)
    return logits, loss


def main():
    t, meta = read_safetensors(SOURCE)
    L = int(meta["L"])
    half = {"wte.weight"} | {f"h.{i}.{m}.weight" for i in range(L)
                             for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")}
    logits, loss = forward(t, meta, half)
    logits32, loss32 = forward(t, meta, set())
    out = {"logits": logits.float().numpy(), "loss": np.array(loss.item(), dtype=np.float32),
           "logits_f32": logits32.float().numpy(), "loss_f32": np.array(loss32.item(), dtype=np.float32)}
    info = {"format": "nola-torch-fixture", "format_version": FIXTURE_VERSION, "model": "gpt2_bf16_fixture",
            "torch": torch.__version__, "regenerate": REGENERATE, "source": "gpt2_block_fixture.safetensors",
            "bf16": ",".join(sorted(half)),
            "precision": "float64 computation from the bfloat16-rounded matrices and embedding, stored as float32"}
    size = base.write_safetensors(OUT, out, info)
    print(f"{OUT}: {len(out)} tensors, {size} bytes, loss bf16 {loss.item():.6f}, f32 {loss32.item():.6f}")


if __name__ == "__main__":
    main()
