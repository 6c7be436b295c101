// Op family "nola": mixing and coefficient gradients, materialised and generated on the fly.
// Needs philox.cl before it. Mixing uses one explicit fma per term in ascending i, so results are
// bit-identical to the reference; gradients are reductions (any order, within tolerance).
#pragma OPENCL FP_CONTRACT OFF

// out[e] = offset[e] (or 0) + sum_i c[i] * basis[i*n + e]; offset may be out.
// One work-item per 4 consecutive elements: 16-byte loads, coalesced across the work-group.
__kernel void mix_basis(__global const float *c, const ulong c_off, __global const float *basis, const ulong basis_off, __global const float *offset, const ulong offset_off,
                  __global float *out, const ulong out_off, const ulong n, const int k, const int has_offset) {
    c += c_off;
    basis += basis_off;
    offset += offset_off;
    out += out_off;
    ulong e = (ulong)get_global_id(0) * 4;
    if (e >= n) {
        return;
    }
    if (e + 4 <= n) {
        float4 acc = has_offset ? vload4(0, offset + e) : (float4)(0.0f);
        for (int i = 0; i < k; i++) {
            acc = fma((float4)(c[i]), vload4(0, basis + (ulong)i * n + e), acc);
        }
        vstore4(acc, 0, out + e);
    } else {
        for (ulong x = e; x < n; x++) {
            float acc = has_offset ? offset[x] : 0.0f;
            for (int i = 0; i < k; i++) {
                acc = fma(c[i], basis[(ulong)i * n + x], acc);
            }
            out[x] = acc;
        }
    }
}

// The CPU layout of mix: work-item t owns the columns [t*tile, min(n, t*tile + tile)) and streams
// every basis row's segment over them, four rows per pass, keeping the running sums in out (the
// tile stays in the core's cache while the rows stream through in address order). Still one fma
// per term in ascending i, so bit-identical to mix_basis. Global: (tiles), local: (1).
__kernel void mix_basis_tiles(__global const float *c, const ulong c_off, __global const float *basis, const ulong basis_off, __global const float *offset, const ulong offset_off,
                              __global float *out, const ulong out_off, const ulong n, const int k, const int has_offset,
                              const uint tile) {
    c += c_off;
    basis += basis_off;
    offset += offset_off;
    out += out_off;
    ulong e0 = (ulong)get_global_id(0) * tile;
    if (e0 >= n) {
        return;
    }
    uint w = (uint)min((ulong)tile, n - e0);
    uint wv = w & ~7u;
    __global float *acc = out + e0;
    for (uint e = 0; e < w; e++) {
        acc[e] = has_offset ? offset[e0 + e] : 0.0f;
    }
    int i = 0;
    for (; i + 4 <= k; i += 4) {
        float8 x0 = (float8)(c[i]);
        float8 x1 = (float8)(c[i + 1]);
        float8 x2 = (float8)(c[i + 2]);
        float8 x3 = (float8)(c[i + 3]);
        __global const float *r0 = basis + (ulong)i * n + e0;
        __global const float *r1 = r0 + n;
        __global const float *r2 = r1 + n;
        __global const float *r3 = r2 + n;
        for (uint e = 0; e < wv; e += 8) {
            float8 a = vload8(0, acc + e);
            a = fma(x0, vload8(0, r0 + e), a);
            a = fma(x1, vload8(0, r1 + e), a);
            a = fma(x2, vload8(0, r2 + e), a);
            a = fma(x3, vload8(0, r3 + e), a);
            vstore8(a, 0, acc + e);
        }
        for (uint e = wv; e < w; e++) {
            float a = acc[e];
            a = fma(c[i], r0[e], a);
            a = fma(c[i + 1], r1[e], a);
            a = fma(c[i + 2], r2[e], a);
            a = fma(c[i + 3], r3[e], a);
            acc[e] = a;
        }
    }
    for (; i < k; i++) {
        float8 x = (float8)(c[i]);
        __global const float *r = basis + (ulong)i * n + e0;
        for (uint e = 0; e < wv; e += 8) {
            vstore8(fma(x, vload8(0, r + e), vload8(0, acc + e)), 0, acc + e);
        }
        for (uint e = wv; e < w; e++) {
            acc[e] = fma(c[i], r[e], acc[e]);
        }
    }
}

