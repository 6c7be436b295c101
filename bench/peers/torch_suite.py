#!/usr/bin/python3
"""PyTorch peer of the nola benchmark suite: the same kernels, layers and GPT-2 steps, timed on CPU.

    /usr/bin/python3 bench/peers/torch_suite.py [--groups peaks,nola,...] [--quick] [--threads N]
    /usr/bin/python3 bench/peers/torch_suite.py --selftest

Prints JSON lines on stdout: first {"meta": {...}}, then one record per measurement,
{"peer": "torch", "group", "op", "shape", "warmup", "reps", "min_s", "median_s", "max_s", ...}.
The Java side pairs records with its own by the (group, op, shape) strings, so those are fixed.
fp32, CPU tensors, inputs drawn from generators seeded per measurement. Each GPT-2 step
configuration runs in its own child process (--step-child), so its peak RSS is its own.
Needs Debian's interpreter (python3-torch 1.13 linked to OpenBLAS); the pyenv python has no torch.
"""
import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
import zlib

GROUPS = ("peaks", "random", "nola", "linalg", "adapter", "nn", "optim", "layer", "step", "scaling")
POLICY_INHERITED = "OMP_WAIT_POLICY" in os.environ
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede libgomp's start (import torch)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# GPT-2 124M
GB, GT, GC, NH, V, CTX = 4, 128, 768, 12, 50257, 1024
GN = GB * GT


# ---------------------------------------------------------------------------------------------
# environment
# ---------------------------------------------------------------------------------------------

def openblas():
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib
    except (OSError, AttributeError):
        return None


def set_threads(n):
    torch.set_num_threads(n)
    lib = openblas()
    if lib is not None:
        lib.openblas_set_num_threads(ctypes.c_int(n))


def meta(args):
    lib = openblas()
    try:
        deb = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "python3-torch"],
                             capture_output=True, text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        deb = "unknown"
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"meta": {
        "peer": "torch", "torch_version": torch.__version__, "debian_package": deb,
        "python_executable": sys.executable,
        "threads": {"torch": torch.get_num_threads(),
                    "openblas": lib.openblas_get_num_threads() if lib else "unknown"},
        "openblas_config": lib.openblas_get_config().decode() if lib else "unknown",
        "openblas_corename": lib.openblas_get_corename().decode() if lib else "unknown",
        "omp_wait_policy": os.environ["OMP_WAIT_POLICY"] + ("" if POLICY_INHERITED else " (set by script)"),
        "cpu_model": cpu, "affinity_cpus": len(os.sched_getaffinity(0)), "quick": args.quick,
        "groups": args.groups, "argv": sys.argv[1:]}}


def emit(obj):
    print(json.dumps(obj), flush=True)


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------

class Suite:
    """Runs measurements and prints their records; quick mode means fewer repetitions."""

    def __init__(self, group, quick):
        self.group = group
        self.quick = quick
        self.warmup, self.min_reps, self.min_time = (1, 3, 0.05) if quick else (2, 5, 0.5)

    def timings(self, fn):
        warm = 0
        for _ in range(self.warmup):
            t0 = time.perf_counter()
            fn()
            warm += 1
            if time.perf_counter() - t0 > 1.0:   # slow calls: one warm-up is enough
                break
        times = []
        while len(times) < self.min_reps or (sum(times) < self.min_time and len(times) < 200):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return {"warmup": warm, "reps": len(times), "min_s": min(times),
                "median_s": statistics.median(times), "max_s": max(times)}

    def case(self, op, shape, make):
        """make(gen) builds the inputs and returns the callable to time; any failure becomes an error record."""
        rec = {"peer": "torch", "group": self.group, "op": op, "shape": shape}
        try:
            gen = torch.Generator().manual_seed(zlib.crc32(f"{self.group}/{op}/{shape}".encode()))
            rec.update(self.timings(make(gen)))
        except Exception as e:  # noqa: BLE001 - one failed measurement must not end the suite
            rec["error"] = f"{type(e).__name__}: {e}"
        emit(rec)


