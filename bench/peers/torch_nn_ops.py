#!/usr/bin/env python3
"""The PyTorch peer of NnBench: the same nn ops at GPT-2 124M shapes, one JSON object per line.

Run with Debian's interpreter (python3-torch + libopenblas0-pthread):
    /usr/bin/python3 bench/peers/torch_nn_ops.py [--threads 2]
Attention is written the way GPT-2 computes it in PyTorch 1.13 (no fused SDPA there): q·kᵀ/√hs,
causal mask, softmax, ·v; backward by autograd. Times are to completion (CPU tensors).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


def timed(fn, warmup=3, reps=10, min_s=0.5):
    for _ in range(warmup):
        fn()
    times = []
    total = 0.0
    while len(times) < reps or (total < min_s and len(times) < 1000):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    times.sort()
    return times[0], times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    b, t, c, nh, v = 4, 128, 768, 12, 50257
    n = b * t
    hs = c // nh
    x = torch.randn(n, c)
    w = torch.randn(c)
    bias = torch.randn(c)
    h = torch.randn(n, 4 * c)
    logits = torch.randn(n, v) * 3
    targets = torch.tensor([(i * 7919) % v for i in range(n)])
    att_in = torch.randn(b, nh, t, t)
    mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
    rows = []

    def row(op, fn, nbytes=0.0):
        best, med = timed(fn)
        r = {"device": "torch", "op": op, "best_ms": round(best * 1e3, 3), "median_ms": round(med * 1e3, 3)}
        if nbytes:
            r["gbs"] = round(nbytes / best / 1e9, 2)
        rows.append(r)

    with torch.no_grad():
        row("layernorm_forward", lambda: F.layer_norm(x, (c,), w, bias, 1e-5), 8.0 * n * c)
        row("gelu_forward", lambda: F.gelu(h, approximate="tanh"), 8.0 * n * 4 * c)
        row("softmax_forward", lambda: torch.softmax(att_in.masked_fill(~mask, float("-inf")), -1),
            8.0 * b * nh * t * t)
        row("cross_entropy_forward", lambda: F.cross_entropy(logits, targets, reduction="none"), 4.0 * n * v)

    xg = x.clone().requires_grad_(True)
    y = F.layer_norm(xg, (c,), w, bias, 1e-5)
    g = torch.randn_like(y)
    row("layernorm_backward", lambda: torch.autograd.grad(y, xg, g, retain_graph=True), 12.0 * n * c)
    hg = h.clone().requires_grad_(True)
    yh = F.gelu(hg, approximate="tanh")
    gh = torch.randn_like(yh)
    row("gelu_backward", lambda: torch.autograd.grad(yh, hg, gh, retain_graph=True), 16.0 * n * 4 * c)

    qkv = torch.randn(3, b, nh, t, hs)

    def attention(q, k, vv):
        s = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        s = s.masked_fill(~mask, float("-inf"))
        return torch.softmax(s, -1) @ vv

    with torch.no_grad():
        row("attention_forward", lambda: attention(qkv[0], qkv[1], qkv[2]))
    qg = qkv.clone().requires_grad_(True)
    dout = torch.randn(b, nh, t, hs)

    def fwd_bwd():
        o = attention(qg[0], qg[1], qg[2])
        torch.autograd.grad(o, qg, dout)

    row("attention_forward_backward", fwd_bwd)
    lg = logits.clone().requires_grad_(True)

    def ce_bwd():
        loss = F.cross_entropy(lg, targets)
        torch.autograd.grad(loss, lg)

    with torch.no_grad():
        pass
    row("cross_entropy_forward_backward", ce_bwd, 12.0 * n * v)
    for r in rows:
        print(json.dumps(r))
    print(json.dumps({"device": "torch", "op": "meta", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "config": torch.__config__.parallel_info().splitlines()[0:3]}))


if __name__ == "__main__":
    main()