// As mix, with basis matrix i generated on the fly: one Philox block per work-item per term.
__kernel void mix_generated(__global const float *c, const ulong c_off, __global const float *offset, const ulong offset_off, __global float *out, const ulong out_off,
                            const ulong n, const int k, const int has_offset,
                            const uint stream, const uint domain, const uint k0, const uint k1, const float scale) {
    c += c_off;
    offset += offset_off;
    out += out_off;
    uint q = get_global_id(0);
    ulong e = (ulong)q * 4;
    if (e >= n) {
        return;
    }
    bool full = e + 4 <= n;
    float4 acc = (float4)(0.0f);
    if (has_offset) {
        if (full) {
            acc = vload4(0, offset + e);
        } else {
            acc.x = offset[e];
            if (e + 1 < n) acc.y = offset[e + 1];
            if (e + 2 < n) acc.z = offset[e + 2];
        }
    }
    for (int i = 0; i < k; i++) {
        float4 v = basis_block(q, (uint)i, stream, domain, k0, k1, scale);
        acc = fma((float4)(c[i]), v, acc);
    }
    if (full) {
        vstore4(acc, 0, out + e);
    } else {
        out[e] = acc.x;
        if (e + 1 < n) out[e + 1] = acc.y;
        if (e + 2 < n) out[e + 2] = acc.z;
    }
}

// The CPU layout of mix_generated: each work-item owns 8 consecutive blocks (32 elements) and
// generates them 8-wide per basis row. Same terms in the same order, so bit-identical.
// Global: (ceil(blocks / 8) rounded up to the work-group size).
__kernel void mix_generated_x8(__global const float *c, const ulong c_off, __global const float *offset, const ulong offset_off, __global float *out, const ulong out_off,
                               const ulong n, const int k, const int has_offset,
                               const uint stream, const uint domain, const uint k0, const uint k1, const float scale) {
    c += c_off;
    offset += offset_off;
    out += out_off;
    uint q = get_global_id(0) * 8;
    ulong e0 = (ulong)q * 4;
    if (e0 >= n) {
        return;
    }
    float buf[32];
    for (int t = 0; t < 32; t++) {
        buf[t] = has_offset && e0 + t < n ? offset[e0 + t] : 0.0f;
    }
    float8 a0 = vload8(0, buf), a1 = vload8(1, buf), a2 = vload8(2, buf), a3 = vload8(3, buf);
    float8 ax = (float8)(a0.s04, a1.s04, a2.s04, a3.s04);
    float8 ay = (float8)(a0.s15, a1.s15, a2.s15, a3.s15);
    float8 az = (float8)(a0.s26, a1.s26, a2.s26, a3.s26);
    float8 aw = (float8)(a0.s37, a1.s37, a2.s37, a3.s37);
    for (int i = 0; i < k; i++) {
        float8 vx, vy, vz, vw;
        basis_blocks8(q, (uint)i, stream, domain, k0, k1, scale, &vx, &vy, &vz, &vw);
        float8 ci = (float8)(c[i]);
        ax = fma(ci, vx, ax);
        ay = fma(ci, vy, ay);
        az = fma(ci, vz, az);
        aw = fma(ci, vw, aw);
    }
    STORE_BLOCKS8(ax, ay, az, aw, buf);
    if (e0 + 32 <= n) {
        for (int t = 0; t < 4; t++) {
            vstore8(vload8(t, buf), t, out + e0);
        }
    } else {
        for (int t = 0; e0 + t < n; t++) {
            out[e0 + t] = buf[t];
        }
    }
}

// The blocks work-item `gid` of `stride` adds up, among `full`: on GPUs neighbouring work-items take
// neighbouring blocks (coalesced loads); on CPUs (built with -DCHUNKED) each work-item takes one
// contiguous range, because a CPU runtime runs a work-item's loop to the end before the next one
// and a strided walk would use 16 bytes of every cache line it loads.
#ifdef CHUNKED
#define FOR_BLOCKS(q, gid, stride, full) \
    uint per_##q = ((full) + (stride) - 1) / (stride); \
    uint end_##q = min((uint)(full), (uint)((gid) * per_##q + per_##q)); \
    for (uint q = (gid) * per_##q; q < end_##q; q++)
#else
#define FOR_BLOCKS(q, gid, stride, full) for (uint q = (gid); q < (full); q += (stride))
#endif

// Tree reduction of one value per work-item in local memory; the work-group size is a power of two.
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
    return scratch[0];
}

