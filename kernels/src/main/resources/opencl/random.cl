// Op family "random": basis generation. Needs philox.cl before it.
#pragma OPENCL FP_CONTRACT OFF

// out[j*n + e] = element e of matrix first + j.
// Global: (blocks rounded up to the work-group size, count); one work-item per 4 elements.
__kernel void basis(__global float *out, const ulong n, const uint blocks, const uint first,
                    const uint stream, const uint domain, const uint k0, const uint k1, const float scale) {
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
