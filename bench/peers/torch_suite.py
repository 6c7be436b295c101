#!/usr/bin/python3
"""PyTorch peer of the nola benchmark suite: the same kernels, layers, training steps (GPT-2 124M and a
SmolLM2-135M-shaped LLaMA) and greedy generation with and without a KV cache, timed on CPU.

    /usr/bin/python3 bench/peers/torch_suite.py [--groups peaks,nola,...] [--quick] [--threads N]
    /usr/bin/python3 bench/peers/torch_suite.py --selftest
    /usr/bin/python3 bench/peers/torch_suite.py --serve linalg,peaks   (paired rounds; see serve())

Prints JSON lines on stdout: first {"meta": {...}}, then one record per measurement,
{"peer": "torch", "group", "op", "shape", "warmup", "reps", "min_s", "median_s", "max_s", ...}.
The Java side pairs records with its own by the (group, op, shape) strings, so those are fixed.
fp32, CPU tensors, inputs drawn from generators seeded per measurement. Each step configuration
(--step-child) and each generation (--generate-child) runs in its own child process, so its peak RSS
is its own.
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

GROUPS = ("peaks", "random", "nola", "linalg", "adapter", "nn", "optim", "layer", "step", "generate", "scaling")
POLICY_INHERITED = "OMP_WAIT_POLICY" in os.environ
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede libgomp's start (import torch)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# GPT-2 124M
GB, GT, GC, NH, V, CTX = 4, 128, 768, 12, 50257, 1024
GN = GB * GT
# SmolLM2-135M's shape: layers, width, heads, KV heads, head width, MLP width, vocabulary, positions, rotary base
LL, LC, LNH, LKV, LHD, LI, LV, LCTX, LTHETA = 30, 576, 9, 3, 64, 1536, 49152, 8192, 10000.0


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


class Registry(Suite):
    """A Suite that times nothing: it keeps each case's make() by (group, op, shape), for serve()."""

    def __init__(self, group, quick, makes):
        super().__init__(group, quick)
        self.makes = makes

    def case(self, op, shape, make):
        self.makes[(self.group, op, shape)] = make


def serve(args):
    """Times the groups' cases on request, so that the Java side can alternate with its own.

    Reads one JSON object a line on stdin, {"group", "op", "shape", "reps"}, and answers each with
    {"group", "op", "shape", "times_s": [reps wall times]} (or "error"). A case's inputs are built on its
    first request (from the same seeded generator as the suite's) and run once untimed; only the
    latest case's inputs are kept. Ends at the end of stdin.
    """
    makes = {}
    for name in GROUPS:
        if name in args.groups:
            RUNNERS[name](Registry(name, args.quick, makes), args)
    emit({"ready": len(makes)})
    current = (None, None)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        key = (req["group"], req["op"], req["shape"])
        rec = {"group": key[0], "op": key[1], "shape": key[2]}
        try:
            if current[0] != key:
                current = (None, None)
                g = torch.Generator().manual_seed(zlib.crc32("/".join(key).encode()))
                fn = makes[key](g)
                fn()
                current = (key, fn)
            fn = current[1]
            times = []
            for _ in range(int(req["reps"])):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            rec["times_s"] = times
        except KeyError:
            rec["error"] = "no such case"
        except Exception as e:  # noqa: BLE001 - a failed case must not end the session
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
    """'lora_r4' -> ('lora', 4); 'nola_materialized' / 'nola_on_the_fly' -> (variant, 8); None -> (None, 0)."""
    if variant is None:
        return None, 0
    if variant.startswith("lora_r"):
        return "lora", int(variant[6:])
    if variant in ("nola_materialized", "nola_on_the_fly"):
        return variant, 8
    raise ValueError(f"unknown GPT-2 variant {variant!r}")


def causal_mask(T, pos0):
    """True where query t (at position pos0 + t) must not see key s: s > pos0 + t, over pos0 + T keys."""
    return torch.ones(T, pos0 + T, dtype=torch.bool).triu_(pos0 + 1)