// Loads elements 4q .. 4q+3 of v (zeros past n).
inline float4 load_block(__global const float *v, ulong e, ulong n) {
    if (e + 4 <= n) {
        return vload4(0, v + e);
    }
    float4 r = (float4)(0.0f);
    r.x = v[e];
    if (e + 1 < n) r.y = v[e + 1];
    if (e + 2 < n) r.z = v[e + 2];
    return r;
}

// partial[i*G + g] = sum over the blocks that work-group g of row i strides over of basis[i]·grad.
// Global: (G * L, k), local: (L, 1).
__kernel void coefficient_gradient_partial(__global const float *basis, const ulong basis_off, __global const float *grad, const ulong grad_off,
                                           __global float *partial, const ulong partial_off, const ulong n, const uint blocks,
                                           __local float *scratch) {
    basis += basis_off;
    grad += grad_off;
    partial += partial_off;
    uint i = get_global_id(1);
    uint stride = get_global_size(0);
    __global const float *row = basis + (ulong)i * n;
    float4 acc = (float4)(0.0f);
    // Full blocks without a branch in the loop (so PoCL vectorises it), then the ragged last block once.
    uint full = (uint)(n / 4);
    FOR_BLOCKS(q, get_global_id(0), stride, full) {
        acc = fma(vload4(q, row), vload4(q, grad), acc);
    }
    if (full < blocks && get_global_id(0) == 0) {
        ulong e = (ulong)full * 4;
        acc = fma(load_block(row, e, n), load_block(grad, e, n), acc);
    }
    float total = group_sum((acc.x + acc.y) + (acc.z + acc.w), scratch);
    if (get_local_id(0) == 0) {
        partial[(ulong)i * get_num_groups(0) + get_group_id(0)] = total;
    }
}

// As coefficient_gradient_partial with basis row i generated on the fly.
__kernel void coefficient_gradient_generated_partial(__global const float *grad, const ulong grad_off, __global float *partial, const ulong partial_off,
                                                     const ulong n, const uint blocks,
                                                     const uint stream, const uint domain, const uint k0,
                                                     const uint k1, const float scale, __local float *scratch) {
    grad += grad_off;
    partial += partial_off;
    uint i = get_global_id(1);
    uint stride = get_global_size(0);
    float4 acc = (float4)(0.0f);
    uint full = (uint)(n / 4);
    FOR_BLOCKS(q, get_global_id(0), stride, full) {
        acc = fma(basis_block(q, i, stream, domain, k0, k1, scale), vload4(q, grad), acc);
    }
    if (full < blocks && get_global_id(0) == 0) {
        acc = fma(basis_block(full, i, stream, domain, k0, k1, scale), load_block(grad, (ulong)full * 4, n), acc);
    }
    float total = group_sum((acc.x + acc.y) + (acc.z + acc.w), scratch);
    if (get_local_id(0) == 0) {
        partial[(ulong)i * get_num_groups(0) + get_group_id(0)] = total;
    }
}