# ---------------------------------------------------------------------------------------------
# NOLA / LoRA adapters and a compact GPT-2
# ---------------------------------------------------------------------------------------------

def uniform_bank(seed, k, n, scaled=True):
    """k seeded basis vectors of length n, U(-1, 1), times 1/sqrt(k) when scaled; row i = basis i."""
    bank = torch.empty(k, n).uniform_(-1.0, 1.0, generator=torch.Generator().manual_seed(seed))
    return bank.mul_(1.0 / math.sqrt(k)) if scaled else bank


class RegeneratedMix(torch.autograd.Function):
    """out = bank^T coef, the bank regenerated from its seed in forward and again in backward.

    The 1/sqrt(k) factor is applied to the k-vector rather than to the k x n bank (same value,
    one pass over the bank fewer).
    """

    @staticmethod
    def forward(ctx, coef, seed, n):
        k = coef.shape[0]
        ctx.spec = (seed, k, n)
        return torch.mv(uniform_bank(seed, k, n, scaled=False).t(), coef * (1.0 / math.sqrt(k)))

    @staticmethod
    def backward(ctx, grad_out):
        seed, k, n = ctx.spec
        bank = uniform_bank(seed, k, n, scaled=False)
        return torch.mv(bank, grad_out.contiguous()).mul_(1.0 / math.sqrt(k)), None, None


class Adapter(torch.nn.Module):
    """Low-rank update s * (x A^T) B^T with A (r, d_in), B (d_out, r).

    kind "lora": A, B trainable.  kind "nola_materialized" / "nola_on_the_fly": trainable
    coefficients alpha (k), beta (l); A = sum alpha_i A_i, B = sum beta_j B_j over seeded banks.
    """

    def __init__(self, kind, d_in, d_out, r, k=1000, l=1000, seed=0, gen=None, s=1.0, init_std=0.01):
        super().__init__()
        if kind not in ("lora", "nola_materialized", "nola_on_the_fly"):
            raise ValueError(f"unknown adapter kind {kind!r}")
        self.kind, self.d_in, self.d_out, self.r, self.s = kind, d_in, d_out, r, s
        p = torch.nn.Parameter
        if kind == "lora":
            self.a = p(torch.randn(r, d_in, generator=gen) * init_std)
            self.b = p(torch.randn(d_out, r, generator=gen) * init_std)
            return
        self.alpha = p(torch.randn(k, generator=gen) * init_std)
        self.beta = p(torch.randn(l, generator=gen) * init_std)
        self.seed_a, self.seed_b = 2 * seed + 1, 2 * seed + 2
        if kind == "nola_materialized":
            self.register_buffer("bank_a", uniform_bank(self.seed_a, k, r * d_in), persistent=False)
            self.register_buffer("bank_b", uniform_bank(self.seed_b, l, d_out * r), persistent=False)

    def factors(self):
        if self.kind == "lora":
            return self.a, self.b
        if self.kind == "nola_materialized":
            a, b = torch.mv(self.bank_a.t(), self.alpha), torch.mv(self.bank_b.t(), self.beta)
        else:
            a = RegeneratedMix.apply(self.alpha, self.seed_a, self.r * self.d_in)
            b = RegeneratedMix.apply(self.beta, self.seed_b, self.d_out * self.r)
        return a.view(self.r, self.d_in), b.view(self.d_out, self.r)

    def add_to(self, base, x):
        """base (N, d_out) + s * (x A^T) B^T for x (N, d_in)."""
        a, b = self.factors()
        return torch.addmm(base, x.mm(a.t()), b.t(), alpha=self.s)


def parse_variant(variant):
    """'lora_r4' -> ('lora', 4); 'nola_materialized' / 'nola_on_the_fly' -> (variant, 8)."""
    if variant.startswith("lora_r"):
        return "lora", int(variant[6:])
    if variant in ("nola_materialized", "nola_on_the_fly"):
        return variant, 8
    raise ValueError(f"unknown GPT-2 variant {variant!r}")


