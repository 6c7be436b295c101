// Op family "linalg": the sgemm contract C = alpha*op(A)*op(B) + beta*C, row-major.
// op(A) is [m, kk] (A is [kk, m] when trans_a), op(B) is [kk, n] (B is [n, kk] when trans_b).
// When beta == 0, C is not read. Built with -DTS=<tile> chosen from the device's work-group limit.
// Every buffer argument is followed by its element offset (views). Strided batches: matrix q of a
// batch starts sa/sb/sc elements after matrix q - 1, rows are lda/ldb/ldc elements apart, and the
// batch index is global dimension 2.
#pragma OPENCL FP_CONTRACT OFF

#ifndef TS
#define TS 16
#endif

// B_BF16: B holds bfloat16 bits (a frozen weight). Each element is widened exactly where it is loaded
// (its 16 bits become the top half of a float32); A, C and every sum stay float32. The program is
// built a second time with -DB_BF16 for such products.
#ifdef B_BF16
typedef ushort b_t;
#define LOAD_B(x) as_float((uint)(x) << 16)
#define LOAD_B16(i, p) as_float16(convert_uint16(vload16(i, p)) << 16)
#define LOAD_B8(i, p) as_float8(convert_uint8(vload8(i, p)) << 16)
#else
typedef float b_t;
#define LOAD_B(x) (x)
#define LOAD_B16(i, p) vload16(i, p)
#define LOAD_B8(i, p) vload8(i, p)
#endif