def extend_cache(cache, i, k, v):
    """Appends this call's keys and values [B, heads, T, hs] to layer i's cache (a list of (K, V)) and
    returns the layer's whole K and V; with no cache, k and v themselves."""
    if cache is None:
        return k, v
    if len(cache) > i:
        k, v = torch.cat((cache[i][0], k), 2), torch.cat((cache[i][1], v), 2)
        cache[i] = (k, v)
    else:
        cache.append((k, v))
    return k, v


class GPT2(torch.nn.Module):
    """Pre-LN GPT-2, frozen base weights (plain tensors, N(0, 0.02)), tied LM head, no dropout.
    Adapters (the only parameters) add to the q and v slices of the fused c_attn output; variant None:
    no adapter. logits(idx, cache) runs with a KV cache: a list of per-layer (K, V), extended."""

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
        self.adapters = torch.nn.ModuleList(() if kind is None else (
            Adapter(kind, C, C, r, k, k, seed=1000 + 2 * i + j, gen=g) for i in range(L) for j in range(2)))
        self.masks = {}

    def base_tensors(self):
        out = [self.wte, self.wpe, *self.ln_f]
        for layer in self.layers:
            for pair in layer.values():
                out.extend(pair)
        return out

    def logits(self, idx, cache=None):
        """Logits [B*T, V] of idx [B, T], which follow the positions already in cache (None: no cache)."""
        B, T = idx.shape
        C, nh, hs = self.C, self.nh, self.C // self.nh
        pos0 = cache[0][0].shape[2] if cache else 0
        if (T, pos0) not in self.masks:
            self.masks[(T, pos0)] = causal_mask(T, pos0)
        mask = self.masks[(T, pos0)]
        x = (self.wte[idx] + self.wpe[pos0:pos0 + T]).view(B * T, C)
        for i, p in enumerate(self.layers):
            h = F.layer_norm(x, (C,), *p["ln1"])
            qkv = F.linear(h, *p["attn"])
            q, k, v = qkv[:, :C], qkv[:, C:2 * C], qkv[:, 2 * C:]
            if len(self.adapters):
                q = self.adapters[2 * i].add_to(q, h)
                v = self.adapters[2 * i + 1].add_to(v, h)
            q, k, v = (t.reshape(B, T, nh, hs).transpose(1, 2) for t in (q, k, v))
            k, v = extend_cache(cache, i, k, v)
            att = (q @ k.transpose(-2, -1)).mul_(1.0 / math.sqrt(hs)).masked_fill_(mask, float("-inf"))
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B * T, C)
            x = x + F.linear(y, *p["proj"])
            h = F.gelu(F.linear(F.layer_norm(x, (C,), *p["ln2"]), *p["fc"]), approximate="tanh")
            x = x + F.linear(h, *p["fcp"])
        return F.layer_norm(x, (C,), *self.ln_f) @ self.wte.t()

    def loss(self, idx, targets):
        return F.cross_entropy(self.logits(idx), targets.view(-1))