class GPT2(torch.nn.Module):
    """Pre-LN GPT-2, frozen base weights (plain tensors, N(0, 0.02)), tied LM head, no dropout.
    Adapters (the only parameters) add to the q and v slices of the fused c_attn output."""

    def __init__(self, variant, L=12, C=GC, nh=NH, vocab=V, ctx=CTX, k=1000, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        w = lambda *shape: torch.empty(*shape).normal_(0.0, 0.02, generator=g)  # noqa: E731
        self.C, self.nh = C, nh
        self.wte, self.wpe = w(vocab, C), w(ctx, C)
        ones, zeros = torch.ones(C), torch.zeros(C)
        self.layers = [dict(ln1=(ones, zeros), attn=(w(3 * C, C), torch.zeros(3 * C)), proj=(w(C, C), zeros),
                            ln2=(ones, zeros), fc=(w(4 * C, C), torch.zeros(4 * C)), fcp=(w(C, 4 * C), zeros))
                       for _ in range(L)]
        self.ln_f = (ones, zeros)
        kind, r = parse_variant(variant)
        self.adapters = torch.nn.ModuleList(
            Adapter(kind, C, C, r, k, k, seed=1000 + 2 * i + j, gen=g) for i in range(L) for j in range(2))
        self.masks = {}

    def base_tensors(self):
        out = [self.wte, self.wpe, *self.ln_f]
        for layer in self.layers:
            for pair in layer.values():
                out.extend(pair)
        return out

    def loss(self, idx, targets):
        B, T = idx.shape
        C, nh, hs = self.C, self.nh, self.C // self.nh
        if T not in self.masks:
            self.masks[T] = torch.ones(T, T, dtype=torch.bool).triu_(1)
        mask = self.masks[T]
        x = (self.wte[idx] + self.wpe[:T]).view(B * T, C)
        for i, p in enumerate(self.layers):
            h = F.layer_norm(x, (C,), *p["ln1"])
            qkv = F.linear(h, *p["attn"])
            q = self.adapters[2 * i].add_to(qkv[:, :C], h)
            k = qkv[:, C:2 * C]
            v = self.adapters[2 * i + 1].add_to(qkv[:, 2 * C:], h)
            q, k, v = (t.reshape(B, T, nh, hs).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)).mul_(1.0 / math.sqrt(hs)).masked_fill_(mask, float("-inf"))
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B * T, C)
            x = x + F.linear(y, *p["proj"])
            h = F.gelu(F.linear(F.layer_norm(x, (C,), *p["ln2"]), *p["fc"]), approximate="tanh")
            x = x + F.linear(h, *p["fcp"])
        logits = F.layer_norm(x, (C,), *self.ln_f) @ self.wte.t()
        return F.cross_entropy(logits, targets.view(-1))


def make_trainer(model, B, T, vocab, lr=1e-3, seed=7):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(vocab, (B, T), generator=g)
    tgt = torch.randint(vocab, (B, T), generator=g)
    opt = torch.optim.AdamW(list(model.parameters()), lr=lr, weight_decay=0.01, foreach=False)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model.loss(idx, tgt)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def step_child(cfg):
    """One GPT-2 configuration in this (fresh) process; prints one record."""
    variant, L, B, T = cfg["variant"], int(cfg["L"]), int(cfg["B"]), int(cfg["T"])
    rec = {"peer": "torch", "group": cfg.get("group", "step"), "op": "gpt2_step",
           "shape": f"{variant} L={L} C={GC} B={B} T={T}"}
    try:
        step = make_trainer(GPT2(variant, L=L), B, T, V)
        for _ in range(int(cfg["warmup"])):
            step()
        times, loss = [], None
        for _ in range(int(cfg["steps"])):
            t0 = time.perf_counter()
            loss = step()
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        rec.update({"warmup": int(cfg["warmup"]), "reps": len(times), "min_s": min(times), "median_s": med,
                    "max_s": max(times), "tokens_per_s": B * T / med,
                    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "loss": loss})
    except Exception as e:  # noqa: BLE001
        rec["error"] = f"{type(e).__name__}: {e}"
    emit(rec)