// The CPU layout of the coefficient gradients when k is large enough to keep every core busy: each
// work-item takes four rows, out[i] = basis[i]·grad in one streaming pass where each load of grad
// serves four rows (two float8 accumulators per row, then a lane sum); no workspace, no second
// pass. Rows past k repeat row k-1 and are not stored. Global: (ceil(k / 4) rounded up to the
// work-group size).
__kernel void coefficient_gradient_rows(__global const float *basis, const ulong basis_off, __global const float *grad, const ulong grad_off,
                                        __global float *out, const ulong out_off, const ulong n, const uint k) {
    basis += basis_off;
    grad += grad_off;
    out += out_off;
    uint i0 = get_global_id(0) * 4;
    if (i0 >= k) {
        return;
    }
    __global const float *r0 = basis + (ulong)i0 * n;
    __global const float *r1 = basis + (ulong)min(i0 + 1, k - 1) * n;
    __global const float *r2 = basis + (ulong)min(i0 + 2, k - 1) * n;
    __global const float *r3 = basis + (ulong)min(i0 + 3, k - 1) * n;
    ulong full = n / 16;
    float8 a0 = (float8)(0.0f), a1 = (float8)(0.0f), a2 = (float8)(0.0f), a3 = (float8)(0.0f);
    float8 b0 = (float8)(0.0f), b1 = (float8)(0.0f), b2 = (float8)(0.0f), b3 = (float8)(0.0f);
    for (ulong q = 0; q < full; q++) {
        float8 g0 = vload8(2 * q, grad);
        float8 g1 = vload8(2 * q + 1, grad);
        a0 = fma(vload8(2 * q, r0), g0, a0);
        b0 = fma(vload8(2 * q + 1, r0), g1, b0);
        a1 = fma(vload8(2 * q, r1), g0, a1);
        b1 = fma(vload8(2 * q + 1, r1), g1, b1);
        a2 = fma(vload8(2 * q, r2), g0, a2);
        b2 = fma(vload8(2 * q + 1, r2), g1, b2);
        a3 = fma(vload8(2 * q, r3), g0, a3);
        b3 = fma(vload8(2 * q + 1, r3), g1, b3);
    }
    float8 s0 = a0 + b0, s1 = a1 + b1, s2 = a2 + b2, s3 = a3 + b3;
    float4 h0 = s0.lo + s0.hi, h1 = s1.lo + s1.hi, h2 = s2.lo + s2.hi, h3 = s3.lo + s3.hi;
    float t0 = (h0.x + h0.y) + (h0.z + h0.w);
    float t1 = (h1.x + h1.y) + (h1.z + h1.w);
    float t2 = (h2.x + h2.y) + (h2.z + h2.w);
    float t3 = (h3.x + h3.y) + (h3.z + h3.w);
    for (ulong e = full * 16; e < n; e++) {
        float g = grad[e];
        t0 = fma(r0[e], g, t0);
        t1 = fma(r1[e], g, t1);
        t2 = fma(r2[e], g, t2);
        t3 = fma(r3[e], g, t3);
    }
    out[i0] = t0;
    if (i0 + 1 < k) out[i0 + 1] = t1;
    if (i0 + 2 < k) out[i0 + 2] = t2;
    if (i0 + 3 < k) out[i0 + 3] = t3;
}

// As coefficient_gradient_rows with basis row i generated on the fly, 8 blocks (32 elements) at a time.
__kernel void coefficient_gradient_generated_rows(__global const float *grad, const ulong grad_off, __global float *out, const ulong out_off,
                                                  const ulong n, const uint k, const uint stream,
                                                  const uint domain, const uint k0, const uint k1,
                                                  const float scale) {
    grad += grad_off;
    out += out_off;
    uint i = get_global_id(0);
    if (i >= k) {
        return;
    }
    uint groups = (uint)(n / 32);
    float8 ax = (float8)(0.0f), ay = (float8)(0.0f), az = (float8)(0.0f), aw = (float8)(0.0f);
    for (uint g = 0; g < groups; g++) {
        float8 vx, vy, vz, vw;
        basis_blocks8(g * 8, i, stream, domain, k0, k1, scale, &vx, &vy, &vz, &vw);
        // grad[32g + 4j + l] is lane j of lane-major vector l
        __global const float *gr = grad + (ulong)g * 32;
        float8 g0 = vload8(0, gr), g1 = vload8(1, gr), g2 = vload8(2, gr), g3 = vload8(3, gr);
        ax = fma(vx, (float8)(g0.s04, g1.s04, g2.s04, g3.s04), ax);
        ay = fma(vy, (float8)(g0.s15, g1.s15, g2.s15, g3.s15), ay);
        az = fma(vz, (float8)(g0.s26, g1.s26, g2.s26, g3.s26), az);
        aw = fma(vw, (float8)(g0.s37, g1.s37, g2.s37, g3.s37), aw);
    }
    float8 acc = (ax + ay) + (az + aw);
    float4 h = acc.lo + acc.hi;
    float total = (h.x + h.y) + (h.z + h.w);
    ulong e0 = (ulong)groups * 32;
    if (e0 < n) {
        float8 vx, vy, vz, vw;
        basis_blocks8(groups * 8, i, stream, domain, k0, k1, scale, &vx, &vy, &vz, &vw);
        float buf[32];
        STORE_BLOCKS8(vx, vy, vz, vw, buf);
        for (uint t = 0; e0 + t < n; t++) {
            total = fma(buf[t], grad[e0 + t], total);
        }
    }
    out[i] = total;
}

// out[i] = sum_g partial[i*groups + g].
__kernel void sum_partials(__global const float *partial, const ulong partial_off, __global float *out, const ulong out_off, const uint groups, const uint k) {
    partial += partial_off;
    out += out_off;
    uint i = get_global_id(0);
    if (i >= k) {
        return;
    }
    float acc = 0.0f;
    for (uint g = 0; g < groups; g++) {
        acc += partial[(ulong)i * groups + g];
    }
    out[i] = acc;
}
