// Philox4x32-10 and the NOLA uniform mapping, generator version 1: the OpenCL C twin of
// dev.nola.kernels.Philox. Prepended to every program that generates basis elements.
// Integer arithmetic only, then one exact conversion and one correctly rounded multiply, so the
// result is bit-identical to the Java reference on every device.
#pragma OPENCL FP_CONTRACT OFF

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

// One Philox4x32-10 block at counter c under key (k0, k1). The high and low words of each product
// come from one 32x32->64 multiply rather than mul_hi: the same bits, but PoCL vectorises the 64-bit
// multiply across work-items and not the builtin (4x faster basis generation), and GPU compilers
// turn the pattern into their mul.hi instruction.
inline uint4 philox4x32_10(uint4 c, uint k0, uint k1) {
    for (int round = 0; round < 10; round++) {
        ulong p0 = (ulong)PHILOX_M0 * c.x;
        ulong p1 = (ulong)PHILOX_M1 * c.z;
        c = (uint4)((uint)(p1 >> 32) ^ c.y ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c.w ^ k1, (uint)p0);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    return c;
}

// Elements 4q .. 4q+3 of basis matrix `index`: counter (q, index, stream, domain), each lane mapped
// to ((w >> 8) - 2^23) * 2^-23 (exact) and then multiplied by scale (one rounding).
inline float4 basis_block(uint q, uint index, uint stream, uint domain, uint k0, uint k1, float scale) {
    uint4 w = philox4x32_10((uint4)(q, index, stream, domain), k0, k1);
    int4 x = convert_int4(w >> 8) - (int4)(0x800000);
    float4 u = convert_float4(x) * 0x1p-23f;
    float4 v = u * scale;
    return v;
}
