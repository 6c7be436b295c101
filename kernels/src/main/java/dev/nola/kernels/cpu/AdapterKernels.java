package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The LoRA-style adapter forward and backward for small ranks, row by row instead of as four general
 * matmuls: at rank r ≤ {@link #MAX_RANK} every product is skinny, and the matmul path spends its time
 * packing the large operand. Here each token row of x, y and dy is read once per pass while the r
 * rows of A and Bᵀ stay in cache.
 *
 * <p>Sums over tokens (dA, dB) are accumulated per chunk of rows into private partials and then added
 * in chunk order; the chunking depends only on N, so results do not depend on thread scheduling.
 */
final class AdapterKernels {

    /** Ranks up to this use these kernels; larger ranks use the matmul composition. */
    static final int MAX_RANK = 32;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();
    /** At most this many chunks of rows, so partials stay small: chunks × r × width floats. */
    private static final int MAX_CHUNKS = 16;
    /** Token rows combined per store in the sums over tokens. */
    private static final int ROW_BLOCK = 8;

    private AdapterKernels() {
    }

    private static int chunkRows(int tokens) {
        return Math.max(16, (tokens + MAX_CHUNKS - 1) / MAX_CHUNKS);
    }

    /** h [N,r] = x·aᵀ; y [N,out] += s·h·bᵀ. */
    static void forward(MemorySegment x, MemorySegment a, MemorySegment b, float s, MemorySegment h, MemorySegment y, int tokens, int in, int r,
                        int out) {
        int rows = chunkRows(tokens);
        int chunks = (tokens + rows - 1) / rows;
        try (ScratchPool.Buffer held = transpose(b, out, r)) {
            MemorySegment bt = held.segment;
            IntStream.range(0, chunks).parallel().forEach(c -> {
                float[] coef = new float[r];
                float[] lanes = new float[V];
                int end = Math.min(tokens, (c + 1) * rows);
                for (int i = c * rows; i < end; i++) {
                    dots(x, i * in, a, in, r, 1f, h, i * r, lanes);
                    for (int q = 0; q < r; q++) {
                        coef[q] = s * h.getAtIndex(JAVA_FLOAT, i * r + q);
                    }
                    addCombination(coef, r, bt, 0, out, y, i * out);
                }
            });
        }
    }

    /**
     * res[ro + q] = scale·Σ_e v[vo + e]·m[q·n + e] for q &lt; r: four rows of m per pass share each load
     * of v, so a row of v is read r / 4 times instead of r, and the four lane sums overlap; each
     * sum's lanes are added in lane order, then its tail, as {@link MixKernels#dot} does.
     */
    static void dots(MemorySegment v, int vo, MemorySegment m, int n, int r, float scale, MemorySegment res, int ro,
                     float[] lanes) {
        int bound = S.loopBound(n);
        int q = 0;
        for (; q + 4 <= r; q += 4) {
            int m0 = q * n;
            FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), s2 = FloatVector.zero(S), s3 = FloatVector.zero(S);
            for (int e = 0; e < bound; e += V) {
                FloatVector x = FloatVector.fromMemorySegment(S, v, 4L * (vo + e), ORDER);
                s0 = FloatVector.fromMemorySegment(S, m, 4L * (m0 + e), ORDER).fma(x, s0);
                s1 = FloatVector.fromMemorySegment(S, m, 4L * (m0 + n + e), ORDER).fma(x, s1);
                s2 = FloatVector.fromMemorySegment(S, m, 4L * (m0 + 2 * n + e), ORDER).fma(x, s2);
                s3 = FloatVector.fromMemorySegment(S, m, 4L * (m0 + 3 * n + e), ORDER).fma(x, s3);
            }
            s0.intoArray(lanes, 0);
            float t0 = MixKernels.laneSum(lanes);
            s1.intoArray(lanes, 0);
            float t1 = MixKernels.laneSum(lanes);
            s2.intoArray(lanes, 0);
            float t2 = MixKernels.laneSum(lanes);
            s3.intoArray(lanes, 0);
            float t3 = MixKernels.laneSum(lanes);
            for (int e = bound; e < n; e++) {
                float x = v.getAtIndex(JAVA_FLOAT, vo + e);
                t0 = Math.fma(m.getAtIndex(JAVA_FLOAT, m0 + e), x, t0);
                t1 = Math.fma(m.getAtIndex(JAVA_FLOAT, m0 + n + e), x, t1);
                t2 = Math.fma(m.getAtIndex(JAVA_FLOAT, m0 + 2 * n + e), x, t2);
                t3 = Math.fma(m.getAtIndex(JAVA_FLOAT, m0 + 3 * n + e), x, t3);
            }
            res.setAtIndex(JAVA_FLOAT, ro + q, scale * t0);
            res.setAtIndex(JAVA_FLOAT, ro + q + 1, scale * t1);
            res.setAtIndex(JAVA_FLOAT, ro + q + 2, scale * t2);
            res.setAtIndex(JAVA_FLOAT, ro + q + 3, scale * t3);
        }
        for (; q < r; q++) {
            res.setAtIndex(JAVA_FLOAT, ro + q, scale * MixKernels.dot(v, vo, m, q * n, n));
        }
    }

    /**
     * w[wo + e] += Σ_q coef[q]·m[mo + q·n + e] for e &lt; n: each vector of w is loaded and stored once,
     * the r terms accumulated in a register (r separate axpys would store w r times).
     */
    static void addCombination(float[] coef, int r, MemorySegment m, int mo, int n, MemorySegment w, int wo) {
        int bound = S.loopBound(n);
        for (int e = 0; e < bound; e += V) {
            FloatVector acc = FloatVector.fromMemorySegment(S, w, 4L * (wo + e), ORDER);
            for (int q = 0; q < r; q++) {
                acc = FloatVector.fromMemorySegment(S, m, 4L * (mo + q * n + e), ORDER).fma(FloatVector.broadcast(S, coef[q]), acc);
            }
            acc.intoMemorySegment(w, 4L * (wo + e), ORDER);
        }
        for (int e = bound; e < n; e++) {
            float acc = w.getAtIndex(JAVA_FLOAT, wo + e);
            for (int q = 0; q < r; q++) {
                acc = Math.fma(coef[q], m.getAtIndex(JAVA_FLOAT, mo + q * n + e), acc);
            }
            w.setAtIndex(JAVA_FLOAT, wo + e, acc);
        }
    }

    /**
     * db = s·dyᵀ·h; dh = s·dy·b; da = dhᵀ·x; dx += dh·a (dx may be null). Sums over tokens run per
     * chunk of rows, each chunk's rows combined in registers before one store per vector.
     */
    static void backward(MemorySegment x, MemorySegment a, MemorySegment b, float s, MemorySegment h, MemorySegment dy, MemorySegment dh, MemorySegment dx,
                         MemorySegment da, MemorySegment db, int tokens, int in, int r, int out) {
        int rows = chunkRows(tokens);
        int chunks = (tokens + rows - 1) / rows;
        ScratchPool.Buffer[] held = new ScratchPool.Buffer[1 + 2 * chunks];
        try {
            held[0] = transpose(b, out, r);
            MemorySegment bt = held[0].segment;
            MemorySegment[] dbt = scratches(chunks, r * out, held, 1);
            MemorySegment[] daPart = scratches(chunks, r * in, held, 1 + chunks);
            passes(x, a, s, h, dy, dh, dx, da, db, tokens, in, r, out, rows, chunks, bt, dbt, daPart);
        } finally {
            for (ScratchPool.Buffer buffer : held) {
                if (buffer != null) {
                    buffer.close();
                }
            }
        }
    }

    /** {@link #backward}'s two passes, over scratch it holds: Bᵀ and the per-chunk partials of dBᵀ and dA. */
    private static void passes(MemorySegment x, MemorySegment a, float s, MemorySegment h, MemorySegment dy, MemorySegment dh,
                               MemorySegment dx, MemorySegment da, MemorySegment db, int tokens, int in, int r, int out,
                               int rows, int chunks, MemorySegment bt, MemorySegment[] dbt, MemorySegment[] daPart) {
        // pass 1 over dy: dh rows and partial dBᵀ [r, out]
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int start = c * rows;
            int len = Math.min(tokens, start + rows) - start;
            float[] coef = new float[len];
            float[] lanes = new float[V];
            for (int i = start; i < start + len; i++) {
                dots(dy, i * out, bt, out, r, s, dh, i * r, lanes);
            }
            // row blocks of ROW_BLOCK: few enough streams for the prefetchers, one store per block
            for (int i0 = 0; i0 < len; i0 += ROW_BLOCK) {
                int bl = Math.min(ROW_BLOCK, len - i0);
                for (int q = 0; q < r; q++) {
                    for (int i = 0; i < bl; i++) {
                        coef[i] = s * h.getAtIndex(JAVA_FLOAT, (start + i0 + i) * r + q);
                    }
                    addCombination(coef, bl, dy, (start + i0) * out, out, dbt[c], q * out);
                }
            }
        });
        MemorySegment dbtSum = sum(dbt, r * out);
        for (int o = 0; o < out; o++) {
            for (int q = 0; q < r; q++) {
                db.setAtIndex(JAVA_FLOAT, o * r + q, dbtSum.getAtIndex(JAVA_FLOAT, q * out + o));
            }
        }
        // pass 2 over x (and dx): partial dA [r, in], dx rows
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int start = c * rows;
            int len = Math.min(tokens, start + rows) - start;
            float[] coef = new float[Math.max(len, r)];
            for (int i0 = 0; i0 < len; i0 += ROW_BLOCK) {
                int bl = Math.min(ROW_BLOCK, len - i0);
                for (int q = 0; q < r; q++) {
                    for (int i = 0; i < bl; i++) {
                        coef[i] = dh.getAtIndex(JAVA_FLOAT, (start + i0 + i) * r + q);
                    }
                    addCombination(coef, bl, x, (start + i0) * in, in, daPart[c], q * in);
                }
            }
            if (dx != null) {
                float[] g = new float[r];
                for (int i = start; i < start + len; i++) {
                    MemorySegment.copy(dh, JAVA_FLOAT, 4L * i * r, g, 0, r);
                    addCombination(g, r, a, 0, in, dx, i * in);
                }
            }
        });
        MemorySegment.copy(sum(daPart, r * in), 0, da, 0, 4L * r * in);
    }

    /** Partials added in index order. */
    private static MemorySegment sum(MemorySegment[] parts, int n) {
        MemorySegment total = parts[0];
        for (int c = 1; c < parts.length; c++) {
            axpy(1f, parts[c], 0, total, 0, n);
        }
        return total;
    }

    /** count zeroed buffers of n floats, taken from the pool into held[at ..] (the caller gives them back). */
    private static MemorySegment[] scratches(int count, int n, ScratchPool.Buffer[] held, int at) {
        MemorySegment[] s = new MemorySegment[count];
        for (int c = 0; c < count; c++) {
            held[at + c] = ScratchPool.take(n);
            s[c] = held[at + c].segment;
        }
        return s;
    }

    /** mᵀ in a pool buffer (the caller gives it back). */
    private static ScratchPool.Buffer transpose(MemorySegment m, int rows, int cols) {
        ScratchPool.Buffer held = ScratchPool.take(rows * cols);
        MemorySegment t = held.segment;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t.setAtIndex(JAVA_FLOAT, j * rows + i, m.getAtIndex(JAVA_FLOAT, i * cols + j));
            }
        }
        return held;
    }

    /** w[wo..wo+n) += alpha·u[uo..uo+n). */
    static void axpy(float alpha, MemorySegment u, int uo, MemorySegment w, int wo, int n) {
        FloatVector va = FloatVector.broadcast(S, alpha);
        int e = 0;
        for (; e + V <= n; e += V) {
            FloatVector.fromMemorySegment(S, u, 4L * (uo + e), ORDER).fma(va, FloatVector.fromMemorySegment(S, w, 4L * (wo + e), ORDER)).intoMemorySegment(w, 4L * (wo + e), ORDER);
        }
        for (; e < n; e++) {
            w.setAtIndex(JAVA_FLOAT, wo + e, Math.fma(alpha, u.getAtIndex(JAVA_FLOAT, uo + e), w.getAtIndex(JAVA_FLOAT, wo + e)));
        }
    }
}
