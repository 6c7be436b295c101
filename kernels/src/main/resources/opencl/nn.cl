// Op family "nn": the layers of a transformer block as forward/backward pairs (llm.c's ops). Every
// buffer argument is followed by its element offset (views). Two layouts, picked by the host from
// the device type: on GPUs one element per work-item (neighbouring work-items on neighbouring
// addresses) and a work-group per row with tree reductions in local memory; on CPUs (built with
// -DCHUNKED) a work-item per row, per contiguous chunk or per 8-column block, 8 wide, because a CPU
// runtime runs one work-item's loop to the end before the next. No atomics: every sum runs in an
// order fixed by the shapes, so repeated runs give the same bits.
#pragma OPENCL FP_CONTRACT OFF

#define SQRT_2_OVER_PI 0.7978845608028654f
#define INV_SQRT_2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

// Both work on float and float8 (no contraction: FP_CONTRACT is off).
#define GELU_TANH(x) (0.5f * (x) * (1.0f + tanh(SQRT_2_OVER_PI * ((x) + 0.044715f * (x) * (x) * (x)))))
#define GELU_ERF(x) (0.5f * (x) * (1.0f + erf((x) * INV_SQRT_2)))

// ---------------------------------------------------------------- reductions

// Horizontal sum and max of the 8 lanes, in a fixed order.
inline float hsum8(float8 v) {
    float4 a = v.lo + v.hi;
    float2 b = a.lo + a.hi;
    return b.x + b.y;
}

inline float hmax8(float8 v) {
    float4 a = fmax(v.lo, v.hi);
    float2 b = fmax(a.lo, a.hi);
    return fmax(b.x, b.y);
}