def run_step_child(group, threads, cfg):
    """Run one GPT-2 configuration in a child process and relay its record."""
    shape = f"{cfg['variant']} L={cfg['L']} C={GC} B={cfg['B']} T={cfg['T']}"
    cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(threads), "--step-child", json.dumps(cfg)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise RuntimeError(f"child exited {out.returncode} without a record: {out.stderr.strip()[-400:]}")
        rec = json.loads(lines[-1])
        rec["group"] = group
        emit(rec)
    except Exception as e:  # noqa: BLE001
        emit({"peer": "torch", "group": group, "op": "gpt2_step", "shape": shape, "error": f"{type(e).__name__}: {e}"})


# ---------------------------------------------------------------------------------------------
# groups
# ---------------------------------------------------------------------------------------------

def g_peaks(S, args):
    def sgemm(g):
        a, b, c = torch.randn(1024, 1024, generator=g), torch.randn(1024, 1024, generator=g), torch.empty(1024, 1024)
        return lambda: torch.mm(a, b, out=c)

    def uniform(g):
        t = torch.empty(1 << 20)
        return lambda: t.uniform_(generator=g)
    S.case("sgemm", "1024x1024x1024", sgemm)
    S.case("uniform", "n=1048576", uniform)


def g_random(S, args):
    def basis(g):
        k, n = 1000, 6144
        t = torch.empty(k, n)
        return lambda: t.uniform_(-1.0, 1.0, generator=g).mul_(1.0 / math.sqrt(k))
    S.case("basis", "k=1000 n=6144", basis)


def g_nola(S, args):
    k, n, seed = 1000, 6144, 11
    shape = f"k={k} n={n}"
    bank = uniform_bank(seed, k, n)

    def setup(g):
        return torch.randn(k, generator=g), torch.randn(n, generator=g), torch.empty(n), torch.empty(k)

    def mix(g):
        coef, _, out_n, _ = setup(g)
        return lambda: torch.mv(bank.t(), coef, out=out_n)

    def mix_generated(g):
        coef, _, out_n, _ = setup(g)
        return lambda: torch.mv(uniform_bank(seed, k, n).t(), coef, out=out_n)

    def coef_grad(g):
        _, gv, _, out_k = setup(g)
        return lambda: torch.mv(bank, gv, out=out_k)

    def coef_grad_generated(g):
        _, gv, _, out_k = setup(g)
        return lambda: torch.mv(uniform_bank(seed, k, n), gv, out=out_k)
    S.case("mix", shape, mix)
    S.case("mix_generated", shape, mix_generated)
    S.case("coefficient_gradient", shape, coef_grad)
    S.case("coefficient_gradient_generated", shape, coef_grad_generated)


def g_linalg(S, args):
    def mm(m, kk, n):
        def make(g):
            x, w, o = torch.randn(m, kk, generator=g), torch.randn(kk, n, generator=g), torch.empty(m, n)
            return lambda: torch.mm(x, w, out=o)
        return make

    for m, kk, n in ((GN, GC, 3 * GC), (GN, GC, 4 * GC), (GN, 4 * GC, GC)):
        S.case("matmul", f"{m}x{kk}x{n}", mm(m, kk, n))

    def mm_bt(g):
        x, wte, o = torch.randn(GN, GC, generator=g), torch.randn(V, GC, generator=g), torch.empty(GN, V)
        return lambda: torch.mm(x, wte.t(), out=o)
    S.case("matmul_bt", f"{GN}x{GC}x{V}", mm_bt)

    def bmm(g):
        q, k, o = torch.randn(48, 128, 64, generator=g), torch.randn(48, 128, 64, generator=g), torch.empty(48, 128, 128)
        return lambda: torch.bmm(q, k.transpose(1, 2), out=o)
    S.case("matmul_batched", "48x128x64x128", bmm)

    def axpy(g):
        x, y = torch.randn(1 << 24, generator=g), torch.randn(1 << 24, generator=g)
        return lambda: y.add_(x, alpha=0.5)
    S.case("axpy", "n=16777216", axpy)


