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

// Eight Philox4x32-10 blocks at once, for CPU devices: counters (q + j, index, stream, domain) for
// j = 0..7 with the four words held lane-major (x.sj is word 0 of block j), so every step is one
// 8-wide vector operation whatever the runtime does across work-items. Same products as above; on
// explicit vectors mul_hi compiles to vector code (7x the one-block-per-work-item rate on PoCL).
inline void philox4x32_10_x8(uint8 *x, uint8 *y, uint8 *z, uint8 *w, uint k0, uint k1) {
    uint8 c0 = *x, c1 = *y, c2 = *z, c3 = *w;
    for (int round = 0; round < 10; round++) {
        uint8 n0 = mul_hi(c2, (uint8)(PHILOX_M1)) ^ c1 ^ (uint8)(k0);
        uint8 n2 = mul_hi(c0, (uint8)(PHILOX_M0)) ^ c3 ^ (uint8)(k1);
        c1 = c2 * (uint8)(PHILOX_M1);
        c3 = c0 * (uint8)(PHILOX_M0);
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    *x = c0;
    *y = c1;
    *z = c2;
    *w = c3;
}

inline float8 philox_uniform8(uint8 w, float scale) {
    int8 x = convert_int8(w >> 8) - (int8)(0x800000);
    float8 u = convert_float8(x) * 0x1p-23f;
    return u * scale;
}

// Blocks q .. q+7 of basis matrix `index`, lane-major: element 4(q+j)+l is lane j of v[l].
inline void basis_blocks8(uint q, uint index, uint stream, uint domain, uint k0, uint k1, float scale,
                          float8 *vx, float8 *vy, float8 *vz, float8 *vw) {
    uint8 x = (uint8)(q) + (uint8)(0, 1, 2, 3, 4, 5, 6, 7);
    uint8 y = (uint8)(index);
    uint8 z = (uint8)(stream);
    uint8 w = (uint8)(domain);
    philox4x32_10_x8(&x, &y, &z, &w, k0, k1);
    *vx = philox_uniform8(x, scale);
    *vy = philox_uniform8(y, scale);
    *vz = philox_uniform8(z, scale);
    *vw = philox_uniform8(w, scale);
}

// Lane-major (v[l].sj = element 4j+l) to element order in dst[0..31] (a macro: dst may be global or private).
#define STORE_BLOCKS8(vx, vy, vz, vw, dst) do { \
    vstore8((float8)((vx).s0, (vy).s0, (vz).s0, (vw).s0, (vx).s1, (vy).s1, (vz).s1, (vw).s1), 0, (dst)); \
    vstore8((float8)((vx).s2, (vy).s2, (vz).s2, (vw).s2, (vx).s3, (vy).s3, (vz).s3, (vw).s3), 1, (dst)); \
    vstore8((float8)((vx).s4, (vy).s4, (vz).s4, (vw).s4, (vx).s5, (vy).s5, (vz).s5, (vw).s5), 2, (dst)); \
    vstore8((float8)((vx).s6, (vy).s6, (vz).s6, (vw).s6, (vx).s7, (vy).s7, (vz).s7, (vw).s7), 3, (dst)); \
} while (0)