// Tree sum of one value per work-item in local memory (power-of-two work-group). Ends with a barrier,
// so the scratch can be used again at once.
inline float group_sum(float v, __local float *scratch) {
    uint lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) {
            scratch[lid] += scratch[lid + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

inline float group_max(float v, __local float *scratch) {
    uint lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) {
            scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

// Row reductions of the CPU layout: 8 lanes over the full blocks, then the tail, lanes added last.
inline float row_sum(__global const float *x, uint n) {
    float8 acc = (float8)(0.0f);
    uint j = 0;
    for (; j + 8 <= n; j += 8) {
        acc += vload8(0, x + j);
    }
    float tail = 0.0f;
    for (; j < n; j++) {
        tail += x[j];
    }
    return hsum8(acc) + tail;
}

inline float row_max(__global const float *x, uint n) {
    float8 acc = (float8)(-INFINITY);
    uint j = 0;
    for (; j + 8 <= n; j += 8) {
        acc = fmax(acc, vload8(0, x + j));
    }
    float tail = -INFINITY;
    for (; j < n; j++) {
        tail = fmax(tail, x[j]);
    }
    return fmax(hmax8(acc), tail);
}

// ---------------------------------------------------------------- encoder

// (N,C) out[n, :] = wte[ids[n], :] + wpe[n mod t, :]; either table may be absent (has_* = 0).
// GPU: global (C rounded up, N), one element each. CPU: global (N rounded up), a row each.
// Two kernels from one body: encoder_forward reads a float32 table; encoder_forward_bf16 a bfloat16
// one (a frozen wte held as its 16-bit patterns), each element widened exactly (its bits the top half
// of a float32) before the position term is added.
#define LOAD_F32(p, j) ((p)[j])
#define LOAD8_F32(p, j) vload8(0, (p) + (j))
#define LOAD_BF16(p, j) as_float((uint)(p)[j] << 16)
#define LOAD8_BF16(p, j) as_float8(convert_uint8(vload8(0, (p) + (j))) << 16)
#define ENCODER_FORWARD_ARGS(T) __global const int *ids, const ulong ids_off, __global const T *wte, const ulong wte_off, \
        __global const float *wpe, const ulong wpe_off, __global float *out, const ulong out_off, const uint n, \
        const uint t, const uint c, const int has_wte, const int has_wpe
#define ENCODER_FORWARD_OFFSETS ids += ids_off; wte += wte_off; wpe += wpe_off; out += out_off;
#ifdef CHUNKED
#define ENCODER_FORWARD(NAME, T, LOAD, LOAD8) \
__kernel void NAME(ENCODER_FORWARD_ARGS(T)) { \
    ENCODER_FORWARD_OFFSETS \
    uint row = get_global_id(0); \
    if (row >= n) { \
        return; \
    } \
    __global const T *e = wte + (has_wte ? (ulong)ids[row] * c : 0); \
    __global const float *p = wpe + (ulong)(row % t) * c; \
    __global float *o = out + (ulong)row * c; \
    uint j = 0; \
    for (; j + 8 <= c; j += 8) { \
        float8 v = has_wte ? LOAD8(e, j) : (float8)(0.0f); \
        vstore8(has_wpe ? (has_wte ? v + vload8(0, p + j) : vload8(0, p + j)) : v, 0, o + j); \
    } \
    for (; j < c; j++) { \
        o[j] = has_wpe ? (has_wte ? LOAD(e, j) + p[j] : p[j]) : LOAD(e, j); \
    } \
}
#else
#define ENCODER_FORWARD(NAME, T, LOAD, LOAD8) \
__kernel void NAME(ENCODER_FORWARD_ARGS(T)) { \
    ENCODER_FORWARD_OFFSETS \
    uint j = get_global_id(0); \
    uint row = get_global_id(1); \
    if (j >= c) { \
        return; \
    } \
    float e = has_wte ? LOAD(wte, (ulong)ids[row] * c + j) : 0.0f; \
    float p = has_wpe ? wpe[(ulong)(row % t) * c + j] : 0.0f; \
    out[(ulong)row * c + j] = has_wpe ? (has_wte ? e + p : p) : e; \
}
#endif
ENCODER_FORWARD(encoder_forward, float, LOAD_F32, LOAD8_F32)
ENCODER_FORWARD(encoder_forward_bf16, ushort, LOAD_BF16, LOAD8_BF16)

// dwte[ids[n], :] += dout[n, :] for n ascending, so rows of repeated ids add in token order.
// GPU: a work-group per token; the first occurrence of an id adds every later token with that id
// (the others return), its work-items striding over the columns. Global (N·L), local (L).
// CPU: a work-item per block of `cols` columns walks every token in order. Global (blocks rounded up).
__kernel void encoder_backward_wte(__global const int *ids, const ulong ids_off, __global const float *dout,
                                   const ulong dout_off, __global float *dwte, const ulong dwte_off,
                                   const uint n, const uint c, const uint cols, __local float *scratch) {
    ids += ids_off;
    dout += dout_off;
    dwte += dwte_off;
#ifdef CHUNKED
    uint j0 = get_global_id(0) * cols;
    if (j0 >= c) {
        return;
    }
    uint j1 = min(c, j0 + cols);
    for (uint row = 0; row < n; row++) {
        __global float *d = dwte + (ulong)ids[row] * c;
        __global const float *g = dout + (ulong)row * c;
        uint j = j0;
        for (; j + 8 <= j1; j += 8) {
            vstore8(vload8(0, d + j) + vload8(0, g + j), 0, d + j);
        }
        for (; j < j1; j++) {
            d[j] += g[j];
        }
    }
#else
    uint row = get_group_id(0);
    uint lid = get_local_id(0);
    uint size = get_local_size(0);
    int id = ids[row];
    float seen = 0.0f;
    for (uint i = lid; i < row; i += size) {
        if (ids[i] == id) {
            seen = 1.0f;
        }
    }
    if (group_max(seen, scratch) > 0.0f) {
        return; // an earlier token owns this id
    }
    __global float *d = dwte + (ulong)id * c;
    for (uint k = row; k < n; k++) {
        if (ids[k] != id) {
            continue;
        }
        __global const float *g = dout + (ulong)k * c;
        for (uint j = lid; j < c; j += size) {
            d[j] += g[j];
        }
    }
#endif
}

// dwpe[p, :] += dout[b·t + p, :] for b ascending. GPU: global (C rounded up, T). CPU: a row each, global (T rounded up).
__kernel void encoder_backward_wpe(__global const float *dout, const ulong dout_off, __global float *dwpe,
                                   const ulong dwpe_off, const uint n, const uint t, const uint c) {
    dout += dout_off;
    dwpe += dwpe_off;
    uint batches = n / t;
#ifdef CHUNKED
    uint p = get_global_id(0);
    if (p >= t) {
        return;
    }
    __global float *d = dwpe + (ulong)p * c;
    uint j = 0;
    for (; j + 8 <= c; j += 8) {
        float8 acc = vload8(0, d + j);
        for (uint b = 0; b < batches; b++) {
            acc += vload8(0, dout + ((ulong)b * t + p) * c + j);
        }
        vstore8(acc, 0, d + j);
    }
    for (; j < c; j++) {
        float acc = d[j];
        for (uint b = 0; b < batches; b++) {
            acc += dout[((ulong)b * t + p) * c + j];
        }
        d[j] = acc;
    }
#else
    uint j = get_global_id(0);
    uint p = get_global_id(1);
    if (j >= c) {
        return;
    }
    float acc = dwpe[(ulong)p * c + j];
    for (uint b = 0; b < batches; b++) {
        acc += dout[((ulong)b * t + p) * c + j];
    }
    dwpe[(ulong)p * c + j] = acc;
#endif
}

// ---------------------------------------------------------------- layernorm

// (N,C) out = (x − mean)·rstd·w + b per row, two passes (mean, then the centred sum of squares).
// GPU: a work-group per row, global (N·L), local (L). CPU: a row each, global (N rounded up).
__kernel void layernorm_forward(__global const float *x, const ulong x_off, __global const float *w, const ulong w_off,
                                __global const float *b, const ulong b_off, __global float *out, const ulong out_off,
                                __global float *mean, const ulong mean_off, __global float *rstd, const ulong rstd_off,
                                const uint n, const uint c, const float eps, __local float *scratch) {
    x += x_off;
    w += w_off;
    b += b_off;
    out += out_off;
    mean += mean_off;
    rstd += rstd_off;
#ifdef CHUNKED
    uint row = get_global_id(0);
    if (row >= n) {
        return;
    }
    __global const float *xr = x + (ulong)row * c;
    __global float *o = out + (ulong)row * c;
    float m = row_sum(xr, c) / (float)c;
    float8 acc = (float8)(0.0f);
    uint j = 0;
    for (; j + 8 <= c; j += 8) {
        float8 d = vload8(0, xr + j) - m;
        acc = fma(d, d, acc);
    }
    float tail = 0.0f;
    for (; j < c; j++) {
        float d = xr[j] - m;
        tail = fma(d, d, tail);
    }
    float s = 1.0f / sqrt((hsum8(acc) + tail) / (float)c + eps);
    j = 0;
    for (; j + 8 <= c; j += 8) {
        vstore8(fma((vload8(0, xr + j) - m) * s, vload8(0, w + j), vload8(0, b + j)), 0, o + j);
    }
    for (; j < c; j++) {
        o[j] = fma((xr[j] - m) * s, w[j], b[j]);
    }
#else
    uint row = get_group_id(0);
    uint lid = get_local_id(0);
    uint size = get_local_size(0);
    __global const float *xr = x + (ulong)row * c;
    __global float *o = out + (ulong)row * c;
    float acc = 0.0f;
    for (uint j = lid; j < c; j += size) {
        acc += xr[j];
    }
    float m = group_sum(acc, scratch) / (float)c;
    acc = 0.0f;
    for (uint j = lid; j < c; j += size) {
        float d = xr[j] - m;
        acc = fma(d, d, acc);
    }
    float s = 1.0f / sqrt(group_sum(acc, scratch) / (float)c + eps);
    for (uint j = lid; j < c; j += size) {
        o[j] = fma((xr[j] - m) * s, w[j], b[j]);
    }
    if (lid != 0) {
        return;
    }
#endif
    mean[row] = m;
    rstd[row] = s;
}

// dx[n, :] += rstd·(dnorm − mean(dnorm) − norm·mean(dnorm·norm)) with dnorm = dout·w,
// norm = (x − mean)·rstd. Layout and geometry as layernorm_forward.
__kernel void layernorm_backward(__global const float *dout, const ulong dout_off, __global const float *x, const ulong x_off,
                                 __global const float *w, const ulong w_off, __global const float *mean, const ulong mean_off,
                                 __global const float *rstd, const ulong rstd_off, __global float *dx, const ulong dx_off,
                                 const uint n, const uint c, __local float *scratch) {
    dout += dout_off;
    x += x_off;
    w += w_off;
    mean += mean_off;
    rstd += rstd_off;
    dx += dx_off;
#ifdef CHUNKED
    uint row = get_global_id(0);
    if (row >= n) {
        return;
    }
#else
    uint row = get_group_id(0);
    uint lid = get_local_id(0);
    uint size = get_local_size(0);
#endif
    __global const float *g = dout + (ulong)row * c;
    __global const float *xr = x + (ulong)row * c;
    __global float *d = dx + (ulong)row * c;
    float m = mean[row];
    float s = rstd[row];
#ifdef CHUNKED
    float8 sd8 = (float8)(0.0f);
    float8 sdn8 = (float8)(0.0f);
    uint j = 0;
    for (; j + 8 <= c; j += 8) {
        float8 dn = vload8(0, g + j) * vload8(0, w + j);
        sd8 += dn;
        sdn8 = fma(dn, (vload8(0, xr + j) - m) * s, sdn8);
    }
    float sd = 0.0f;
    float sdn = 0.0f;
    for (; j < c; j++) {
        float dn = g[j] * w[j];
        sd += dn;
        sdn = fma(dn, (xr[j] - m) * s, sdn);
    }
    float meanD = (hsum8(sd8) + sd) / (float)c;
    float meanDN = (hsum8(sdn8) + sdn) / (float)c;
    j = 0;
    for (; j + 8 <= c; j += 8) {
        float8 norm = (vload8(0, xr + j) - m) * s;
        float8 dn = vload8(0, g + j) * vload8(0, w + j);
        vstore8(fma(s, dn - meanD - norm * meanDN, vload8(0, d + j)), 0, d + j);
    }
    for (; j < c; j++) {
        float norm = (xr[j] - m) * s;
        float dn = g[j] * w[j];
        d[j] = fma(s, dn - meanD - norm * meanDN, d[j]);
    }
#else
    float sd = 0.0f;
    float sdn = 0.0f;
    for (uint j = lid; j < c; j += size) {
        float dn = g[j] * w[j];
        sd += dn;
        sdn = fma(dn, (xr[j] - m) * s, sdn);
    }
    float meanD = group_sum(sd, scratch) / (float)c;
    float meanDN = group_sum(sdn, scratch) / (float)c;
    for (uint j = lid; j < c; j += size) {
        float norm = (xr[j] - m) * s;
        float dn = g[j] * w[j];
        d[j] = fma(s, dn - meanD - norm * meanDN, d[j]);
    }
#endif
}

// ---------------------------------------------------------------- rmsnorm

// (N,C) out = (x·rstd)·w per row, rstd = 1/√(Σx²/C + eps) written: layernorm_forward's sum without the mean.
// GPU: a work-group per row, global (N·L), local (L). CPU: a row each, global (N rounded up).
__kernel void rmsnorm_forward(__global const float *x, const ulong x_off, __global const float *w, const ulong w_off,
                              __global float *out, const ulong out_off, __global float *rstd, const ulong rstd_off,
                              const uint n, const uint c, const float eps, __local float *scratch) {
    x += x_off;
    w += w_off;
    out += out_off;
    rstd += rstd_off;
#ifdef CHUNKED
    uint row = get_global_id(0);
    if (row >= n) {
        return;
    }
    __global const float *xr = x + (ulong)row * c;
    __global float *o = out + (ulong)row * c;
    float8 acc = (float8)(0.0f);
    uint j = 0;
    for (; j + 8 <= c; j += 8) {
        float8 v = vload8(0, xr + j);
        acc = fma(v, v, acc);
    }
    float tail = 0.0f;
    for (; j < c; j++) {
        tail = fma(xr[j], xr[j], tail);
    }
    float s = 1.0f / sqrt((hsum8(acc) + tail) / (float)c + eps);
    j = 0;
    for (; j + 8 <= c; j += 8) {
        vstore8(vload8(0, xr + j) * s * vload8(0, w + j), 0, o + j);
    }
    for (; j < c; j++) {
        o[j] = xr[j] * s * w[j];
    }
#else
    uint row = get_group_id(0);
    uint lid = get_local_id(0);
    uint size = get_local_size(0);
    __global const float *xr = x + (ulong)row * c;
    __global float *o = out + (ulong)row * c;
    float acc = 0.0f;
    for (uint j = lid; j < c; j += size) {
        acc = fma(xr[j], xr[j], acc);
    }
    float s = 1.0f / sqrt(group_sum(acc, scratch) / (float)c + eps);
    for (uint j = lid; j < c; j += size) {
        o[j] = xr[j] * s * w[j];
    }
    if (lid != 0) {
        return;
    }
#endif
    rstd[row] = s;
}

// dx[n, :] += rstd·(dnorm − norm·mean(dnorm·norm)) with dnorm = dout·w, norm = x·rstd. The weight
// gradient is column_partials' (without the mean). Layout and geometry as rmsnorm_forward.
__kernel void rmsnorm_backward(__global const float *dout, const ulong dout_off, __global const float *x, const ulong x_off,
                               __global const float *w, const ulong w_off, __global const float *rstd, const ulong rstd_off,
                               __global float *dx, const ulong dx_off, const uint n, const uint c, __local float *scratch) {
    dout += dout_off;
    x += x_off;
    w += w_off;
    rstd += rstd_off;
    dx += dx_off;
#ifdef CHUNKED
    uint row = get_global_id(0);
    if (row >= n) {
        return;
    }
#else
    uint row = get_group_id(0);
    uint lid = get_local_id(0);
    uint size = get_local_size(0);
#endif
    __global const float *g = dout + (ulong)row * c;
    __global const float *xr = x + (ulong)row * c;
    __global float *d = dx + (ulong)row * c;
    float s = rstd[row];
#ifdef CHUNKED
    float8 sdn8 = (float8)(0.0f);
    uint j = 0;
    for (; j + 8 <= c; j += 8) {
        sdn8 = fma(vload8(0, g + j) * vload8(0, w + j), vload8(0, xr + j) * s, sdn8);
    }
    float sdn = 0.0f;
    for (; j < c; j++) {
        sdn = fma(g[j] * w[j], xr[j] * s, sdn);
    }
    float meanDN = (hsum8(sdn8) + sdn) / (float)c;
    j = 0;
    for (; j + 8 <= c; j += 8) {
        float8 norm = vload8(0, xr + j) * s;
        float8 dn = vload8(0, g + j) * vload8(0, w + j);
        vstore8(fma(s, dn - norm * meanDN, vload8(0, d + j)), 0, d + j);
    }
    for (; j < c; j++) {
        float norm = xr[j] * s;
        float dn = g[j] * w[j];
        d[j] = fma(s, dn - norm * meanDN, d[j]);
    }
#else
    float sdn = 0.0f;
    for (uint j = lid; j < c; j += size) {
        sdn = fma(g[j] * w[j], xr[j] * s, sdn);
    }
    float meanDN = group_sum(sdn, scratch) / (float)c;
    for (uint j = lid; j < c; j += size) {
        float norm = xr[j] * s;
        float dn = g[j] * w[j];
        d[j] = fma(s, dn - norm * meanDN, d[j]);
    }
#endif
}

// Column sums in two passes with a fixed order (bias, layernorm and RMSNorm parameter gradients): chunk r
// of `rows` consecutive rows writes pb[r, :] = Σ dout[i, :] and, with has_w, pw[r, :] = Σ dout[i, :]·norm[i, :]
// (rows ascending; norm = (x − mean)·rstd, or x·rstd without has_mean); column_finish then adds the
// chunks in order. GPU: global (C rounded up, chunks),
// a column each. CPU: global (C/8 rounded up, chunks), 8 columns each.
__kernel void column_partials(__global const float *dout, const ulong dout_off, __global const float *x, const ulong x_off,
                              __global const float *mean, const ulong mean_off, __global const float *rstd, const ulong rstd_off,
                              __global float *pb, const ulong pb_off, __global float *pw, const ulong pw_off,
                              const uint n, const uint c, const uint rows, const int has_w, const int has_mean) {
    dout += dout_off;
    x += x_off;
    mean += mean_off;
    rstd += rstd_off;
    pb += pb_off;
    pw += pw_off;
    uint r = get_global_id(1);
    uint i0 = r * rows;
    uint i1 = min(n, i0 + rows);
#ifdef CHUNKED
    uint j = get_global_id(0) * 8;
    if (j >= c) {
        return;
    }
    if (j + 8 <= c) {
        float8 sb = (float8)(0.0f);
        float8 sw = (float8)(0.0f);
        for (uint i = i0; i < i1; i++) {
            float8 g = vload8(0, dout + (ulong)i * c + j);
            sb += g;
            if (has_w) {
                sw = fma(g, (vload8(0, x + (ulong)i * c + j) - (has_mean ? mean[i] : 0.0f)) * rstd[i], sw);
            }
        }
        vstore8(sb, 0, pb + (ulong)r * c + j);
        if (has_w) {
            vstore8(sw, 0, pw + (ulong)r * c + j);
        }
        return;
    }
    for (; j < c; j++) {
#else
    uint j = get_global_id(0);
    if (j >= c) {
        return;
    }
    {
#endif
        float sb = 0.0f;
        float sw = 0.0f;
        for (uint i = i0; i < i1; i++) {
            float g = dout[(ulong)i * c + j];
            sb += g;
            if (has_w) {
                sw = fma(g, (x[(ulong)i * c + j] - (has_mean ? mean[i] : 0.0f)) * rstd[i], sw);
            }
        }
        pb[(ulong)r * c + j] = sb;
        if (has_w) {
            pw[(ulong)r * c + j] = sw;
        }
    }
}

// out[j] += Σ_r partial[r, j], r ascending. Geometry as column_partials with one row of chunks.
__kernel void column_finish(__global const float *partial, const ulong partial_off, __global float *out, const ulong out_off,
                            const uint chunks, const uint c) {
    partial += partial_off;
    out += out_off;
#ifdef CHUNKED
    uint j = get_global_id(0) * 8;
    if (j >= c) {
        return;
    }
    if (j + 8 <= c) {
        float8 acc = (float8)(0.0f);
        for (uint r = 0; r < chunks; r++) {
            acc += vload8(0, partial + (ulong)r * c + j);
        }
        vstore8(vload8(0, out + j) + acc, 0, out + j);
        return;
    }
    for (; j < c; j++) {
#else
    uint j = get_global_id(0);
    if (j >= c) {
        return;
    }
    {
#endif
        float acc = 0.0f;
        for (uint r = 0; r < chunks; r++) {
            acc += partial[(ulong)r * c + j];
        }
        out[j] += acc;
    }
}

// ---------------------------------------------------------------- element-wise

// The elements of this work-item: GPU one (global (n rounded up)); CPU `chunk` consecutive ones, the
// full 8-blocks first (global (n / chunk rounded up)). BODY8 sees float8 at element e, BODY1 one float.
#ifdef CHUNKED
#define FOR_ELEMENTS(n, chunk, BODY8, BODY1) \
    { \
        ulong lo_ = (ulong)get_global_id(0) * (chunk); \
        ulong hi_ = min((ulong)(n), lo_ + (chunk)); \
        ulong e = lo_; \
        for (; e + 8 <= hi_; e += 8) { BODY8 } \
        for (; e < hi_; e++) { BODY1 } \
    }
#else
#define FOR_ELEMENTS(n, chunk, BODY8, BODY1) \
    { \
        ulong e = get_global_id(0); \
        if (e < (n)) { BODY1 } \
    }
#endif

// out = gelu(x); kind 0: tanh form, 1: erf form; out may be x.
__kernel void gelu_forward(__global const float *x, const ulong x_off, __global float *out, const ulong out_off,
                           const ulong n, const int kind, const ulong chunk) {
    x += x_off;
    out += out_off;
    if (kind == 0) {
        FOR_ELEMENTS(n, chunk, { float8 v = vload8(0, x + e); vstore8(GELU_TANH(v), 0, out + e); },
                     { float v = x[e]; out[e] = GELU_TANH(v); })
    } else {
        FOR_ELEMENTS(n, chunk, { float8 v = vload8(0, x + e); vstore8(GELU_ERF(v), 0, out + e); },
                     { float v = x[e]; out[e] = GELU_ERF(v); })
    }
}

// gelu'(x) for the tanh form: 0.5·(1 + th) + 0.5·x·(1 − th²)·√(2/π)·(1 + 3·0.044715·x²).
#define GELU_TANH_GRAD(x, th) \
    (0.5f * (1.0f + (th)) + 0.5f * (x) * (1.0f - (th) * (th)) * (SQRT_2_OVER_PI * (1.0f + 0.134145f * (x) * (x))))
#define GELU_TANH_TH(x) tanh(SQRT_2_OVER_PI * ((x) + 0.044715f * (x) * (x) * (x)))
// gelu'(x) for the erf form: 0.5·(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π).
#define GELU_ERF_GRAD(x) (0.5f * (1.0f + erf((x) * INV_SQRT_2)) + (x) * exp(-0.5f * (x) * (x)) * INV_SQRT_2PI)

// dx += gelu'(x)·dout.
__kernel void gelu_backward(__global const float *x, const ulong x_off, __global const float *dout, const ulong dout_off,
                            __global float *dx, const ulong dx_off, const ulong n, const int kind, const ulong chunk) {
    x += x_off;
    dout += dout_off;
    dx += dx_off;
    if (kind == 0) {
        FOR_ELEMENTS(n, chunk,
                     { float8 v = vload8(0, x + e); float8 th = GELU_TANH_TH(v);
                       vstore8(fma(GELU_TANH_GRAD(v, th), vload8(0, dout + e), vload8(0, dx + e)), 0, dx + e); },
                     { float v = x[e]; float th = GELU_TANH_TH(v); dx[e] = fma(GELU_TANH_GRAD(v, th), dout[e], dx[e]); })
    } else {
        FOR_ELEMENTS(n, chunk,
                     { float8 v = vload8(0, x + e);
                       vstore8(fma(GELU_ERF_GRAD(v), vload8(0, dout + e), vload8(0, dx + e)), 0, dx + e); },
                     { float v = x[e]; dx[e] = fma(GELU_ERF_GRAD(v), dout[e], dx[e]); })
    }
}

// out = a + b; out may be a or b.
__kernel void residual_forward(__global const float *a, const ulong a_off, __global const float *b, const ulong b_off,
                               __global float *out, const ulong out_off, const ulong n, const ulong chunk) {
    a += a_off;
    b += b_off;
    out += out_off;
    FOR_ELEMENTS(n, chunk, { vstore8(vload8(0, a + e) + vload8(0, b + e), 0, out + e); },
                 { out[e] = a[e] + b[e]; })
}

// (N,C) x[n, :] += bias. GPU: global (C rounded up, N). CPU: a row each, global (N rounded up).
__kernel void bias_forward(__global float *x, const ulong x_off, __global const float *bias, const ulong bias_off,
                           const uint n, const uint c) {
    x += x_off;
    bias += bias_off;
#ifdef CHUNKED
    uint row = get_global_id(0);
    if (row >= n) {
        return;
    }
    __global float *xr = x + (ulong)row * c;
    uint j = 0;
    for (; j + 8 <= c; j += 8) {
        vstore8(vload8(0, xr + j) + vload8(0, bias + j), 0, xr + j);
    }
    for (; j < c; j++) {
        xr[j] += bias[j];
    }
#else
    uint j = get_global_id(0);
    if (j < c) {
        x[(ulong)get_global_id(1) * c + j] += bias[j];
    }
#endif
}

// ---------------------------------------------------------------- rope, swiglu

// (rows, W) rotary embedding, HF's rotate_half layout: row r at position p = pos0 + r mod t, heads of
// head_dim side by side, pairs (i, i + d/2) rotated by the table row [p, :] (sin negated for the
// transpose). Each product rounded, then one subtraction or addition (FP_CONTRACT OFF, no fma): the
// reference's bits. Each pair is read before it is written, so out may be x.
// GPU: a pair each, global (W/2 rounded up, rows). CPU: a row each, global (rows rounded up).
__kernel void rope(__global const float *x, const ulong x_off, __global const float *cosv, const ulong cos_off,
                   __global const float *sinv, const ulong sin_off, __global float *out, const ulong out_off,
                   const uint rows, const uint t, const uint w, const uint head_dim, const uint pos0, const int transpose) {
    x += x_off;
    cosv += cos_off;
    sinv += sin_off;
    out += out_off;
    uint half_dim = head_dim / 2;
#ifdef CHUNKED
    uint row = get_global_id(0);
    if (row >= rows) {
        return;
    }
    __global const float *cr = cosv + (ulong)(pos0 + row % t) * half_dim;
    __global const float *sr = sinv + (ulong)(pos0 + row % t) * half_dim;
    for (uint h = 0; h < w; h += head_dim) {
        __global const float *xa = x + (ulong)row * w + h;
        __global float *oa = out + (ulong)row * w + h;
        uint i = 0;
        for (; i + 8 <= half_dim; i += 8) {
            float8 a = vload8(0, xa + i);
            float8 b = vload8(0, xa + half_dim + i);
            float8 c = vload8(0, cr + i);
            float8 s = vload8(0, sr + i);
            s = transpose ? -s : s;
            vstore8(a * c - b * s, 0, oa + i);
            vstore8(b * c + a * s, 0, oa + half_dim + i);
        }
        for (; i < half_dim; i++) {
            float a = xa[i];
            float b = xa[half_dim + i];
            float c = cr[i];
            float s = transpose ? -sr[i] : sr[i];
            oa[i] = a * c - b * s;
            oa[half_dim + i] = b * c + a * s;
        }
    }
#else
    uint j = get_global_id(0);
    uint row = get_global_id(1);
    if (j >= w / 2) {
        return;
    }
    uint head = j / half_dim;
    uint i = j % half_dim;
    ulong at = (ulong)row * w + head * head_dim + i;
    ulong k = (ulong)(pos0 + row % t) * half_dim + i;
    float a = x[at];
    float b = x[at + half_dim];
    float c = cosv[k];
    float s = transpose ? -sinv[k] : sinv[k];
    out[at] = a * c - b * s;
    out[at + half_dim] = b * c + a * s;
#endif
}

// out = silu(gate)·up with silu(g) = g·σ(g), σ from t = e^(−|g|): 1/(1 + t) for g ≥ 0, t/(1 + t) below
// (no overflow, the negative tail keeps its relative accuracy); out may be gate or up.
__kernel void swiglu_forward(__global const float *gate, const ulong gate_off, __global const float *up, const ulong up_off,
                             __global float *out, const ulong out_off, const ulong n, const ulong chunk) {
    gate += gate_off;
    up += up_off;
    out += out_off;
    FOR_ELEMENTS(n, chunk,
                 { float8 g = vload8(0, gate + e); float8 t = exp(-fabs(g));
                   float8 silu = g * select((float8)(1.0f), t, g < 0.0f) / (1.0f + t);
                   vstore8(silu * vload8(0, up + e), 0, out + e); },
                 { float g = gate[e]; float t = exp(-fabs(g));
                   out[e] = g * (g < 0.0f ? t : 1.0f) / (1.0f + t) * up[e]; })
}

// dgate += dout·up·silu'(gate), dup += dout·silu(gate), silu'(g) = σ + g·t/(1 + t)² (σ(1 − σ) = t/(1 + t)²).
__kernel void swiglu_backward(__global const float *gate, const ulong gate_off, __global const float *up, const ulong up_off,
                              __global const float *dout, const ulong dout_off, __global float *dgate, const ulong dgate_off,
                              __global float *dup, const ulong dup_off, const ulong n, const ulong chunk) {
    gate += gate_off;
    up += up_off;
    dout += dout_off;
    dgate += dgate_off;
    dup += dup_off;
    FOR_ELEMENTS(n, chunk,
                 { float8 g = vload8(0, gate + e); float8 t = exp(-fabs(g)); float8 op = 1.0f + t;
                   float8 sg = select((float8)(1.0f), t, g < 0.0f) / op; float8 grad = g * t / (op * op) + sg;
                   float8 d = vload8(0, dout + e);
                   vstore8(fma(d * vload8(0, up + e), grad, vload8(0, dgate + e)), 0, dgate + e);
                   vstore8(fma(d, g * sg, vload8(0, dup + e)), 0, dup + e); },
                 { float g = gate[e]; float t = exp(-fabs(g)); float op = 1.0f + t;
                   float sg = (g < 0.0f ? t : 1.0f) / op; float grad = g * t / (op * op) + sg;
                   float d = dout[e];
                   dgate[e] = fma(d * up[e], grad, dgate[e]);
                   dup[e] = fma(d, g * sg, dup[e]); })
}

// ---------------------------------------------------------------- softmax

// (R,L) out[r, j] = exp(s·x[r, j] − max) / Σ, columns j > r mod L masked to 0 when causal; out may
// be x (each element is read, then written, by one work-item). GPU: a work-group per row, global
// (R·G), local (G). CPU: a row each, global (R rounded up).
__kernel void softmax_forward(__global const float *x, const ulong x_off, __global float *out, const ulong out_off,
                              const uint rows, const uint l, const float scale, const int causal,
                              __local float *scratch) {
    x += x_off;
    out += out_off;
#ifdef CHUNKED
    uint r = get_global_id(0);
    if (r >= rows) {
        return;
    }
#else
    uint r = get_group_id(0);
    uint lid = get_local_id(0);
    uint size = get_local_size(0);
#endif
    uint len = causal ? r % l + 1 : l;
    __global const float *xr = x + (ulong)r * l;
    __global float *o = out + (ulong)r * l;
#ifdef CHUNKED
    // max of s·x (the same as s·max x only for s ≥ 0)
    float8 m8 = (float8)(-INFINITY);
    uint j = 0;
    for (; j + 8 <= len; j += 8) {
        m8 = fmax(m8, scale * vload8(0, xr + j));
    }
    float m = -INFINITY;
    for (; j < len; j++) {
        m = fmax(m, scale * xr[j]);
    }
    m = fmax(hmax8(m8), m);
    float8 s8 = (float8)(0.0f);
    j = 0;
    for (; j + 8 <= len; j += 8) {
        float8 e = exp(scale * vload8(0, xr + j) - m);
        vstore8(e, 0, o + j);
        s8 += e;
    }
    float sum = 0.0f;
    for (; j < len; j++) {
        float e = exp(scale * xr[j] - m);
        o[j] = e;
        sum += e;
    }
    sum += hsum8(s8);
    j = 0;
    for (; j + 8 <= len; j += 8) {
        vstore8(vload8(0, o + j) / sum, 0, o + j);
    }
    for (; j < len; j++) {
        o[j] = o[j] / sum;
    }
    for (; j < l; j++) {
        o[j] = 0.0f;
    }
#else
    float m = -INFINITY;
    for (uint j = lid; j < len; j += size) {
        m = fmax(m, scale * xr[j]);
    }
    m = group_max(m, scratch);
    float sum = 0.0f;
    for (uint j = lid; j < len; j += size) {
        float e = exp(scale * xr[j] - m);
        o[j] = e;
        sum += e;
    }
    sum = group_sum(sum, scratch);
    for (uint j = lid; j < l; j += size) {
        o[j] = j < len ? o[j] / sum : 0.0f;
    }
#endif
}

// dx[r, j] = s·y[r, j]·(dy[r, j] − Σ_i y[r, i]·dy[r, i]), written; dx may be dy. Geometry as softmax_forward.
__kernel void softmax_backward(__global const float *y, const ulong y_off, __global const float *dy, const ulong dy_off,
                               __global float *dx, const ulong dx_off, const uint rows, const uint l, const float scale,
                               __local float *scratch) {
    y += y_off;
    dy += dy_off;
    dx += dx_off;
#ifdef CHUNKED
    uint r = get_global_id(0);
    if (r >= rows) {
        return;
    }
#else
    uint r = get_group_id(0);
    uint lid = get_local_id(0);
    uint size = get_local_size(0);
#endif
    __global const float *yr = y + (ulong)r * l;
    __global const float *g = dy + (ulong)r * l;
    __global float *d = dx + (ulong)r * l;
#ifdef CHUNKED
    float8 acc = (float8)(0.0f);
    uint j = 0;
    for (; j + 8 <= l; j += 8) {
        acc = fma(vload8(0, yr + j), vload8(0, g + j), acc);
    }
    float dot = 0.0f;
    for (; j < l; j++) {
        dot = fma(yr[j], g[j], dot);
    }
    dot += hsum8(acc);
    j = 0;
    for (; j + 8 <= l; j += 8) {
        vstore8(scale * vload8(0, yr + j) * (vload8(0, g + j) - dot), 0, d + j);
    }
    for (; j < l; j++) {
        d[j] = scale * yr[j] * (g[j] - dot);
    }
#else
    float dot = 0.0f;
    for (uint j = lid; j < l; j += size) {
        dot = fma(yr[j], g[j], dot);
    }
    dot = group_sum(dot, scratch);
    for (uint j = lid; j < l; j += size) {
        d[j] = scale * yr[j] * (g[j] - dot);
    }
#endif
}

// ---------------------------------------------------------------- cross-entropy

// The max, Σ exp(x − max) and mean of a row of v logits (v = 0 for an ignored row: no loads, and in
// the GPU layout every work-item still reaches every barrier: PoCL miscompiles a return before a
// barrier even when the whole work-group takes it, giving wrong sums or hanging).
#ifdef CHUNKED
inline float3 ce_stats(__global const float *xr, uint v, __local float *scratch) {
    // max and plain sum in one pass, then the exp-sum (the row is in L2 by then)
    float8 m8 = (float8)(-INFINITY);
    float8 a8 = (float8)(0.0f);
    uint j = 0;
    for (; j + 8 <= v; j += 8) {
        float8 x = vload8(0, xr + j);
        m8 = fmax(m8, x);
        a8 += x;
    }
    float m = -INFINITY;
    float a = 0.0f;
    for (; j < v; j++) {
        m = fmax(m, xr[j]);
        a += xr[j];
    }
    m = fmax(hmax8(m8), m);
    float8 s8 = (float8)(0.0f);
    j = 0;
    for (; j + 8 <= v; j += 8) {
        s8 += exp(vload8(0, xr + j) - m);
    }
    float sum = 0.0f;
    for (; j < v; j++) {
        sum += exp(xr[j] - m);
    }
    return (float3)(m, hsum8(s8) + sum, (hsum8(a8) + a) / (float)v);
}
#else
inline float3 ce_stats(__global const float *xr, uint v, __local float *scratch) {
    uint lid = get_local_id(0);
    uint size = get_local_size(0);
    float m = -INFINITY;
    float s = 0.0f;
    for (uint j = lid; j < v; j += size) {
        float xj = xr[j];
        m = fmax(m, xj);
        s += xj;
    }
    m = group_max(m, scratch);
    float mean = group_sum(s, scratch) / (float)v;
    float sum = 0.0f;
    for (uint j = lid; j < v; j += size) {
        sum += exp(xr[j] - m);
    }
    return (float3)(m, group_sum(sum, scratch), mean);
}
#endif

// (N,V) loss[n] = log Σ exp(x) − (1−ε)·x[t] − ε·mean(x), 0 where t = ignore.
// GPU: a work-group per row, global (N·G), local (G). CPU: a row each, global (N rounded up).
__kernel void cross_entropy_forward(__global const float *logits, const ulong logits_off, __global const int *targets,
                                    const ulong targets_off, __global float *losses, const ulong losses_off,
                                    const uint n, const uint v, const float smoothing, const int ignore,
                                    __local float *scratch) {
    logits += logits_off;
    targets += targets_off;
    losses += losses_off;
#ifdef CHUNKED
    uint row = get_global_id(0);
    if (row >= n) {
        return;
    }
    uint lid = 0;
#else
    uint row = get_group_id(0);
    uint lid = get_local_id(0);
#endif
    int t = targets[row];
    bool counted = t != ignore;
    __global const float *xr = logits + (ulong)row * v;
    float3 st = ce_stats(xr, counted ? v : 0, scratch);
    if (lid == 0) {
        // (max − x[t]) + log Σ + ε·(x[t] − mean): the definition regrouped so that no large terms
        // cancel (the first two are ≥ 0; with V = 1 every term is exactly 0)
        float xt = counted ? xr[t] : 0.0f;
        float loss = (st.x - xt) + log(st.y);
        loss = smoothing != 0.0f ? fma(smoothing, xt - st.z, loss) : loss;
        losses[row] = counted ? loss : 0.0f;
    }
}

// dlogits[n, j] = g·(p[n, j] − (1−ε)·[j = t] − ε/V), 0 for ignored rows; written; dlogits may be
// logits (each element is read, then written, by one work-item). Geometry as cross_entropy_forward.
__kernel void cross_entropy_backward(__global const float *logits, const ulong logits_off, __global const int *targets,
                                     const ulong targets_off, __global float *dlogits, const ulong dlogits_off,
                                     const uint n, const uint v, const float smoothing, const int ignore,
                                     const float grad, __local float *scratch) {
    logits += logits_off;
    targets += targets_off;
    dlogits += dlogits_off;
#ifdef CHUNKED
    uint row = get_global_id(0);
    if (row >= n) {
        return;
    }
#else
    uint row = get_group_id(0);
    uint lid = get_local_id(0);
    uint size = get_local_size(0);
#endif
    int t = targets[row];
    bool counted = t != ignore;
    __global const float *xr = logits + (ulong)row * v;
    __global float *d = dlogits + (ulong)row * v;
    float off = smoothing / (float)v;
    float hit = 1.0f - smoothing + off;
#ifdef CHUNKED
    uint j = 0;
    if (!counted) {
        for (; j + 8 <= v; j += 8) {
            vstore8((float8)(0.0f), 0, d + j);
        }
        for (; j < v; j++) {
            d[j] = 0.0f;
        }
        return;
    }
    // max; then e = exp(x − max) stored into d and summed (x read before d is written, so in place
    // works); then d = g·(e / Σ − q): one exp per element instead of two
    float m = row_max(xr, v);
    float8 s8 = (float8)(0.0f);
    for (; j + 8 <= v; j += 8) {
        float8 e = exp(vload8(0, xr + j) - m);
        vstore8(e, 0, d + j);
        s8 += e;
    }
    float sum = 0.0f;
    for (; j < v; j++) {
        float e = exp(xr[j] - m);
        d[j] = e;
        sum += e;
    }
    sum += hsum8(s8);
    float et = d[t];
    j = 0;
    for (; j + 8 <= v; j += 8) {
        vstore8(grad * (vload8(0, d + j) / sum - off), 0, d + j);
    }
    for (; j < v; j++) {
        d[j] = grad * (d[j] / sum - off);
    }
    d[t] = grad * (et / sum - hit);
#else
    float3 st = ce_stats(xr, counted ? v : 0, scratch);
    float m = st.x;
    float sum = st.y;
    for (uint j = lid; j < v; j += size) {
        float p = exp(xr[j] - m) / sum;
        d[j] = counted ? grad * (p - (j == (uint)t ? hit : off)) : 0.0f;
    }
#endif
}

// ---------------------------------------------------------------- pooling

// (B,T,C) → (B,C): out[b, :] = mean over t of x[b, t, :] (kind 0, t ascending) or x[b, 0, :] (kind 1).
// GPU: global (C rounded up, B), a column each. CPU: global (C/8 rounded up, B), 8 columns each.
__kernel void pool_forward(__global const float *x, const ulong x_off, __global float *out, const ulong out_off,
                           const uint t, const uint c, const int kind) {
    x += x_off;
    out += out_off;
    uint b = get_global_id(1);
    __global const float *xb = x + (ulong)b * t * c;
    uint tokens = kind == 0 ? t : 1;
#ifdef CHUNKED
    uint j = get_global_id(0) * 8;
    if (j >= c) {
        return;
    }
    if (j + 8 <= c) {
        float8 acc = (float8)(0.0f);
        for (uint i = 0; i < tokens; i++) {
            acc += vload8(0, xb + (ulong)i * c + j);
        }
        vstore8(kind == 0 ? acc / (float)t : acc, 0, out + (ulong)b * c + j);
        return;
    }
    for (; j < c; j++) {
#else
    uint j = get_global_id(0);
    if (j >= c) {
        return;
    }
    {
#endif
        float acc = 0.0f;
        for (uint i = 0; i < tokens; i++) {
            acc += xb[(ulong)i * c + j];
        }
        out[(ulong)b * c + j] = kind == 0 ? acc / (float)t : acc;
    }
}

// dx[b, i, :] += dout[b, :] / T for every token i (kind 0) or for i = 0 (kind 1). Rows q of the
// launch are (b, i) with `per` rows per sequence (T or 1). GPU: global (C rounded up, B·per).
// CPU: a row each, global (B·per rounded up).
__kernel void pool_backward(__global const float *dout, const ulong dout_off, __global float *dx, const ulong dx_off,
                            const uint rows, const uint per, const uint t, const uint c, const int kind) {
    dout += dout_off;
    dx += dx_off;
#ifdef CHUNKED
    uint q = get_global_id(0);
    if (q >= rows) {
        return;
    }
#else
    uint q = get_global_id(1);
#endif
    uint b = q / per;
    __global const float *g = dout + (ulong)b * c;
    __global float *d = dx + ((ulong)b * t + q % per) * c;
#ifdef CHUNKED
    uint j = 0;
    for (; j + 8 <= c; j += 8) {
        float8 gv = vload8(0, g + j);
        vstore8(vload8(0, d + j) + (kind == 0 ? gv / (float)t : gv), 0, d + j);
    }
    for (; j < c; j++) {
#else
    uint j = get_global_id(0);
    if (j < c) {
#endif
        d[j] += kind == 0 ? g[j] / (float)t : g[j];
    }
}

// ---------------------------------------------------------------- fused attention
//
// q, out, dout, dq: [B, T, C] (head h in columns h·hs ..); k, v, dk, dv: [B, T, CK] (KV head g in
// columns g·hs .., CK = KVH·hs); lse: [B, NH, T]. Query head h reads KV head h / (NH / KVH). Nothing
// of size T × T: the forward keeps lse = log Σ exp(scale·q_i·k_j) per row, the backward recomputes
// the probabilities exp(scale·q_i·k_j − lse) tile by tile (FlashAttention-2: a dq pass over query
// blocks, a dk/dv pass over key blocks, so no two work-items write one element). Every work-item walks
// its keys (or queries) in ascending order, so every result is the same on every run.

// D_i = dout_i·out_i, the softmax backward's row term (hs products).
static float fused_row_term(__global const float *g, __global const float *o, uint hs) {
    float r = 0.0f;
    for (uint d = 0; d < hs; d++) {
        r = fma(g[d], o[d], r);
    }
    return r;
}

#ifdef CHUNKED
// CPU layout. The keys of a (sequence, KV head) are first packed (fused_attention_pack) into a
// workspace: Kᵀ and Vᵀ as [hs, Tp] (Tp = T rounded up to FA_KB, zero past T), so that a query row's
// scores against FA_KB keys are one float16 accumulated over hs; and K, V as [Tp, W] rows (W = hs
// rounded up to FA_DC, zero padded), so that p·V and ds·K add whole float16s. A work-item holds
// FA_QR query rows × FA_DC output columns in 16 float16 registers; heads wider than FA_DC are done
// FA_DC columns at a time, recomputing the scores (GPT-2 and LLaMA heads are 64 wide: one pass).

#define FA_KB 16
#define FA_QR 4
#define FA_DC 64
#define FA_DV (FA_DC / 16)
#define FA_QC 8

#define FA_LANES ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))

inline float fa_max16(float16 v) {
    float8 a = fmax(v.lo, v.hi);
    float4 b = fmax(a.lo, a.hi);
    float2 c = fmax(b.lo, b.hi);
    return fmax(c.x, c.y);
}

inline float fa_sum16(float16 v) {
    float8 a = v.lo + v.hi;
    float4 b = a.lo + a.hi;
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}

// Lanes j0 + 0..15 that query row i sees: j < T, and j ≤ i when causal.
inline int16 fa_visible(uint j0, uint i, uint t, int causal) {
    int16 j = (int16)((int)j0) + FA_LANES;
    int16 ok = j < (int16)((int)t);
    return causal ? ok & (j <= (int16)((int)i)) : ok;
}

// (B·KVH·Tp/FA_KB) packs FA_KB keys of one KV head: what & 1 Kᵀ, & 2 Vᵀ ([hs, Tp] each), & 4 K, & 8 V
// ([Tp, W] each), all per (b, g) one after the other and zero where j ≥ T or d ≥ hs.
__kernel void fused_attention_pack(__global const float *k, const ulong k_off, __global const float *v, const ulong v_off,
                                   __global float *kt, const ulong kt_off, __global float *vt, const ulong vt_off,
                                   __global float *kp, const ulong kp_off, __global float *vp, const ulong vp_off,
                                   const uint b, const uint t, const uint hs, const uint kvh, const int what) {
    uint tp = (t + FA_KB - 1) / FA_KB * FA_KB;
    uint w = (hs + FA_DC - 1) / FA_DC * FA_DC;
    uint nkb = tp / FA_KB;
    ulong id = get_global_id(0);
    if (id >= (ulong)b * kvh * nkb) {
        return;
    }
    uint j0 = (id % nkb) * FA_KB;
    ulong bg = id / nkb;
    uint g = bg % kvh;
    uint bb = bg / kvh;
    ulong ck = (ulong)kvh * hs;
    __global const float *src[2] = {k + k_off + (ulong)bb * t * ck + g * hs, v + v_off + (ulong)bb * t * ck + g * hs};
    __global float *tr[2] = {kt + kt_off + bg * hs * tp, vt + vt_off + bg * hs * tp};
    __global float *rows[2] = {kp + kp_off + bg * tp * w, vp + vp_off + bg * tp * w};
    for (int x = 0; x < 2; x++) {
        if (what & (1 << x)) {
            for (uint d = 0; d < hs; d++) {
                for (uint jj = 0; jj < FA_KB; jj++) {
                    uint j = j0 + jj;
                    tr[x][(ulong)d * tp + j] = j < t ? src[x][(ulong)j * ck + d] : 0.0f;
                }
            }
        }
        if (what & (4 << x)) {
            for (uint jj = 0; jj < FA_KB; jj++) {
                uint j = j0 + jj;
                for (uint d = 0; d < w; d++) {
                    rows[x][(ulong)j * w + d] = j < t && d < hs ? src[x][(ulong)j * ck + d] : 0.0f;
                }
            }
        }
    }
}

// Adds (add) or stores FA_DC columns d0.. of a result row, at most hs − d0 of them.
inline void fa_store_row(__global float *o, float16 *acc, float f, uint n, int add) {
    if (n == FA_DC) {
        for (int u = 0; u < FA_DV; u++) {
            float16 x = acc[u] * f;
            vstore16(add ? x + vload16(u, o) : x, u, o);
        }
        return;
    }
    float tmp[FA_DC];
    for (int u = 0; u < FA_DV; u++) {
        vstore16(acc[u] * f, u, tmp);
    }
    for (uint x = 0; x < n; x++) {
        o[x] = add ? o[x] + tmp[x] : tmp[x];
    }
}

// acc[r] += Σ_kk wt[r][kk]·rows[kk] over FA_KB packed rows (stride w), FA_DC columns: p·V or ds·K.
// A macro, not a function: passed as arrays, wt and acc left registers on PoCL (forward 20-40% slower).
// The packed rows are 64-byte aligned (workspaces at offset 0, rows of 64·k floats): read as float16
// pointers, since PoCL splits a vload16 of unknown alignment in two.
#define FA_ADD_ROWS(acc, wt, rows, w)                                                     \
    _Pragma("unroll") for (int kk = 0; kk < FA_KB; kk++) {                                \
        float16 rv[FA_DV];                                                                \
        _Pragma("unroll") for (int u = 0; u < FA_DV; u++) {                               \
            rv[u] = ((__global const float16 *)((rows) + (ulong)kk * (w)))[u];            \
        }                                                                                 \
        _Pragma("unroll") for (int r = 0; r < FA_QR; r++) {                               \
            float16 x = (float16)((wt)[r][kk]);                                           \
            _Pragma("unroll") for (int u = 0; u < FA_DV; u++) {                           \
                (acc)[r][u] = fma(x, rv[u], (acc)[r][u]);                                 \
            }                                                                             \
        }                                                                                 \
    }

// The FA_QR query rows i0 .. of head h in sequence bb that work-item id of the forward or dq pass
// takes; hs, Tp and W as packed; bg the (sequence, KV head) whose packed keys it reads.
typedef struct {
    uint i0, h, bb, hs, tp, w;
    ulong bg;
} fa_rows;

inline fa_rows fa_locate(ulong id, uint t, uint c, uint nh, uint ck) {
    uint nq = (t + FA_QR - 1) / FA_QR;
    fa_rows x;
    x.i0 = (id % nq) * FA_QR;
    x.h = (id / nq) % nh;
    x.bb = id / ((ulong)nq * nh);
    x.hs = c / nh;
    x.tp = (t + FA_KB - 1) / FA_KB * FA_KB;
    x.w = (x.hs + FA_DC - 1) / FA_DC * FA_DC;
    uint kvh = ck / x.hs;
    x.bg = (ulong)x.bb * kvh + x.h / (nh / kvh);
    return x;
}

// (B·NH·⌈T/FA_QR⌉) the forward of FA_QR query rows of head h: scores against FA_KB keys at a time
// from Kᵀ, the online softmax (running maximum m and sum l per row, the accumulators rescaled when
// m rises), then p·V from the packed V rows.
__kernel void fused_attention_forward(__global const float *q, const ulong q_off, __global const float *kt, const ulong kt_off,
                                      __global const float *vp, const ulong vp_off, __global float *out, const ulong out_off,
                                      __global float *lse, const ulong lse_off, const uint b, const uint t, const uint c,
                                      const uint nh, const uint ck, const float scale, const int causal) {
    ulong id = get_global_id(0);
    if (id >= (ulong)b * nh * ((t + FA_QR - 1) / FA_QR)) {
        return;
    }
    fa_rows x = fa_locate(id, t, c, nh, ck);
    uint i0 = x.i0, h = x.h, bb = x.bb, hs = x.hs, tp = x.tp, w = x.w;
    ulong bg = x.bg;
    __global const float *ktb = kt + kt_off + bg * hs * tp;
    __global const float *vpb = vp + vp_off + bg * tp * w;
    __global const float *qr[FA_QR];
    for (int r = 0; r < FA_QR; r++) {
        qr[r] = q + q_off + ((ulong)bb * t + min(i0 + r, t - 1)) * c + h * hs;
    }
    uint keys = causal ? min(i0 + FA_QR, t) : t;
    for (uint d0 = 0; d0 < w; d0 += FA_DC) {
        float16 acc[FA_QR][FA_DV];
        float m[FA_QR];
        float l[FA_QR];
#pragma unroll
        for (int r = 0; r < FA_QR; r++) {
            m[r] = -INFINITY;
            l[r] = 0.0f;
#pragma unroll
            for (int u = 0; u < FA_DV; u++) {
                acc[r][u] = (float16)(0.0f);
            }
        }
        for (uint j0 = 0; j0 < keys; j0 += FA_KB) {
            float16 s[FA_QR];
#pragma unroll
            for (int r = 0; r < FA_QR; r++) {
                s[r] = (float16)(0.0f);
            }
            for (uint d = 0; d < hs; d++) {
                float16 kv = vload16(0, ktb + (ulong)d * tp + j0);
#pragma unroll
                for (int r = 0; r < FA_QR; r++) {
                    s[r] = fma((float16)(qr[r][d]), kv, s[r]);
                }
            }
            float ps[FA_QR][FA_KB];
#pragma unroll
            for (int r = 0; r < FA_QR; r++) {
                float16 sr = select((float16)(-INFINITY), s[r] * scale, fa_visible(j0, i0 + r, t, causal));
                float mn = fmax(m[r], fa_max16(sr));
                float f = exp(m[r] - mn);
                float16 p = exp(sr - mn);
                l[r] = fma(l[r], f, fa_sum16(p));
                m[r] = mn;
#pragma unroll
                for (int u = 0; u < FA_DV; u++) {
                    acc[r][u] *= f;
                }
                vstore16(p, 0, ps[r]);
            }
            FA_ADD_ROWS(acc, ps, vpb + (ulong)j0 * w + d0, w);
        }
        for (int r = 0; r < FA_QR; r++) {
            uint i = i0 + r;
            if (i < t) {
                fa_store_row(out + out_off + ((ulong)bb * t + i) * c + h * hs + d0, acc[r], 1.0f / l[r], min((uint)FA_DC, hs - d0), 0);
                if (d0 == 0) {
                    lse[lse_off + ((ulong)bb * nh + h) * t + i] = m[r] + log(l[r]);
                }
            }
        }
    }
}

// (B·NH·⌈T/FA_QR⌉) dq of FA_QR query rows: per FA_KB keys the scores (Kᵀ) and dout·v_j (Vᵀ), then
// ds = scale·p·(dout_i·v_j − D_i) with p = exp(scale·s − lse_i), and dq_i += Σ_j ds_ij·k_j (K rows).
// Also keeps D_i in rt ([B, NH, T]) for the dk/dv pass.
__kernel void fused_attention_backward_query(__global const float *dout, const ulong g_off, __global const float *q,
                                             const ulong q_off, __global const float *kt, const ulong kt_off,
                                             __global const float *vt, const ulong vt_off, __global const float *kp,
                                             const ulong kp_off, __global const float *out, const ulong out_off,
                                             __global const float *lse, const ulong lse_off, __global float *dq,
                                             const ulong dq_off, __global float *rt, const ulong rt_off, const uint b,
                                             const uint t, const uint c, const uint nh, const uint ck, const float scale,
                                             const int causal) {
    ulong id = get_global_id(0);
    if (id >= (ulong)b * nh * ((t + FA_QR - 1) / FA_QR)) {
        return;
    }
    fa_rows x = fa_locate(id, t, c, nh, ck);
    uint i0 = x.i0, h = x.h, bb = x.bb, hs = x.hs, tp = x.tp, w = x.w;
    ulong bg = x.bg;
    __global const float *ktb = kt + kt_off + bg * hs * tp;
    __global const float *vtb = vt + vt_off + bg * hs * tp;
    __global const float *kpb = kp + kp_off + bg * tp * w;
    __global const float *qr[FA_QR];
    __global const float *gr[FA_QR];
    float rowTerm[FA_QR];
    float rowLse[FA_QR];
    for (int r = 0; r < FA_QR; r++) {
        uint i = min(i0 + r, t - 1);
        ulong row = ((ulong)bb * t + i) * c + h * hs;
        qr[r] = q + q_off + row;
        gr[r] = dout + g_off + row;
        rowTerm[r] = fused_row_term(gr[r], out + out_off + row, hs);
        rowLse[r] = lse[lse_off + ((ulong)bb * nh + h) * t + i];
        if (i0 + r < t) {
            rt[rt_off + ((ulong)bb * nh + h) * t + i] = rowTerm[r];
        }
    }
    uint keys = causal ? min(i0 + FA_QR, t) : t;
    for (uint d0 = 0; d0 < w; d0 += FA_DC) {
        float16 acc[FA_QR][FA_DV];
#pragma unroll
        for (int r = 0; r < FA_QR; r++) {
#pragma unroll
            for (int u = 0; u < FA_DV; u++) {
                acc[r][u] = (float16)(0.0f);
            }
        }
        for (uint j0 = 0; j0 < keys; j0 += FA_KB) {
            float16 s[FA_QR];
            float16 dp[FA_QR];
#pragma unroll
            for (int r = 0; r < FA_QR; r++) {
                s[r] = (float16)(0.0f);
                dp[r] = (float16)(0.0f);
            }
            for (uint d = 0; d < hs; d++) {
                float16 kv = vload16(0, ktb + (ulong)d * tp + j0);
                float16 vv = vload16(0, vtb + (ulong)d * tp + j0);
#pragma unroll
                for (int r = 0; r < FA_QR; r++) {
                    s[r] = fma((float16)(qr[r][d]), kv, s[r]);
                    dp[r] = fma((float16)(gr[r][d]), vv, dp[r]);
                }
            }
            float dss[FA_QR][FA_KB];
#pragma unroll
            for (int r = 0; r < FA_QR; r++) {
                float16 p = exp(s[r] * scale - rowLse[r]);
                float16 ds = select((float16)(0.0f), p * (dp[r] - rowTerm[r]) * scale, fa_visible(j0, i0 + r, t, causal));
                vstore16(ds, 0, dss[r]);
            }
            FA_ADD_ROWS(acc, dss, kpb + (ulong)j0 * w + d0, w);
        }
        for (int r = 0; r < FA_QR; r++) {
            uint i = i0 + r;
            if (i < t) {
                fa_store_row(dq + dq_off + ((ulong)bb * t + i) * c + h * hs + d0, acc[r], 1.0f, min((uint)FA_DC, hs - d0), 1);
            }
        }
    }
}

// (B·KVH·Tp/FA_KB) dk and dv of FA_KB keys of KV head g: over the group's query heads in ascending
// order and the query rows that see a key of the block (i ≥ j0 when causal), FA_QC rows at a time, p
// and ds as in the dq pass (D_i from its rt), then dvᵀ[d] += Σ_i dout_i[d]·p_i and dkᵀ[d] += Σ_i q_i[d]·ds_i, 16 keys
// per float16, in this work-item's slice of acc (2·hs·FA_KB floats); added to dk, dv at the end.
__kernel void fused_attention_backward_key(__global const float *dout, const ulong g_off, __global const float *q,
                                           const ulong q_off, __global const float *kt, const ulong kt_off,
                                           __global const float *vt, const ulong vt_off, __global const float *rt,
                                           const ulong rt_off, __global const float *lse, const ulong lse_off,
                                           __global float *dk, const ulong dk_off, __global float *dv, const ulong dv_off,
                                           __global float *acc, const ulong acc_off, const uint b, const uint t,
                                           const uint c, const uint nh, const uint ck, const float scale,
                                           const int causal) {
    uint hs = c / nh;
    uint kvh = ck / hs;
    uint tp = (t + FA_KB - 1) / FA_KB * FA_KB;
    uint nkb = tp / FA_KB;
    ulong id = get_global_id(0);
    if (id >= (ulong)b * kvh * nkb) {
        return;
    }
    uint j0 = (id % nkb) * FA_KB;
    ulong bg = id / nkb;
    uint g = bg % kvh;
    uint bb = bg / kvh;
    uint group = nh / kvh;
    __global const float *ktb = kt + kt_off + bg * hs * tp;
    __global const float *vtb = vt + vt_off + bg * hs * tp;
    // float16 pointers: the slice is 64-byte aligned (a workspace at offset 0, slices of 16·k floats), and
    // PoCL splits vstore16 to memory of unknown alignment into three stores
    __global float16 *dvt = (__global float16 *)(acc + acc_off + id * 2 * hs * FA_KB);
    __global float16 *dkt = dvt + hs;
    for (uint d = 0; d < 2 * hs; d++) {
        dvt[d] = (float16)(0.0f);
    }
    for (uint h = g * group; h < (g + 1) * group; h++) {
        for (uint i0 = causal ? j0 : 0; i0 < t; i0 += FA_QC) {
            __global const float *qi[FA_QC];
            __global const float *gi[FA_QC];
            float16 s[FA_QC];
            float16 dp[FA_QC];
#pragma unroll
            for (int ii = 0; ii < FA_QC; ii++) {
                ulong row = ((ulong)bb * t + min(i0 + ii, t - 1)) * c + h * hs;
                qi[ii] = q + q_off + row;
                gi[ii] = dout + g_off + row;
                s[ii] = (float16)(0.0f);
                dp[ii] = (float16)(0.0f);
            }
            for (uint d = 0; d < hs; d++) {
                float16 kv = vload16(0, ktb + (ulong)d * tp + j0);
                float16 vv = vload16(0, vtb + (ulong)d * tp + j0);
#pragma unroll
                for (int ii = 0; ii < FA_QC; ii++) {
                    s[ii] = fma((float16)(qi[ii][d]), kv, s[ii]);
                    dp[ii] = fma((float16)(gi[ii][d]), vv, dp[ii]);
                }
            }
#pragma unroll
            for (int ii = 0; ii < FA_QC; ii++) {
                uint i = i0 + ii;
                if (i < t) {
                    ulong row = ((ulong)bb * nh + h) * t + i;
                    float rowTerm = rt[rt_off + row];
                    float16 p = select((float16)(0.0f), exp(s[ii] * scale - lse[lse_off + row]), fa_visible(j0, i, t, causal));
                    s[ii] = p;
                    dp[ii] = p * (dp[ii] - rowTerm) * scale;
                } else {
                    s[ii] = (float16)(0.0f);
                    dp[ii] = (float16)(0.0f);
                }
            }
            for (uint d = 0; d < hs; d++) {
                float16 av = dvt[d];
                float16 ak = dkt[d];
#pragma unroll
                for (int ii = 0; ii < FA_QC; ii++) {
                    av = fma((float16)(gi[ii][d]), s[ii], av);
                    ak = fma((float16)(qi[ii][d]), dp[ii], ak);
                }
                dvt[d] = av;
                dkt[d] = ak;
            }
        }
    }
    for (uint jj = 0; jj < FA_KB && j0 + jj < t; jj++) {
        ulong kv = ((ulong)bb * t + j0 + jj) * ck + g * hs;
        for (uint d = 0; d < hs; d++) {
            dv[dv_off + kv + d] += ((__global const float *)dvt)[d * FA_KB + jj];
            dk[dk_off + kv + d] += ((__global const float *)dkt)[d * FA_KB + jj];
        }
    }
}

#else
// GPU layout. A work-group per (sequence, head, block of query rows) or, for dk and dv, per (sequence,
// KV head, block of key rows), a work-item per row. The other side's rows are staged in local memory
// tk at a time (tk ≤ FG_K, chosen by the host to fit). A work-item holds FG_D result columns in
// private memory; heads wider than FG_D are done FG_D columns at a time, recomputing the scores.

#define FG_K 32
#define FG_D 64

// Copies rows j0 .. j0 + tk of src (row stride ck, columns d0 .. d0 + n) into dst as [tk, n], zero past last.
inline void fg_stage(__local float *dst, __global const float *src, uint j0, uint tk, uint last, ulong ck, uint d0, uint n) {
    for (uint x = get_local_id(0); x < tk * n; x += get_local_size(0)) {
        uint j = j0 + x / n;
        dst[x] = j < last ? src[(ulong)j * ck + d0 + x % n] : 0.0f;
    }
}

// (B·NH·⌈T/BQ⌉ work-groups of BQ) query row i: over tiles of tk keys (staged K, and V's columns of the
// pass), the scores, the online softmax (one rescale per tile), the tile's p·V.
__kernel void fused_attention_forward(__global const float *q, const ulong q_off, __global const float *k, const ulong k_off,
                                      __global const float *v, const ulong v_off, __global float *out, const ulong out_off,
                                      __global float *lse, const ulong lse_off, const uint b, const uint t, const uint c,
                                      const uint nh, const uint ck, const float scale, const int causal, const uint tk,
                                      __local float *kl, __local float *vl) {
    uint bq = get_local_size(0);
    uint nq = (t + bq - 1) / bq;
    uint grp = get_group_id(0);
    uint qb = grp % nq;
    uint h = (grp / nq) % nh;
    uint bb = grp / (nq * nh);
    uint i = qb * bq + get_local_id(0);
    uint ir = min(i, t - 1);
    uint hs = c / nh;
    uint group = nh / (ck / hs);
    __global const float *qi = q + q_off + ((ulong)bb * t + ir) * c + h * hs;
    __global const float *kb = k + k_off + (ulong)bb * t * ck + (h / group) * hs;
    __global const float *vb = v + v_off + (ulong)bb * t * ck + (h / group) * hs;
    uint keys = causal ? min(qb * bq + bq, t) : t;
    for (uint d0 = 0; d0 < hs; d0 += FG_D) {
        uint dn = min((uint)FG_D, hs - d0);
        float o[FG_D];
        for (uint d = 0; d < FG_D; d++) {
            o[d] = 0.0f;
        }
        float m = -INFINITY;
        float l = 0.0f;
        for (uint j0 = 0; j0 < keys; j0 += tk) {
            barrier(CLK_LOCAL_MEM_FENCE);
            fg_stage(kl, kb, j0, tk, keys, ck, 0, hs);
            fg_stage(vl, vb, j0, tk, keys, ck, d0, dn);
            barrier(CLK_LOCAL_MEM_FENCE);
            float s[FG_K];
            float mx = -INFINITY;
            for (uint jj = 0; jj < tk; jj++) {
                uint j = j0 + jj;
                float x = 0.0f;
                for (uint d = 0; d < hs; d++) {
                    x = fma(qi[d], kl[jj * hs + d], x);
                }
                s[jj] = j < t && (!causal || j <= ir) ? x * scale : -INFINITY;
                mx = fmax(mx, s[jj]);
            }
            float mn = fmax(m, mx);
            float f = exp(m - mn);
            l *= f;
            for (uint d = 0; d < dn; d++) {
                o[d] *= f;
            }
            for (uint jj = 0; jj < tk; jj++) {
                float p = exp(s[jj] - mn);
                l += p;
                for (uint d = 0; d < dn; d++) {
                    o[d] = fma(p, vl[jj * dn + d], o[d]);
                }
            }
            m = mn;
        }
        if (i < t) {
            __global float *od = out + out_off + ((ulong)bb * t + i) * c + h * hs + d0;
            float inv = 1.0f / l;
            for (uint d = 0; d < dn; d++) {
                od[d] = o[d] * inv;
            }
            if (d0 == 0) {
                lse[lse_off + ((ulong)bb * nh + h) * t + i] = m + log(l);
            }
        }
    }
}

// (B·NH·⌈T/BQ⌉ work-groups of BQ) dq_i += scale·Σ_j p_ij·(dout_i·v_j − D_i)·k_j, K and V staged per tile.
__kernel void fused_attention_backward_query(__global const float *dout, const ulong g_off, __global const float *q,
                                             const ulong q_off, __global const float *k, const ulong k_off,
                                             __global const float *v, const ulong v_off, __global const float *out,
                                             const ulong out_off, __global const float *lse, const ulong lse_off,
                                             __global float *dq, const ulong dq_off, const uint b, const uint t,
                                             const uint c, const uint nh, const uint ck, const float scale,
                                             const int causal, const uint tk, __local float *kl, __local float *vl) {
    uint bq = get_local_size(0);
    uint nq = (t + bq - 1) / bq;
    uint grp = get_group_id(0);
    uint qb = grp % nq;
    uint h = (grp / nq) % nh;
    uint bb = grp / (nq * nh);
    uint i = qb * bq + get_local_id(0);
    uint ir = min(i, t - 1);
    uint hs = c / nh;
    uint group = nh / (ck / hs);
    ulong row = ((ulong)bb * t + ir) * c + h * hs;
    __global const float *qi = q + q_off + row;
    __global const float *gi = dout + g_off + row;
    __global const float *kb = k + k_off + (ulong)bb * t * ck + (h / group) * hs;
    __global const float *vb = v + v_off + (ulong)bb * t * ck + (h / group) * hs;
    float rowTerm = fused_row_term(gi, out + out_off + row, hs);
    float rowLse = lse[lse_off + ((ulong)bb * nh + h) * t + ir];
    uint keys = causal ? min(qb * bq + bq, t) : t;
    for (uint d0 = 0; d0 < hs; d0 += FG_D) {
        uint dn = min((uint)FG_D, hs - d0);
        float a[FG_D];
        for (uint d = 0; d < FG_D; d++) {
            a[d] = 0.0f;
        }
        for (uint j0 = 0; j0 < keys; j0 += tk) {
            barrier(CLK_LOCAL_MEM_FENCE);
            fg_stage(kl, kb, j0, tk, keys, ck, 0, hs);
            fg_stage(vl, vb, j0, tk, keys, ck, 0, hs);
            barrier(CLK_LOCAL_MEM_FENCE);
            for (uint jj = 0; jj < tk; jj++) {
                uint j = j0 + jj;
                if (j < t && (!causal || j <= ir)) {
                    float x = 0.0f;
                    float dp = 0.0f;
                    for (uint d = 0; d < hs; d++) {
                        x = fma(qi[d], kl[jj * hs + d], x);
                        dp = fma(gi[d], vl[jj * hs + d], dp);
                    }
                    float ds = scale * exp(scale * x - rowLse) * (dp - rowTerm);
                    for (uint d = 0; d < dn; d++) {
                        a[d] = fma(ds, kl[jj * hs + d0 + d], a[d]);
                    }
                }
            }
        }
        if (i < t) {
            __global float *dqi = dq + dq_off + ((ulong)bb * t + i) * c + h * hs + d0;
            for (uint d = 0; d < dn; d++) {
                dqi[d] += a[d];
            }
        }
    }
}

// (B·KVH·⌈T/BQ⌉ work-groups of BQ) key row j of KV head g: over the group's query heads in ascending
// order and tiles of tk query rows (q, dout, lse and D_i staged), dv_j += p_ij·dout_i and
// dk_j += scale·p_ij·(dout_i·v_j − D_i)·q_i.
__kernel void fused_attention_backward_key(__global const float *dout, const ulong g_off, __global const float *q,
                                           const ulong q_off, __global const float *k, const ulong k_off,
                                           __global const float *v, const ulong v_off, __global const float *out,
                                           const ulong out_off, __global const float *lse, const ulong lse_off,
                                           __global float *dk, const ulong dk_off, __global float *dv, const ulong dv_off,
                                           const uint b, const uint t, const uint c, const uint nh, const uint ck,
                                           const float scale, const int causal, const uint tk, __local float *ql,
                                           __local float *gl) {
    uint hs = c / nh;
    uint kvh = ck / hs;
    uint bk = get_local_size(0);
    uint nk = (t + bk - 1) / bk;
    uint grp = get_group_id(0);
    uint kb = grp % nk;
    uint g = (grp / nk) % kvh;
    uint bb = grp / (nk * kvh);
    uint lid = get_local_id(0);
    uint j = kb * bk + lid;
    uint jr = min(j, t - 1);
    uint group = nh / kvh;
    ulong kv = ((ulong)bb * t + jr) * ck + g * hs;
    __global const float *kj = k + k_off + kv;
    __global const float *vj = v + v_off + kv;
    // per staged row: its lse and D_i after the tk·hs floats of q (ql) and of dout (gl)
    __local float *lsel = ql + tk * hs;
    __local float *rtl = gl + tk * hs;
    for (uint d0 = 0; d0 < hs; d0 += FG_D) {
        uint dn = min((uint)FG_D, hs - d0);
        float av[FG_D];
        float ak[FG_D];
        for (uint d = 0; d < FG_D; d++) {
            av[d] = 0.0f;
            ak[d] = 0.0f;
        }
        for (uint h = g * group; h < (g + 1) * group; h++) {
            __global const float *qh = q + q_off + (ulong)bb * t * c + h * hs;
            __global const float *gh = dout + g_off + (ulong)bb * t * c + h * hs;
            __global const float *oh = out + out_off + (ulong)bb * t * c + h * hs;
            for (uint i0 = causal ? kb * bk : 0; i0 < t; i0 += tk) {
                barrier(CLK_LOCAL_MEM_FENCE);
                fg_stage(ql, qh, i0, tk, t, c, 0, hs);
                fg_stage(gl, gh, i0, tk, t, c, 0, hs);
                for (uint x = lid; x < tk; x += bk) {
                    uint i = min(i0 + x, t - 1);
                    lsel[x] = lse[lse_off + ((ulong)bb * nh + h) * t + i];
                    rtl[x] = fused_row_term(gh + (ulong)i * c, oh + (ulong)i * c, hs);
                }
                barrier(CLK_LOCAL_MEM_FENCE);
                for (uint ii = 0; ii < tk; ii++) {
                    uint i = i0 + ii;
                    if (i < t && (!causal || jr <= i)) {
                        float x = 0.0f;
                        float dp = 0.0f;
                        for (uint d = 0; d < hs; d++) {
                            x = fma(ql[ii * hs + d], kj[d], x);
                            dp = fma(gl[ii * hs + d], vj[d], dp);
                        }
                        float p = exp(scale * x - lsel[ii]);
                        float ds = scale * p * (dp - rtl[ii]);
                        for (uint d = 0; d < dn; d++) {
                            av[d] = fma(p, gl[ii * hs + d0 + d], av[d]);
                            ak[d] = fma(ds, ql[ii * hs + d0 + d], ak[d]);
                        }
                    }
                }
            }
        }
        if (j < t) {
            for (uint d = 0; d < dn; d++) {
                dv[dv_off + kv + d0 + d] += av[d];
                dk[dk_off + kv + d0 + d] += ak[d];
            }
        }
    }
}
#endif