def g_adapter(S, args):
    n, d, r, s = GN, GC, 8, 2.0
    shape = f"N={n} in={d} out={d} r={r}"

    def tensors(g):
        x, a, b = torch.randn(n, d, generator=g), torch.randn(r, d, generator=g), torch.randn(d, r, generator=g)
        return x, a, b, torch.zeros(n, d), torch.randn(n, d, generator=g), torch.empty(n, r)

    def forward(g):
        x, a, b, y, _, h = tensors(g)

        def f():
            torch.mm(x, a.t(), out=h)
            y.addmm_(h, b.t(), alpha=s)
        return f

    def backward(g):
        x, a, b, _, dy, h = tensors(g)
        torch.mm(x, a.t(), out=h)
        db, dh, da, dx = torch.empty(d, r), torch.empty(n, r), torch.empty(r, d), torch.zeros(n, d)

        def f():
            torch.mm(dy.t(), h, out=db).mul_(s)
            torch.mm(dy, b, out=dh).mul_(s)
            torch.mm(dh.t(), x, out=da)
            dx.addmm_(dh, a)
        return f
    S.case("forward", shape, forward)
    S.case("backward", shape, backward)


def g_nn(S, args):
    nc, nf = f"{GN}x{GC}", f"{GN}x{4 * GC}"
    hs = GC // NH
    upper = torch.ones(GT, GT, dtype=torch.bool).triu_(1)

    def ln_fwd(g):
        x, w, b = torch.randn(GN, GC, generator=g), torch.randn(GC, generator=g), torch.randn(GC, generator=g)
        return lambda: F.layer_norm(x, (GC,), w, b)

    def ln_bwd(g):
        x = torch.randn(GN, GC, generator=g).requires_grad_()
        y = F.layer_norm(x, (GC,), torch.randn(GC, generator=g), torch.randn(GC, generator=g))
        dy = torch.randn(GN, GC, generator=g)
        return lambda: torch.autograd.grad(y, x, dy, retain_graph=True)

    def gelu_fwd(g):
        h = torch.randn(GN, 4 * GC, generator=g)
        return lambda: F.gelu(h, approximate="tanh")

    def gelu_bwd(g):
        h = torch.randn(GN, 4 * GC, generator=g).requires_grad_()
        y = F.gelu(h, approximate="tanh")
        dy = torch.randn(GN, 4 * GC, generator=g)
        return lambda: torch.autograd.grad(y, h, dy, retain_graph=True)

    def softmax_fwd(g):
        att = torch.randn(GB, NH, GT, GT, generator=g)
        return lambda: torch.softmax(att.masked_fill(upper, float("-inf")), -1)

    def attention(q, k, v):
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        return torch.softmax(att.masked_fill(upper, float("-inf")), -1) @ v

    def qkv(g, grad):
        return [torch.randn(GB, NH, GT, hs, generator=g).requires_grad_(grad) for _ in range(3)]

    def attn_fwd(g):
        q, k, v = qkv(g, False)
        return lambda: attention(q, k, v)

    def attn_fwd_bwd(g):
        q, k, v = qkv(g, True)
        dout = torch.randn(GB, NH, GT, hs, generator=g)
        return lambda: torch.autograd.grad(attention(q, k, v), (q, k, v), dout)

    targets = torch.arange(GN) * 7919 % V

    def ce_fwd(g):
        logits = torch.randn(GN, V, generator=g) * 3
        return lambda: F.cross_entropy(logits, targets, reduction="none")

    def ce_bwd(g):   # closed form of d(mean loss)/d logits, no autograd
        logits, dl = torch.randn(GN, V, generator=g) * 3, torch.empty(GN, V)
        rows = torch.arange(GN)

        def f():
            torch.softmax(logits, 1, out=dl)
            dl.index_put_((rows, targets), torch.tensor(-1.0), accumulate=True)
            dl.mul_(1.0 / GN)
        return f

    def ce_fwd_bwd(g):
        logits = (torch.randn(GN, V, generator=g) * 3).requires_grad_()
        return lambda: torch.autograd.grad(F.cross_entropy(logits, targets), logits)

    attn_shape = f"{GB}x{GT}x{GC} nh={NH}"
    for op, shape, make in (("layernorm_forward", nc, ln_fwd), ("layernorm_backward", nc, ln_bwd),
                            ("gelu_forward", nf, gelu_fwd), ("gelu_backward", nf, gelu_bwd),
                            ("softmax_forward", f"{GB}x{NH}x{GT}x{GT}", softmax_fwd),
                            ("attention_forward", attn_shape, attn_fwd),
                            ("attention_forward_backward", attn_shape, attn_fwd_bwd),
                            ("cross_entropy_forward", f"{GN}x{V}", ce_fwd),
                            ("cross_entropy_backward", f"{GN}x{V}", ce_bwd),
                            ("cross_entropy_forward_backward", f"{GN}x{V}", ce_fwd_bwd)):
        S.case(op, shape, make)


