// Op family "random": basis generation. Needs philox.cl before it.
#pragma OPENCL FP_CONTRACT OFF

// out[j*n + e] = element e of matrix first + j.
// Global: (blocks rounded up to the work-group size, count); one work-item per 4 elements.
__kernel void basis(__global float *out, const ulong out_off, const ulong n, const uint blocks, const uint first,
                    const uint stream, const uint domain, const uint k0, const uint k1, const float scale) {
    out += out_off;
    uint q = get_global_id(0);
    uint j = get_global_id(1);
    if (q >= blocks) {
        return;
    }
    float4 v = basis_block(q, first + j, stream, domain, k0, k1, scale);
    __global float *row = out + (ulong)j * n;
    ulong e = (ulong)q * 4;
    if (e + 4 <= n) {
        vstore4(v, 0, row + e);
    } else {
        row[e] = v.x;
        if (e + 1 < n) row[e + 1] = v.y;
        if (e + 2 < n) row[e + 2] = v.z;
    }
}

// The CPU layout of basis: each work-item generates 8 consecutive blocks (32 elements) 8-wide.
// Global: (ceil(blocks / 8) rounded up to the work-group size, count).
__kernel void basis_x8(__global float *out, const ulong out_off, const ulong n, const uint blocks, const uint first,
                       const uint stream, const uint domain, const uint k0, const uint k1, const float scale) {
    out += out_off;
    uint q = get_global_id(0) * 8;
    uint j = get_global_id(1);
    if (q >= blocks) {
        return;
    }
    float8 vx, vy, vz, vw;
    basis_blocks8(q, first + j, stream, domain, k0, k1, scale, &vx, &vy, &vz, &vw);
    __global float *row = out + (ulong)j * n;
    ulong e0 = (ulong)q * 4;
    if (e0 + 32 <= n) {
        STORE_BLOCKS8(vx, vy, vz, vw, row + e0);
    } else {
        float buf[32];
        STORE_BLOCKS8(vx, vy, vz, vw, buf);
        for (int t = 0; e0 + t < n; t++) {
            row[e0 + t] = buf[t];
        }
    }
}
