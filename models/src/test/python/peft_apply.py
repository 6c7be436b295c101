#!/usr/bin/env python3
"""Applies a PEFT LoRA adapter to a Hugging Face LLaMA-family checkpoint the way PEFT does, then prints
what `nola score --model CKPT --ids IDS` prints for the adapted model: the mean next-token loss, then the
logits of the last input position, one per line (Python's repr of each float32).

    /usr/bin/python3 models/src/test/python/peft_apply.py CKPT_DIR PEFT_DIR 3,17,40,0,9

It reads both directories with its own safetensors reader (F32, F16, BF16; model.safetensors or the
shards of model.safetensors.index.json), checks adapter_config.json (peft_type LORA, no fan_in_fan_out),
and for every module whose last name is in target_modules adds (lora_alpha / r) * B @ A to its weight
(keys base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r], nn.Linear [out, in]),
in float64 from the stored values. The forward pass is llama_fixture.py's independent implementation, in
float64. Needs numpy and torch; transformers and peft are not used. cli's LlamaCliTest runs it when
/usr/bin/python3 has torch; a committed copy of its output serves machines without torch.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_fixture  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        data = raw[base + a:base + b]
        dtype = info["dtype"]
        if dtype == "F32":
            v = np.frombuffer(data, dtype="<f4").astype(np.float64)
        elif dtype == "F16":
            v = np.frombuffer(data, dtype="<f2").astype(np.float64)
        elif dtype == "BF16":
            v = (np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        else:
            raise SystemExit(f"{path}: tensor {name} is {dtype}; this script reads F32, F16, BF16")
        out[name] = v.reshape(info["shape"])
    return out


def read_checkpoint(d):
    single = os.path.join(d, "model.safetensors")
    if os.path.exists(single):
        files = ["model.safetensors"]
    else:
        with open(os.path.join(d, "model.safetensors.index.json")) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    params = {}
    for name in files:
        params.update(read_safetensors(os.path.join(d, name)))
    return params


def apply_lora(params, peft_dir):
    with open(os.path.join(peft_dir, "adapter_config.json")) as f:
        cfg = json.load(f)
    assert cfg["peft_type"] == "LORA" and not cfg.get("fan_in_fan_out", False), cfg
    scale = cfg["lora_alpha"] / cfg["r"]
    lora = read_safetensors(os.path.join(peft_dir, "adapter_model.safetensors"))
    prefix = "base_model.model."
    applied = 0
    for key in sorted(lora):
        if not key.endswith(".lora_A.weight"):
            continue
        module = key[len(prefix):-len(".lora_A.weight")]
        assert key.startswith(prefix) and module.split(".")[-1] in cfg["target_modules"], key
        a, b = lora[key], lora[prefix + module + ".lora_B.weight"]
        assert a.shape[0] == cfg["r"] and b.shape[1] == cfg["r"], (a.shape, b.shape)
        w = params[module + ".weight"]
        assert w.shape == (b.shape[0], a.shape[1]), (module, w.shape, a.shape, b.shape)
        params[module + ".weight"] = w + scale * (b @ a)
        applied += 1
    assert applied > 0, "no LoRA module"
    return applied


def main():
    ckpt, peft_dir, ids = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
    with open(os.path.join(ckpt, "config.json")) as f:
        cfg = json.load(f)
    params = read_checkpoint(ckpt)
    apply_lora(params, peft_dir)
    p = {k: torch.from_numpy(v) for k, v in params.items()}
    seq = torch.tensor(ids, dtype=torch.int64)
    with torch.no_grad():
        logits, loss, _ = llama_fixture.forward(cfg, p, seq[None, :-1], seq[None, 1:])
    print(repr(float(np.float32(loss.item()))))
    for x in logits[0, -1].float().numpy():
        print(repr(float(x)))


if __name__ == "__main__":
    main()