def g_optim(S, args):
    n = 1 << 22

    def adamw(g):
        p = torch.nn.Parameter(torch.randn(n, generator=g))
        p.grad = torch.randn(n, generator=g)
        opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01, foreach=False)
        return opt.step

    def ssq(g):
        v = torch.randn(n, generator=g)
        return lambda: torch.dot(v, v)
    S.case("adamw", f"n={n}", adamw)
    S.case("sum_of_squares", f"n={n}", ssq)


LAYER_N = LAYER_D = 1024


def layer_case(S, variant, k=1000, with_backward=False, op=None):
    """One frozen 1024x1024 linear layer (+ bias) with an optional adapter; x requires grad."""
    n = d = LAYER_N
    if variant == "frozen":
        shape = f"N={n} in={d} out={d}"
    elif variant == "lora_r8":
        shape = f"N={n} in={d} out={d} r=8"
    else:
        shape = f"N={n} in={d} out={d} r=8 k={k} l={k}"

    def make(g):
        w, b = torch.randn(d, d, generator=g) / math.sqrt(d), torch.randn(d, generator=g)
        x = torch.randn(n, d, generator=g).requires_grad_()
        gy = torch.randn(n, d, generator=g)
        ad = None if variant == "frozen" else \
            Adapter("lora" if variant == "lora_r8" else variant, d, d, 8, k, k, seed=5, gen=g, s=1.0)
        params = [x] + ([] if ad is None else list(ad.parameters()))

        def forward():
            y = F.linear(x, w, b)
            return y if ad is None else ad.add_to(y, x)
        if not with_backward:
            return forward

        def fwd_bwd():
            for p in params:
                p.grad = None
            forward().backward(gy)
        return fwd_bwd
    S.case(op or f"{variant}_{'fwd_bwd' if with_backward else 'fwd'}", shape, make)


def g_layer(S, args):
    for variant in ("frozen", "lora_r8", "nola_materialized", "nola_on_the_fly"):
        for bwd in (False, True):
            layer_case(S, variant, with_backward=bwd)


def g_step(S, args):
    L, B, T = (2, 2, 64) if args.quick else (12, GB, GT)
    for variant in ("nola_materialized", "nola_on_the_fly", "lora_r4"):
        run_step_child("step", args.threads, dict(variant=variant, L=L, B=B, T=T, steps=3, warmup=1))


def g_scaling(S, args):
    for kk in ((64, 1024) if args.quick else (64, 256, 1024, 4096)):
        for variant in ("nola_materialized", "nola_on_the_fly"):
            layer_case(S, variant, k=kk, with_backward=True)
    L, points = (2, ((1, 64), (2, 64), (4, 64))) if args.quick else (12, ((1, 128), (4, 128), (4, 256), (8, 256)))
    for B, T in points:
        run_step_child("scaling", args.threads, dict(variant="nola_materialized", L=L, B=B, T=T, steps=2, warmup=1))


RUNNERS = {"peaks": g_peaks, "random": g_random, "nola": g_nola, "linalg": g_linalg, "adapter": g_adapter,
           "nn": g_nn, "optim": g_optim, "layer": g_layer, "step": g_step, "scaling": g_scaling}


# ---------------------------------------------------------------------------------------------
# self-test
# ---------------------------------------------------------------------------------------------