def rotate_half(x):
    """(x1, x2) -> (-x2, x1) over the two halves of the last dimension (Hugging Face's rotary convention)."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), -1)


class Llama(torch.nn.Module):
    """LLaMA (SmolLM2-135M's shape by default): RMSNorm (eps 1e-5), rotary embeddings (rotate_half, base
    theta), grouped-query attention (K/V heads repeated with repeat_interleave), the SwiGLU MLP
    down(silu(gate x) * up x), no biases, the head tied to the embedding; frozen base weights N(0, 0.02),
    norms 1. Adapters (the only parameters) add to q_proj and v_proj; variant None: no adapter.
    logits(idx, cache) as GPT2's: the cache holds keys after the rotation."""

    def __init__(self, variant, L=LL, C=LC, nh=LNH, nkv=LKV, hd=LHD, inter=LI, vocab=LV, ctx=LCTX, theta=LTHETA,
                 k=1000, seed=0, eps=1e-5):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        w = lambda *shape: torch.empty(*shape).normal_(0.0, 0.02, generator=g)  # noqa: E731
        self.C, self.nh, self.nkv, self.hd, self.eps = C, nh, nkv, hd, eps
        self.embed = w(vocab, C)
        self.layers = [dict(ln1=torch.ones(C), q=w(nh * hd, C), k=w(nkv * hd, C), v=w(nkv * hd, C), o=w(C, nh * hd),
                            ln2=torch.ones(C), gate=w(inter, C), up=w(inter, C), down=w(C, inter))
                       for _ in range(L)]
        self.norm = torch.ones(C)
        inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        freqs = torch.outer(torch.arange(ctx, dtype=torch.float32), inv)
        angles = torch.cat((freqs, freqs), -1)
        self.cos, self.sin = angles.cos(), angles.sin()
        kind, r = parse_variant(variant)
        self.adapters = torch.nn.ModuleList(() if kind is None else (
            Adapter(kind, C, (nh if j == 0 else nkv) * hd, r, k, k, seed=1000 + 2 * i + j, gen=g)
            for i in range(L) for j in range(2)))
        self.masks = {}

    def base_tensors(self):
        out = [self.embed, self.norm]
        for layer in self.layers:
            out.extend(layer.values())
        return out

    def rms(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    def logits(self, idx, cache=None):
        B, T = idx.shape
        nh, nkv, hd = self.nh, self.nkv, self.hd
        pos0 = cache[0][0].shape[2] if cache else 0
        if (T, pos0) not in self.masks:
            self.masks[(T, pos0)] = causal_mask(T, pos0)
        mask = self.masks[(T, pos0)]
        cos, sin = self.cos[pos0:pos0 + T], self.sin[pos0:pos0 + T]
        x = self.embed[idx].view(B * T, self.C)
        for i, p in enumerate(self.layers):
            h = self.rms(x, p["ln1"])
            q, k, v = F.linear(h, p["q"]), F.linear(h, p["k"]), F.linear(h, p["v"])
            if len(self.adapters):
                q = self.adapters[2 * i].add_to(q, h)
                v = self.adapters[2 * i + 1].add_to(v, h)
            q = q.view(B, T, nh, hd).transpose(1, 2)
            k = k.view(B, T, nkv, hd).transpose(1, 2)
            v = v.view(B, T, nkv, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k, v = extend_cache(cache, i, k, v)
            k, v = k.repeat_interleave(nh // nkv, 1), v.repeat_interleave(nh // nkv, 1)
            att = (q @ k.transpose(-2, -1)).mul_(1.0 / math.sqrt(hd)).masked_fill_(mask, float("-inf"))
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B * T, nh * hd)
            x = x + F.linear(y, p["o"])
            h = self.rms(x, p["ln2"])
            x = x + F.linear(F.silu(F.linear(h, p["gate"])) * F.linear(h, p["up"]), p["down"])
        return self.rms(x, self.norm) @ self.embed.t()

    def loss(self, idx, targets):
        return F.cross_entropy(self.logits(idx), targets.view(-1))


def model_of(arch, variant, L):
    """The benchmarked model of an architecture: GPT-2 124M's or SmolLM2-135M's shape at L layers."""
    if arch == "gpt2":
        return GPT2(variant, L=L), V
    if arch == "llama":
        return Llama(variant, L=L), LV
    raise ValueError(f"unknown architecture {arch!r}")


def generate(model, prompt, new, use_cache):
    """Greedy: new token ids after prompt [1, P]. With the cache the prompt runs once and then one position
    per token over the cached keys and values; without it the whole context runs again for every token."""
    ids, out = prompt, []
    cache = [] if use_cache else None
    with torch.no_grad():
        for s in range(new):
            logits = model.logits(ids if s == 0 or not use_cache else ids[:, -1:], cache)
            nxt = int(logits[-1].argmax())
            out.append(nxt)
            ids = torch.cat((ids, torch.tensor([[nxt]])), 1)
    return out


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


def step_shape(cfg):
    return f"{cfg['variant']} L={cfg['L']} C={GC if cfg.get('arch', 'gpt2') == 'gpt2' else LC} B={cfg['B']} T={cfg['T']}"


def step_child(cfg):
    """One step configuration (GPT-2 or LLaMA) in this (fresh) process; prints one record."""
    variant, L, B, T, arch = cfg["variant"], int(cfg["L"]), int(cfg["B"]), int(cfg["T"]), cfg.get("arch", "gpt2")
    rec = {"peer": "torch", "group": cfg.get("group", "step"), "op": f"{arch}_step", "shape": step_shape(cfg)}
    try:
        model, vocab = model_of(arch, variant, L)
        step = make_trainer(model, B, T, vocab)
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


def generate_child(cfg):
    """One generation configuration in this (fresh) process: greedy, prompt of random tokens; one record.
    tokens_per_s = new tokens / the whole generation's time (prefill included), median of reps."""
    arch, mode, L, P, N = cfg["arch"], cfg["mode"], int(cfg["L"]), int(cfg["P"]), int(cfg["N"])
    rec = {"peer": "torch", "group": "generate", "op": f"{arch}_generate", "shape": f"{mode} L={L} prompt={P} new={N}"}
    try:
        model, vocab = model_of(arch, None, L)
        prompt = torch.randint(vocab, (1, P), generator=torch.Generator().manual_seed(1))
        use_cache = mode == "cache"
        for _ in range(int(cfg["warmup"])):
            generate(model, prompt, min(N, 8), use_cache)
        times, tokens = [], None
        for _ in range(int(cfg["reps"])):
            t0 = time.perf_counter()
            tokens = generate(model, prompt, N, use_cache)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        rec.update({"warmup": int(cfg["warmup"]), "reps": len(times), "min_s": min(times), "median_s": med,
                    "max_s": max(times), "tokens_per_s": N / med,
                    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "tokens": tokens})
    except Exception as e:  # noqa: BLE001
        rec["error"] = f"{type(e).__name__}: {e}"
    emit(rec)


def run_step_child(group, threads, cfg, flag="--step-child"):
    """Run one step (or, with flag --generate-child, generation) configuration in a child process and
    relay its record."""
    if flag == "--step-child":
        op, shape = f"{cfg.get('arch', 'gpt2')}_step", step_shape(cfg)
    else:
        op, shape = f"{cfg['arch']}_generate", f"{cfg['mode']} L={cfg['L']} prompt={cfg['P']} new={cfg['N']}"
    cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(threads), flag, json.dumps(cfg)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise RuntimeError(f"child exited {out.returncode} without a record: {out.stderr.strip()[-400:]}")
        rec = json.loads(lines[-1])
        rec["group"] = group
        emit(rec)
    except Exception as e:  # noqa: BLE001
        emit({"peer": "torch", "group": group, "op": op, "shape": shape, "error": f"{type(e).__name__}: {e}"})


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

    def acc(shape_a, shape_b, ta, tb):
        """o += op(a)·op(b), with a and b stored as given (a model layer's backward)."""
        def make(g):
            a, b = torch.randn(*shape_a, generator=g), torch.randn(*shape_b, generator=g)
            a, b = (a.t() if ta else a), (b.t() if tb else b)
            o = torch.randn(a.shape[0], b.shape[1], generator=g)
            return lambda: o.addmm_(a, b)
        return make

    # GPT-2's Conv1D layers, (in, out): qkv, attention projection, MLP up, MLP down
    layers = ((GC, 3 * GC), (GC, GC), (GC, 4 * GC), (4 * GC, GC))
    for i, o in layers:
        S.case("matmul", f"{GN}x{i}x{o}", mm(GN, i, o))
    for i, o in layers:  # dx += dy·Wᵀ
        S.case("matmul_dx", f"{GN}x{o}x{i}", acc((GN, o), (i, o), False, True))
    for i, o in layers:  # dW += xᵀ·dy
        S.case("matmul_dw", f"{i}x{GN}x{o}", acc((GN, i), (GN, o), True, False))

    def mm_bt(rows, c=GC, v=V):
        def make(g):
            x, wte, o = torch.randn(rows, c, generator=g), torch.randn(v, c, generator=g), torch.empty(rows, v)
            return lambda: torch.mm(x, wte.t(), out=o)
        return make
    S.case("matmul_bt", f"{GN}x{GC}x{V}", mm_bt(GN))
    S.case("matmul_bt", f"{GT}x{GC}x{V}", mm_bt(GT))  # the LM head's logits, one 128-row block
    S.case("matmul", f"{GT}x{V}x{GC}", mm(GT, V, GC))  # its hidden-state gradient, dlogits·wte

    # the SmolLM2-135M-shaped LLaMA step (nn.Linear, weights [out, in]): q/o, k/v (3 KV heads), gate/up, down
    llama = ((LC, LC), (LC, LKV * LHD), (LC, LI), (LI, LC))
    for i, o in llama:  # y = x·Wᵀ
        S.case("matmul_bt", f"{GN}x{i}x{o}", mm_bt(GN, i, o))
    for i, o in llama:  # dx += dy·W
        S.case("matmul_dx", f"{GN}x{o}x{i}", acc((GN, o), (o, i), False, False))
    # the tied LM head, whole and in the step's blocks (N split evenly into blocks of <= 32 MiB of logits)
    blocks = -(-GN * LV * 4 // (32 << 20))
    rows = -(-GN // blocks)
    S.case("matmul_bt", f"{GN}x{LC}x{LV}", mm_bt(GN, LC, LV))
    S.case("matmul_bt", f"{rows}x{LC}x{LV}", mm_bt(rows, LC, LV))
    S.case("matmul", f"{rows}x{LV}x{LC}", mm(rows, LV, LC))

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

    def sdpa_fwd(g):
        q, k, v = qkv(g, False)
        return lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def sdpa_fwd_bwd(g):
        q, k, v = qkv(g, True)
        dout = torch.randn(GB, NH, GT, hs, generator=g)
        return lambda: torch.autograd.grad(F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v), dout)

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
                            ("cross_entropy_forward", f"{GN}x{V}", ce_fwd),
                            ("cross_entropy_backward", f"{GN}x{V}", ce_bwd),
                            ("cross_entropy_forward_backward", f"{GN}x{V}", ce_fwd_bwd)):
        S.case(op, shape, make)
    # beside nola's (fused) attention: torch's own fused attention where this torch has it (2.0 on),
    # else its composed attention (matmul, masked softmax, matmul; torch 1.13 here)
    sdpa = hasattr(F, "scaled_dot_product_attention")
    S.case("fused_attention_forward", attn_shape, sdpa_fwd if sdpa else attn_fwd)
    S.case("fused_attention_forward_backward", attn_shape, sdpa_fwd_bwd if sdpa else attn_fwd_bwd)


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
    # as many timed steps as nola's rows (10, so max/median means something), after 2 warm-ups
    steps, warmup = (2, 1) if args.quick else (10, 2)
    for variant in ("nola_materialized", "nola_on_the_fly", "lora_r4"):
        run_step_child("step", args.threads, dict(variant=variant, L=L, B=B, T=T, steps=steps, warmup=warmup))
    L = 2 if args.quick else LL
    for variant in ("nola_materialized", "nola_on_the_fly", "lora_r4"):
        run_step_child("step", args.threads, dict(arch="llama", variant=variant, L=L, B=B, T=T, steps=steps, warmup=warmup))


def g_generate(S, args):
    P, N = (32, 16) if args.quick else (128, 128)
    for arch in ("gpt2", "llama"):
        L = 2 if args.quick else (12 if arch == "gpt2" else LL)
        for mode in ("cache", "no_cache"):
            # the recompute path is slow (the whole context per token): one timed run of it
            reps = 3 if mode == "cache" and not args.quick else 1
            run_step_child("generate", args.threads, dict(arch=arch, mode=mode, L=L, P=P, N=N, reps=reps, warmup=1),
                           flag="--generate-child")


def g_scaling(S, args):
    for kk in ((64, 1024) if args.quick else (64, 256, 1024, 4096)):
        for variant in ("nola_materialized", "nola_on_the_fly"):
            layer_case(S, variant, k=kk, with_backward=True)
    L, points = (2, ((1, 64), (2, 64), (4, 64))) if args.quick else (12, ((1, 128), (4, 128), (4, 256), (8, 256)))
    for B, T in points:
        run_step_child("scaling", args.threads, dict(variant="nola_materialized", L=L, B=B, T=T, steps=2, warmup=1))


RUNNERS = {"peaks": g_peaks, "random": g_random, "nola": g_nola, "linalg": g_linalg, "adapter": g_adapter,
           "nn": g_nn, "optim": g_optim, "layer": g_layer, "step": g_step, "generate": g_generate, "scaling": g_scaling}


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
    # tiny LLaMA (GQA 4 heads over 2): the loss falls, only adapter parameters get gradients
    for variant in ("nola_materialized", "lora_r4"):
        model = Llama(variant, L=2, C=64, nh=4, nkv=2, hd=16, inter=96, vocab=100, ctx=64, seed=2)
        step = make_trainer(model, 2, 16, 100, lr=1e-2)
        losses = [step() for _ in range(5)]
        trainable = [p for p in model.parameters() if p.requires_grad]
        check(f"LLaMA tiny {variant}: loss {losses[0]:.4f} -> {losses[-1]:.4f} decreases", losses[-1] < losses[0])
        check(f"LLaMA tiny {variant}: only adapter params ({len(trainable)}) get grads",
              all(not t.requires_grad for t in model.base_tensors())
              and {id(p) for p in trainable} == {id(p) for p in model.adapters.parameters()})
    # GQA with every K/V head repeated equals attention with the repeated heads as weights
    m = Llama(None, L=1, C=32, nh=4, nkv=2, hd=8, inter=48, vocab=50, ctx=32, seed=4)
    full = Llama(None, L=1, C=32, nh=4, nkv=4, hd=8, inter=48, vocab=50, ctx=32, seed=4)
    full.embed, full.layers[0] = m.embed, dict(m.layers[0])
    for name in ("k", "v"):
        full.layers[0][name] = m.layers[0][name].view(2, 8, 32).repeat_interleave(2, 0).reshape(32, 32)
    idx = torch.randint(50, (2, 12), generator=g)
    check("LLaMA GQA == multi-head attention with the K/V heads repeated", close(m.logits(idx), full.logits(idx)))
    # the KV cache: prefill + one token at a time gives the no-cache logits, and the same greedy tokens
    for name, model in (("GPT-2", GPT2(None, L=2, C=64, nh=4, vocab=100, ctx=64, seed=5)),
                        ("LLaMA", Llama(None, L=2, C=64, nh=4, nkv=2, hd=16, inter=96, vocab=100, ctx=64, seed=5))):
        idx = torch.randint(100, (1, 20), generator=g)
        with torch.no_grad():
            cache = []
            steps = [model.logits(idx[:, :12], cache)] + [model.logits(idx[:, t:t + 1], cache) for t in range(12, 20)]
            check(f"{name} KV cache: logits equal the whole sequence's", close(torch.cat(steps), model.logits(idx)))
        check(f"{name} KV cache: greedy tokens with and without the cache agree",
              generate(model, idx[:, :8], 10, True) == generate(model, idx[:, :8], 10, False))
    print("selftest: " + ("all passed" if not failures else f"{len(failures)} failed"), flush=True)
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groups", default=",".join(GROUPS), help="comma-separated subset of " + ",".join(GROUPS))
    ap.add_argument("--quick", action="store_true", help="few repetitions, small GPT-2 (smoke run)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--step-child", metavar="JSON", help="internal: run one step configuration")
    ap.add_argument("--generate-child", metavar="JSON", help="internal: run one generation configuration")
    ap.add_argument("--selftest", action="store_true", help="correctness checks, then exit")
    ap.add_argument("--serve", action="store_true",
                    help="time the --groups' cases on request (JSON lines on stdin), for paired rounds")
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
    if args.generate_child:
        generate_child(json.loads(args.generate_child))
        return 0
    emit(meta(args))
    if args.serve:
        serve(args)
        return 0
    for name in GROUPS:   # fixed order, whatever order --groups lists them in
        if name in groups:
            RUNNERS[name](Suite(name, args.quick), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
