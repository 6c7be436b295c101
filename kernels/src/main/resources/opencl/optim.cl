// Op family "optim": what a training step does to its parameters on the device. Every buffer
// argument is followed by its element offset (views). Reductions are two-pass with a fixed launch
// geometry per size, so a device's result does not depend on timing.
#pragma OPENCL FP_CONTRACT OFF

// One AdamW update per element; the gradient is multiplied by scale[0] when has_scale.
__kernel void adamw(__global float *p, const ulong p_off, __global const float *g, const ulong g_off,
                    __global float *m, const ulong m_off, __global float *v, const ulong v_off,
                    __global const float *scale, const ulong scale_off, const int has_scale, const ulong n,
                    const float lr, const float b1, const float b2, const float eps, const float wd,
                    const float ic1, const float ic2) {
    p += p_off;
    g += g_off;
    m += m_off;
    v += v_off;
    scale += scale_off;
    ulong i = get_global_id(0);
    if (i >= n) {
        return;
    }
    float f = has_scale ? scale[0] : 1.0f;
    float gi = g[i] * f;
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float pi = p[i];
    p[i] = pi - lr * ((mi * ic1) / (sqrt(vi * ic2) + eps) + wd * pi);
}

// Partial reductions: work-group g covers elements [g*span, (g+1)*span), each work-item a strided
// walk of it, then a tree in local memory. mode 0: sum of squares; mode 1: max of absolute values.
__kernel void reduce_partial(__global const float *x, const ulong x_off, __global float *partial,
                             const ulong partial_off, const ulong n, const ulong span, const int mode,
                             __local float *scratch) {
    x += x_off;
    partial += partial_off;
    uint l = get_local_id(0);
    uint size = get_local_size(0);
    ulong start = (ulong)get_group_id(0) * span;
    ulong end = min(n, start + span);
    float acc = 0.0f;
    for (ulong i = start + l; i < end; i += size) {
        float xi = x[i];
        acc = mode == 0 ? fma(xi, xi, acc) : fmax(acc, fabs(xi));
    }
    scratch[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = size / 2; s > 0; s /= 2) {
        if (l < s) {
            scratch[l] = mode == 0 ? scratch[l] + scratch[l + s] : fmax(scratch[l], scratch[l + s]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) {
        partial[get_group_id(0)] = scratch[0];
    }
}

// The same partials on CPU devices: work-item g reduces the contiguous range [g*span, (g+1)*span)
// with two float8 accumulators (their lanes combined in lane order), no local memory and no barrier;
// PoCL runs each work-item as vector code over a streaming range instead of a strided walk and a tree.
__kernel void reduce_chunks(__global const float *x, const ulong x_off, __global float *partial,
                            const ulong partial_off, const ulong n, const ulong span, const int mode) {
    x += x_off;
    partial += partial_off;
    ulong g = get_global_id(0);
    ulong start = g * span;
    ulong end = min(n, start + span);
    float8 a0 = (float8)(0.0f);
    float8 a1 = (float8)(0.0f);
    ulong i = start;
    for (; i + 16 <= end; i += 16) {
        float8 v0 = vload8(0, x + i);
        float8 v1 = vload8(0, x + i + 8);
        a0 = mode == 0 ? fma(v0, v0, a0) : fmax(a0, fabs(v0));
        a1 = mode == 0 ? fma(v1, v1, a1) : fmax(a1, fabs(v1));
    }
    float8 a = mode == 0 ? a0 + a1 : fmax(a0, a1);
    float acc = 0.0f;
    float lanes[8] = {a.s0, a.s1, a.s2, a.s3, a.s4, a.s5, a.s6, a.s7};
    for (int l = 0; l < 8; l++) {
        acc = mode == 0 ? acc + lanes[l] : fmax(acc, lanes[l]);
    }
    for (; i < end; i++) {
        float xi = x[i];
        acc = mode == 0 ? fma(xi, xi, acc) : fmax(acc, fabs(xi));
    }
    partial[g] = acc;
}

// One work-item: mode 0 adds the partials in order to out[0]; mode 1 writes their maximum to out[0].
__kernel void reduce_final(__global const float *partial, const ulong partial_off, __global float *out,
                           const ulong out_off, const uint groups, const int mode) {
    partial += partial_off;
    out += out_off;
    if (get_global_id(0) != 0) {
        return;
    }
    float acc = 0.0f;
    for (uint g = 0; g < groups; g++) {
        acc = mode == 0 ? acc + partial[g] : fmax(acc, partial[g]);
    }
    out[0] = mode == 0 ? out[0] + acc : acc;
}

// factor[0] = min(1, max_norm / (sqrt(sum[0]) + 1e-6)), NaN for a non-finite sum.
__kernel void clip_factor(__global const float *sum, const ulong sum_off, __global float *factor,
                          const ulong factor_off, const float max_norm) {
    sum += sum_off;
    factor += factor_off;
    if (get_global_id(0) != 0) {
        return;
    }
    float ss = sum[0];
    factor[0] = isfinite(ss) ? fmin(1.0f, max_norm / (sqrt(ss) + 1e-6f)) : NAN;
}

// out[i] = clamp(round_half_up(x[i] / step), -levels, levels) * step with step = max[0] / levels.
__kernel void fake_quantize(__global const float *x, const ulong x_off, __global float *out, const ulong out_off,
                            __global const float *max, const ulong max_off, const ulong n, const int levels) {
    x += x_off;
    out += out_off;
    max += max_off;
    ulong i = get_global_id(0);
    if (i >= n) {
        return;
    }
    float step = max[0] / (float)levels;
    if (!(step > 0.0f)) {
        out[i] = 0.0f;
        return;
    }
    float t = x[i] / step;
    float q = floor(t);
    if (t - q >= 0.5f) {
        q += 1.0f;
    }
    q = clamp(q, (float)-levels, (float)levels);
    out[i] = q * step;
}