def selftest():
    failures = []

    def check(name, ok):
        print(("ok    " if ok else "FAIL  ") + name, flush=True)
        if not ok:
            failures.append(name)

    close = lambda a, b: torch.allclose(a, b, rtol=1e-4, atol=1e-5)  # noqa: E731
    g = torch.Generator().manual_seed(3)
    # the autograd Function against the materialized bank
    k, n, seed = 300, 700, 42
    bank = uniform_bank(seed, k, n)
    coef = torch.randn(k, generator=g).requires_grad_()
    da = torch.randn(n, generator=g)
    out = RegeneratedMix.apply(coef, seed, n)
    (gc,) = torch.autograd.grad(out, coef, da)
    check("RegeneratedMix forward == mv(bank^T, coef)", close(out, torch.mv(bank.t(), coef.detach())))
    check("RegeneratedMix alpha-gradient == mv(bank, dA)", close(gc, torch.mv(bank, da)))
    # materialized vs on the fly: same y and gradients
    x0, gy = torch.randn(32, 64, generator=g), torch.randn(32, 48, generator=g)
    res = {}
    for kind in ("nola_materialized", "nola_on_the_fly"):
        ad = Adapter(kind, 64, 48, 4, 50, 40, seed=9, gen=torch.Generator().manual_seed(1), s=2.0)
        x = x0.clone().requires_grad_()
        y = ad.add_to(torch.zeros(32, 48), x)
        y.backward(gy)
        res[kind] = (y.detach(), x.grad, ad.alpha.grad, ad.beta.grad)
    check("NOLA materialized == on_the_fly (y, dx, d alpha, d beta)",
          all(close(a, b) for a, b in zip(res["nola_materialized"], res["nola_on_the_fly"])))
    # tiny GPT-2: the loss falls, and only adapter parameters get gradients
    curves = {}
    for variant in ("nola_materialized", "nola_on_the_fly", "lora_r4"):
        model = GPT2(variant, L=1, C=64, nh=4, vocab=100, ctx=64, seed=2)
        step = make_trainer(model, 2, 16, 100, lr=1e-2)
        losses = [step() for _ in range(5)]
        curves[variant] = losses
        adapter_ids = {id(p) for p in model.adapters.parameters()}
        trainable = [p for p in model.parameters() if p.requires_grad]
        base_clean = all(not t.requires_grad and t.grad is None for t in model.base_tensors())
        all_grads = all(p.grad is not None and p.grad.abs().sum() > 0 for p in trainable)
        check(f"GPT-2 tiny {variant}: loss {losses[0]:.4f} -> {losses[-1]:.4f} decreases", losses[-1] < losses[0])
        check(f"GPT-2 tiny {variant}: only adapter params ({len(trainable)}) get grads",
              base_clean and all_grads and {id(p) for p in trainable} == adapter_ids)
    check("GPT-2 tiny: materialized and on_the_fly losses agree",
          all(abs(a - b) < 1e-4 for a, b in zip(curves["nola_materialized"], curves["nola_on_the_fly"])))
    print("selftest: " + ("all passed" if not failures else f"{len(failures)} failed"), flush=True)
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groups", default=",".join(GROUPS), help="comma-separated subset of " + ",".join(GROUPS))
    ap.add_argument("--quick", action="store_true", help="few repetitions, small GPT-2 (smoke run)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--step-child", metavar="JSON", help="internal: run one GPT-2 step configuration")
    ap.add_argument("--selftest", action="store_true", help="correctness checks, then exit")
    args = ap.parse_args()
    groups = [s.strip() for s in args.groups.split(",") if s.strip()]
    bad = [s for s in groups if s not in GROUPS]
    if bad or not groups:
        print(f"torch_suite.py: unknown group(s) {', '.join(bad) or '(none given)'}; "
              f"valid groups: {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    if args.threads < 1:
        print("torch_suite.py: --threads must be >= 1", file=sys.stderr)
        return 2
    args.groups = groups
    set_threads(args.threads)
    if args.selftest:
        return selftest()
    if args.step_child:
        step_child(json.loads(args.step_child))
        return 0
    emit(meta(args))
    for name in GROUPS:   # fixed order, whatever order --groups lists them in
        if name in groups:
            RUNNERS[name](Suite(name, args.quick), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