// Variant 1: square TS x TS tiles in local memory, one output per work-item. Local: (TS, TS).
// Every global load is coalesced: for a transposed operand the work-items swap roles while loading.
__kernel void sgemm_tiled(const int trans_a, const int trans_b, const int m, const int n, const int kk,
                          const float alpha, __global const float *a, const ulong a_off, const int lda, const ulong sa,
                          __global const b_t *b, const ulong b_off, const int ldb, const ulong sb,
                          const float beta, __global float *c, const ulong c_off, const int ldc, const ulong sc) {
    a += a_off + get_global_id(2) * sa;
    b += b_off + get_global_id(2) * sb;
    c += c_off + get_global_id(2) * sc;
    __local float as[TS][TS + 1];
    __local float bs[TS][TS + 1];
    int tx = get_local_id(0);
    int ty = get_local_id(1);
    int row0 = get_group_id(1) * TS;
    int col0 = get_group_id(0) * TS;
    float acc = 0.0f;
    for (int p0 = 0; p0 < kk; p0 += TS) {
        if (trans_a) {
            int r = row0 + tx;
            int p = p0 + ty;
            as[tx][ty] = (r < m && p < kk) ? a[(ulong)p * lda + r] : 0.0f;
        } else {
            int r = row0 + ty;
            int p = p0 + tx;
            as[ty][tx] = (r < m && p < kk) ? a[(ulong)r * lda + p] : 0.0f;
        }
        if (trans_b) {
            int col = col0 + ty;
            int p = p0 + tx;
            bs[tx][ty] = (col < n && p < kk) ? LOAD_B(b[(ulong)col * ldb + p]) : 0.0f;
        } else {
            int col = col0 + tx;
            int p = p0 + ty;
            bs[ty][tx] = (col < n && p < kk) ? LOAD_B(b[(ulong)p * ldb + col]) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int p = 0; p < TS; p++) {
            acc = fma(as[ty][p], bs[p][tx], acc);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    int row = row0 + ty;
    int col = col0 + tx;
    if (row < m && col < n) {
        ulong o = (ulong)row * ldc + col;
        float r = alpha * acc;
        if (beta != 0.0f) {
            float prior = beta * c[o];
            r = r + prior;
        }
        c[o] = r;
    }
}

// Variant 2: register blocking. A work-group of 16 x 16 work-items computes a 64 x 64 tile of C,
// each work-item a 4 x 4 block held in registers (rows ty + 16i, columns tx + 16j, so stores stay
// coalesced); k advances 16 at a time through local memory. For GPUs (CPU devices get variant 3);
// needs a work-group of 256.
#define BT 64
#define BK 16
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void sgemm_blocked(const int trans_a, const int trans_b, const int m, const int n, const int kk,
                   const float alpha, __global const float *a, const ulong a_off, const int lda, const ulong sa,
                   __global const b_t *b, const ulong b_off, const int ldb, const ulong sb,
                   const float beta, __global float *c, const ulong c_off, const int ldc, const ulong sc) {
    a += a_off + get_global_id(2) * sa;
    b += b_off + get_global_id(2) * sb;
    c += c_off + get_global_id(2) * sc;
    __local float as[BK][BT + 1];
    __local float bs[BK][BT + 1];
    int tx = get_local_id(0);
    int ty = get_local_id(1);
    int tid = ty * 16 + tx;
    int row0 = get_group_id(1) * BT;
    int col0 = get_group_id(0) * BT;
    float acc[4][4];
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            acc[i][j] = 0.0f;
        }
    }
    for (int p0 = 0; p0 < kk; p0 += BK) {
        for (int l = 0; l < 4; l++) {
            int idx = tid + l * 256;
            if (trans_a) {
                int p = idx / BT, r = idx % BT;
                as[p][r] = (row0 + r < m && p0 + p < kk) ? a[(ulong)(p0 + p) * lda + row0 + r] : 0.0f;
            } else {
                int r = idx / BK, p = idx % BK;
                as[p][r] = (row0 + r < m && p0 + p < kk) ? a[(ulong)(row0 + r) * lda + p0 + p] : 0.0f;
            }
            if (trans_b) {
                int cc = idx / BK, p = idx % BK;
                bs[p][cc] = (col0 + cc < n && p0 + p < kk) ? LOAD_B(b[(ulong)(col0 + cc) * ldb + p0 + p]) : 0.0f;
            } else {
                int p = idx / BT, cc = idx % BT;
                bs[p][cc] = (col0 + cc < n && p0 + p < kk) ? LOAD_B(b[(ulong)(p0 + p) * ldb + col0 + cc]) : 0.0f;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int p = 0; p < BK; p++) {
            float ar[4];
            float br[4];
            for (int i = 0; i < 4; i++) {
                ar[i] = as[p][ty + 16 * i];
                br[i] = bs[p][tx + 16 * i];
            }
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 4; j++) {
                    acc[i][j] = fma(ar[i], br[j], acc[i][j]);
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 4; i++) {
        int row = row0 + ty + 16 * i;
        for (int j = 0; j < 4; j++) {
            int col = col0 + tx + 16 * j;
            if (row < m && col < n) {
                ulong o = (ulong)row * ldc + col;
                float r = alpha * acc[i][j];
                if (beta != 0.0f) {
                    float prior = beta * c[o];
                    r = r + prior;
                }
                c[o] = r;
            }
        }
    }
}

// Variant 3, for CPU devices (PoCL and the like): no local memory (the caches do that work). Both
// operands are first packed so that the product streams them in address order: op(A) into row blocks
// of PM (pack_rows), op(B) into column panels of PN (pack_panels). Each work-item then computes one
// PM x PN block of C in registers as PM * PN / 16 float16 accumulators, walking k from p0 to p1: per
// step PN / 16 vector loads of the panel and PM broadcasts of A. float16 is what makes PoCL emit
// 512-bit FMAs on AVX-512 (it vectorises explicit vector types as written; float8 code stays in
// 256-bit registers and reaches about half the peak). 6 x 64 keeps 24 of the 32 vector registers
// as accumulators. The host splits a long k into slices (p0, p1) so that a slice of a panel stays in
// L2 while the work-items of a work-group (consecutive row blocks of one panel) reuse it; slices after
// the first accumulate into C (beta = 1). A float32 B that is not transposed, n a multiple of PN, is
// read in place: its rows are the panels' rows already, ldb apart (a partial last panel would read
// past the end of B's buffer, so such a B is packed).
// Global: (ceil(n / PN), ceil(m / PM) rounded up to the work-group size, batch), local: (1, G, 1).
#ifndef PM
#define PM 6
#endif
#ifndef PN
#define PN 64
#endif
#define PV (PN / 16)

// packed[(q * kk + p) * PN + j] = op(B)(p, PN q + j), zeros past n; batch z at packed + z * sp.
// Global: (kk, ceil(n / PN), batch).
__kernel void pack_panels(__global const b_t *b, const ulong b_off, const int ldb, const ulong sb,
                          __global float *packed, const ulong packed_off, const ulong sp, const int trans_b,
                          const int n, const int kk) {
    b += b_off + get_global_id(2) * sb;
    packed += packed_off + get_global_id(2) * sp;
    int p = get_global_id(0);
    int q = get_global_id(1);
    if (p >= kk) {
        return;
    }
    __global float *dst = packed + ((ulong)q * kk + p) * PN;
    int col0 = q * PN;
    if (!trans_b && col0 + PN <= n) {
        __global const b_t *src = b + (ulong)p * ldb + col0;
        for (int v = 0; v < PV; v++) {
            vstore16(LOAD_B16(v, src), v, dst);
        }
        return;
    }
    for (int j = 0; j < PN; j++) {
        int col = col0 + j;
        dst[j] = col < n ? LOAD_B(trans_b ? b[(ulong)col * ldb + p] : b[(ulong)p * ldb + col]) : 0.0f;
    }
}

// packed[(rb * kk + p) * PM + r] = op(A)(PM rb + r, p), zeros past m; batch z at packed + z * sp.
// Global: (kk, ceil(m / PM), batch).
__kernel void pack_rows(__global const float *a, const ulong a_off, const int lda, const ulong sa,
                        __global float *packed, const ulong packed_off, const ulong sp, const int trans_a,
                        const int m, const int kk) {
    a += a_off + get_global_id(2) * sa;
    packed += packed_off + get_global_id(2) * sp;
    int p = get_global_id(0);
    int rb = get_global_id(1);
    if (p >= kk) {
        return;
    }
    __global float *dst = packed + ((ulong)rb * kk + p) * PM;
    for (int r = 0; r < PM; r++) {
        int row = rb * PM + r;
        dst[r] = row < m ? (trans_a ? a[(ulong)p * lda + row] : a[(ulong)row * lda + p]) : 0.0f;
    }
}

// C (+)= alpha * the product over k in [p0, p1) of packed A (kk is its full depth) and op(B), whose
// panel q has row p at pb + q * qs + p * ps (packed: qs = kk * PN, ps = PN; in place: qs = PN,
// ps = ldb).
__kernel void sgemm_panel(const int m, const int n, const int kk, const int p0, const int p1, const float alpha,
                          __global const float *pa, const ulong pa_off, const ulong spa,
                          __global const float *pb, const ulong pb_off, const ulong spb, const ulong qs, const ulong ps,
                          const float beta, __global float *c, const ulong c_off, const int ldc, const ulong sc) {
    pa += pa_off + get_global_id(2) * spa;
    pb += pb_off + get_global_id(2) * spb;
    c += c_off + get_global_id(2) * sc;
    int q = get_global_id(0);
    int rb = get_global_id(1);
    int col0 = q * PN;
    int row0 = rb * PM;
    if (col0 >= n || row0 >= m) {
        return;
    }
    float16 acc[PM][PV];
#pragma unroll
    for (int r = 0; r < PM; r++) {
#pragma unroll
        for (int v = 0; v < PV; v++) {
            acc[r][v] = (float16)(0.0f);
        }
    }
    __global const float *ap = pa + (ulong)rb * kk * PM;
    __global const float *bp = pb + q * qs;
    for (int p = p0; p < p1; p++) {
        float16 bv[PV];
#pragma unroll
        for (int v = 0; v < PV; v++) {
            bv[v] = vload16(v, bp + p * ps);
        }
#pragma unroll
        for (int r = 0; r < PM; r++) {
            float16 x = (float16)(ap[(ulong)p * PM + r]);
#pragma unroll
            for (int v = 0; v < PV; v++) {
                acc[r][v] = fma(x, bv[v], acc[r][v]);
            }
        }
    }
    bool whole = col0 + PN <= n;
#pragma unroll
    for (int r = 0; r < PM; r++) {
        int row = row0 + r;
        if (row < m) {
            __global float *cr = c + (ulong)row * ldc + col0;
            if (whole && beta == 0.0f) {
#pragma unroll
                for (int v = 0; v < PV; v++) {
                    vstore16(alpha * acc[r][v], v, cr);
                }
            } else if (whole && beta == 1.0f) {
#pragma unroll
                for (int v = 0; v < PV; v++) {
                    vstore16(alpha * acc[r][v] + vload16(v, cr), v, cr);
                }
            } else {
                float t[PN];
#pragma unroll
                for (int v = 0; v < PV; v++) {
                    vstore16(acc[r][v], v, t);
                }
                for (int j = 0; j < PN && col0 + j < n; j++) {
                    float val = alpha * t[j];
                    if (beta != 0.0f) {
                        float prior = beta * cr[j];
                        val = val + prior;
                    }
                    cr[j] = val;
                }
            }
        }
    }
}

// c[o] = v + beta * c[o], c not read when beta == 0 (v is alpha times the product).
inline void store_c(__global float *c, const ulong o, const float v, const float beta) {
    if (beta != 0.0f) {
        float prior = beta * c[o];
        c[o] = v + prior;
    } else {
        c[o] = v;
    }
}

// Variant 4, for CPU devices when op(B) is Bᵀ of a large B and C has few rows (the LM head over a
// block of rows): packing B would copy n * kk floats for only m multiply-adds per float, so B is read
// in place. Each element of C is a dot product along k, 16 lanes at a time: a work-item holds a
// DM x DN block of C as DM * DN float16 sums (24 of the 32 vector registers) and reads DM rows of A
// and DN rows of B in address order. The lanes are added pairwise at the end, then the k % 16 tail.
// A work-group is the row blocks of one column block, so its DN rows of B are read from memory once.
// Either operand may also be the other way round (a strided gather, correct but slow: the host picks
// this kernel only for row-major A and Bᵀ). Global: (ceil(n / DN), ceil(m / DM) rounded up to the
// work-group size, batch), local: (1, G, 1).
#define DM 4
#define DN 6

// 16 elements along k, s apart (the gather of a transposed operand).
inline float16 load_a16(__global const float *x, const ulong s) {
    float t[16];
    for (int i = 0; i < 16; i++) {
        t[i] = x[i * s];
    }
    return vload16(0, t);
}

inline float16 load_b16(__global const b_t *x, const ulong s) {
    float t[16];
    for (int i = 0; i < 16; i++) {
        t[i] = LOAD_B(x[i * s]);
    }
    return vload16(0, t);
}

inline float sum16(const float16 v) {
    float8 s8 = v.lo + v.hi;
    float4 s4 = s8.lo + s8.hi;
    float2 s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}

__kernel void sgemm_dots(const int trans_a, const int trans_b, const int m, const int n, const int kk,
                         const float alpha, __global const float *a, const ulong a_off, const int lda, const ulong sa,
                         __global const b_t *b, const ulong b_off, const int ldb, const ulong sb,
                         const float beta, __global float *c, const ulong c_off, const int ldc, const ulong sc) {
    a += a_off + get_global_id(2) * sa;
    b += b_off + get_global_id(2) * sb;
    c += c_off + get_global_id(2) * sc;
    int col0 = get_global_id(0) * DN;
    int row0 = get_global_id(1) * DM;
    if (col0 >= n || row0 >= m) {
        return;
    }
    // op(A)(r, p) = a[r * rs + p * ps], op(B)(p, j) = b[j * bs + p * ks]; rows and columns past the
    // edge read the last one and are not stored
    ulong rs = trans_a ? 1 : (ulong)lda;
    ulong ps = trans_a ? (ulong)lda : 1;
    ulong bs = trans_b ? (ulong)ldb : 1;
    ulong ks = trans_b ? 1 : (ulong)ldb;
    __global const float *ar[DM];
    __global const b_t *br[DN];
#pragma unroll
    for (int r = 0; r < DM; r++) {
        ar[r] = a + (ulong)min(row0 + r, m - 1) * rs;
    }
#pragma unroll
    for (int j = 0; j < DN; j++) {
        br[j] = b + (ulong)min(col0 + j, n - 1) * bs;
    }
    float16 acc[DM][DN];
#pragma unroll
    for (int r = 0; r < DM; r++) {
#pragma unroll
        for (int j = 0; j < DN; j++) {
            acc[r][j] = (float16)(0.0f);
        }
    }
    int p = 0;
    // one step of 16 along k; the loop is written twice so that the contiguous case has no branch inside
#define DOTS_STEP(LOAD_BJ, LOAD_AR)                                 \
    {                                                               \
        float16 bv[DN];                                             \
        _Pragma("unroll") for (int j = 0; j < DN; j++) {            \
            bv[j] = LOAD_BJ;                                        \
        }                                                           \
        _Pragma("unroll") for (int r = 0; r < DM; r++) {            \
            float16 x = LOAD_AR;                                    \
            _Pragma("unroll") for (int j = 0; j < DN; j++) {        \
                acc[r][j] = fma(x, bv[j], acc[r][j]);               \
            }                                                       \
        }                                                           \
    }
    if (ps == 1 && ks == 1) {
        for (; p + 16 <= kk; p += 16) {
            DOTS_STEP(LOAD_B16(0, br[j] + p), vload16(0, ar[r] + p))
        }
    } else {
        for (; p + 16 <= kk; p += 16) {
            DOTS_STEP(load_b16(br[j] + p * ks, ks), load_a16(ar[r] + p * ps, ps))
        }
    }
#undef DOTS_STEP
#pragma unroll
    for (int r = 0; r < DM; r++) {
        int row = row0 + r;
#pragma unroll
        for (int j = 0; j < DN; j++) {
            int col = col0 + j;
            float t = sum16(acc[r][j]);
            for (int q = p; q < kk; q++) {
                t = fma(ar[r][q * ps], LOAD_B(br[j][q * ks]), t);
            }
            if (row < m && col < n) {
                store_c(c, (ulong)row * ldc + col, alpha * t, beta);
            }
        }
    }
}

// Variant 5: a few rows of C (m <= GM: a decode step's projections and LM head). B is read once, in
// place (no packed copy); each work-item keeps every row of C it owns in registers.
#define GM 4

// B stored [kk, n] (trans_b == 0): one work-item per 16 columns. Global: (ceil(n / 16), 1, batch).
__kernel void gemv_cols(const int trans_a, const int m, const int n, const int kk, const float alpha,
                        __global const float *a, const ulong a_off, const int lda, const ulong sa,
                        __global const b_t *b, const ulong b_off, const int ldb, const ulong sb,
                        const float beta, __global float *c, const ulong c_off, const int ldc, const ulong sc) {
    a += a_off + get_global_id(2) * sa;
    b += b_off + get_global_id(2) * sb;
    c += c_off + get_global_id(2) * sc;
    int col0 = get_global_id(0) * 16;
    if (col0 >= n) {
        return;
    }
    ulong rs = trans_a ? 1 : (ulong)lda;
    ulong ps = trans_a ? (ulong)lda : 1;
    float16 acc[GM];
    for (int r = 0; r < GM; r++) {
        acc[r] = (float16)(0.0f);
    }
    if (col0 + 16 <= n) {
        for (int p = 0; p < kk; p++) {
            float16 bv = LOAD_B16(0, b + (ulong)p * ldb + col0);
            for (int r = 0; r < m; r++) {
                acc[r] = fma((float16)(a[r * rs + p * ps]), bv, acc[r]);
            }
        }
    } else {
        for (int p = 0; p < kk; p++) {
            float t[16];
            for (int j = 0; j < 16; j++) {
                t[j] = col0 + j < n ? LOAD_B(b[(ulong)p * ldb + col0 + j]) : 0.0f;
            }
            float16 bv = vload16(0, t);
            for (int r = 0; r < m; r++) {
                acc[r] = fma((float16)(a[r * rs + p * ps]), bv, acc[r]);
            }
        }
    }
    for (int r = 0; r < m; r++) {
        float t[16];
        vstore16(acc[r], 0, t);
        for (int j = 0; j < 16 && col0 + j < n; j++) {
            store_c(c, (ulong)r * ldc + col0 + j, alpha * t[j], beta);
        }
    }
}

// B stored [n, kk] (trans_b == 1): one work-item per column, a dot product of B's row with each row
// of op(A), eight lanes at a time. Global: (n rounded up to the group, 1, batch).
__kernel void gemv_dots(const int trans_a, const int m, const int n, const int kk, const float alpha,
                        __global const float *a, const ulong a_off, const int lda, const ulong sa,
                        __global const b_t *b, const ulong b_off, const int ldb, const ulong sb,
                        const float beta, __global float *c, const ulong c_off, const int ldc, const ulong sc) {
    a += a_off + get_global_id(2) * sa;
    b += b_off + get_global_id(2) * sb;
    c += c_off + get_global_id(2) * sc;
    int j = get_global_id(0);
    if (j >= n) {
        return;
    }
    ulong rs = trans_a ? 1 : (ulong)lda;
    ulong ps = trans_a ? (ulong)lda : 1;
    __global const b_t *row = b + (ulong)j * ldb;
    float8 acc[GM];
    for (int r = 0; r < GM; r++) {
        acc[r] = (float8)(0.0f);
    }
    int p = 0;
    for (; p + 8 <= kk; p += 8) {
        float8 bv = LOAD_B8(0, row + p);
        for (int r = 0; r < m; r++) {
            float8 x = trans_a ? (float8)(a[r + (p + 0) * ps], a[r + (p + 1) * ps], a[r + (p + 2) * ps],
                                           a[r + (p + 3) * ps], a[r + (p + 4) * ps], a[r + (p + 5) * ps],
                                           a[r + (p + 6) * ps], a[r + (p + 7) * ps])
                               : vload8(0, a + r * rs + p);
            acc[r] = fma(x, bv, acc[r]);
        }
    }
    for (int r = 0; r < m; r++) {
        float8 s = acc[r];
        float t = ((s.s0 + s.s1) + (s.s2 + s.s3)) + ((s.s4 + s.s5) + (s.s6 + s.s7));
        for (int q = p; q < kk; q++) {
            t = fma(a[r * rs + q * ps], LOAD_B(row[q]), t);
        }
        store_c(c, (ulong)r * ldc + j, alpha * t, beta);
    }
}

// Level 1, one element per work-item.
__kernel void axpy(const float alpha, __global const float *x, const ulong x_off, __global float *y,
                   const ulong y_off, const ulong n) {
    x += x_off;
    y += y_off;
    ulong i = get_global_id(0);
    if (i < n) {
        y[i] = fma(alpha, x[i], y[i]);
    }
}

__kernel void scale(const float alpha, __global float *x, const ulong x_off, const ulong n) {
    x += x_off;
    ulong i = get_global_id(0);
    if (i < n) {
        x[i] = alpha * x[i];
    }
}

__kernel void fill(__global float *x, const ulong x_off, const float value, const ulong n) {
    x += x_off;
    ulong i = get_global_id(0);
    if (i < n) {
        x[i] = value;
    }
}

// The same three in the CPU layout (-DCHUNKED devices): a work-item per contiguous chunk of EW_CHUNK
// floats, 16 lanes at a time, so PoCL emits 512-bit loads and stores instead of a loop of scalar
// work-items. Each element gets the scalar kernel's operation, so the results are the same bits.
// Global: ceil(n / EW_CHUNK) rounded up to the work-group size.
#define EW_CHUNK 4096

__kernel void axpy_chunks(const float alpha, __global const float *x, const ulong x_off, __global float *y,
                          const ulong y_off, const ulong n) {
    x += x_off;
    y += y_off;
    ulong i = get_global_id(0) * EW_CHUNK;
    if (i >= n) {
        return;
    }
    ulong end = min(i + EW_CHUNK, n);
    for (; i + 16 <= end; i += 16) {
        vstore16(fma((float16)(alpha), vload16(0, x + i), vload16(0, y + i)), 0, y + i);
    }
    for (; i < end; i++) {
        y[i] = fma(alpha, x[i], y[i]);
    }
}

__kernel void scale_chunks(const float alpha, __global float *x, const ulong x_off, const ulong n) {
    x += x_off;
    ulong i = get_global_id(0) * EW_CHUNK;
    if (i >= n) {
        return;
    }
    ulong end = min(i + EW_CHUNK, n);
    for (; i + 16 <= end; i += 16) {
        vstore16((float16)(alpha) * vload16(0, x + i), 0, x + i);
    }
    for (; i < end; i++) {
        x[i] = alpha * x[i];
    }
}

__kernel void fill_chunks(__global float *x, const ulong x_off, const float value, const ulong n) {
    x += x_off;
    ulong i = get_global_id(0) * EW_CHUNK;
    if (i >= n) {
        return;
    }
    ulong end = min(i + EW_CHUNK, n);
    for (; i + 16 <= end; i += 16) {
        vstore16((float16)(value), 0, x + i);
    }
    for (; i < end; i++) {
        x[i] = value;
    }
}
