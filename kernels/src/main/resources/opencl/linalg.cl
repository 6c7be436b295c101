// Op family "linalg": the sgemm contract C = alpha*op(A)*op(B) + beta*C, row-major.
// op(A) is [m, kk] (A is [kk, m] when trans_a), op(B) is [kk, n] (B is [n, kk] when trans_b).
// When beta == 0, C is not read. Built with -DTS=<tile> chosen from the device's work-group limit.
#pragma OPENCL FP_CONTRACT OFF

#ifndef TS
#define TS 16
#endif

// Variant 1: square TS x TS tiles in local memory, one output per work-item. Local: (TS, TS).
// Every global load is coalesced: for a transposed operand the work-items swap roles while loading.
__kernel void sgemm_tiled(const int trans_a, const int trans_b, const int m, const int n, const int kk,
                          const float alpha, __global const float *a, __global const float *b,
                          const float beta, __global float *c) {
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
            as[tx][ty] = (r < m && p < kk) ? a[(ulong)p * m + r] : 0.0f;
        } else {
            int r = row0 + ty;
            int p = p0 + tx;
            as[ty][tx] = (r < m && p < kk) ? a[(ulong)r * kk + p] : 0.0f;
        }
        if (trans_b) {
            int col = col0 + ty;
            int p = p0 + tx;
            bs[tx][ty] = (col < n && p < kk) ? b[(ulong)col * kk + p] : 0.0f;
        } else {
            int col = col0 + tx;
            int p = p0 + ty;
            bs[ty][tx] = (col < n && p < kk) ? b[(ulong)p * n + col] : 0.0f;
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
        ulong o = (ulong)row * n + col;
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
// coalesced); k advances 16 at a time through local memory. Suits CPUs (PoCL vectorises across
// work-items) and GPUs alike; needs a work-group of 256.
#define BT 64
#define BK 16
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void sgemm_blocked(const int trans_a, const int trans_b, const int m, const int n, const int kk,
                   const float alpha, __global const float *a, __global const float *b,
                   const float beta, __global float *c) {
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
                as[p][r] = (row0 + r < m && p0 + p < kk) ? a[(ulong)(p0 + p) * m + row0 + r] : 0.0f;
            } else {
                int r = idx / BK, p = idx % BK;
                as[p][r] = (row0 + r < m && p0 + p < kk) ? a[(ulong)(row0 + r) * kk + p0 + p] : 0.0f;
            }
            if (trans_b) {
                int cc = idx / BK, p = idx % BK;
                bs[p][cc] = (col0 + cc < n && p0 + p < kk) ? b[(ulong)(col0 + cc) * kk + p0 + p] : 0.0f;
            } else {
                int p = idx / BT, cc = idx % BT;
                bs[p][cc] = (col0 + cc < n && p0 + p < kk) ? b[(ulong)(p0 + p) * n + col0 + cc] : 0.0f;
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
                ulong o = (ulong)row * n + col;
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
