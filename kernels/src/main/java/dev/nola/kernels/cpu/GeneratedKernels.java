package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.PhiloxLanes.FS;
import static dev.nola.kernels.cpu.PhiloxLanes.LANES;
import static dev.nola.kernels.cpu.PhiloxLanes.STEP;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.nola.kernels.BasisStream;
import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;

/**
 * The kernels that generate basis values with {@link PhiloxLanes}: materialising a basis, fused
 * generate-and-mix and fused generate-and-gradient. All work in tiles of {@link #TILE} elements
 * (a multiple of {@link PhiloxLanes#STEP}) kept in the generator's order ({@link PhiloxLanes#position}) inside the tile, parallel over
 * the common fork-join pool.
 */
final class GeneratedKernels {

    /** Elements per tile: its accumulators (2 KiB) stay in L1. */
    static final int TILE = 32 * STEP;
    private static final long PARALLEL_WORK = 1 << 14;
    private static final int HALF = 2 * LANES;
    /** PERM[q] = where element q of a step is in {@link PhiloxLanes#fill}'s output. */
    private static final int[] PERM = new int[STEP];

    static {
        for (int q = 0; q < STEP; q++) {
            PERM[q] = PhiloxLanes.position(q);
        }
    }

    private GeneratedKernels() {
    }

    /** out[j·n + e] = element e of matrix firstIndex + j, for j &lt; count, e &lt; n. */
    static void basis(BasisStream s, int firstIndex, int count, int n, MemorySegment out) {
        PhiloxLanes.Key key = PhiloxLanes.Key.of(s);
        int tilesPerRow = (n + TILE - 1) / TILE;
        int tasks = count * tilesPerRow;
        forEach((long) count * n >= PARALLEL_WORK, tasks, t -> {
            int j = t / tilesPerRow;
            int e0 = (t % tilesPerRow) * TILE;
            int e1 = Math.min(n, e0 + TILE);
            float[] w = new float[STEP];
            int base = j * n;
            for (int e = e0; e < e1; e += STEP) {
                PhiloxLanes.fill(key, e >>> 2, firstIndex + j, w, 0);
                int lim = Math.min(STEP, e1 - e);
                for (int q = 0; q < lim; q++) {
                    out.setAtIndex(JAVA_FLOAT, base + e + q, w[PERM[q]]);
                }
            }
        });
    }

    /**
     * out[e] = off[e] (or 0) then acc = fma(c[i], basis_i[e], acc) for i ascending: bit-identical to
     * {@link #basis} then {@link MixKernels#mix}. {@code off} may be {@code out}.
     */
    static void mix(MemorySegment c, BasisStream s, MemorySegment off, MemorySegment out, int k, int n) {
        PhiloxLanes.Key key = PhiloxLanes.Key.of(s);
        int tiles = (n + TILE - 1) / TILE;
        forEach((long) k * n >= PARALLEL_WORK, tiles, t -> {
            int e0 = t * TILE;
            int width = Math.min(TILE, n - e0);
            int steps = (width + STEP - 1) / STEP;
            float[] acc = new float[steps * STEP];
            if (off != null) {
                for (int q = 0; q < width; q++) {
                    acc[wordMajor(q)] = off.getAtIndex(JAVA_FLOAT, e0 + q);
                }
            }
            float[] w = new float[STEP];
            int block0 = e0 >>> 2;
            for (int i = 0; i < k; i++) {
                FloatVector ci = FloatVector.broadcast(FS, c.getAtIndex(JAVA_FLOAT, i));
                for (int st = 0, o = 0; st < steps; st++, o += STEP) {
                    PhiloxLanes.fill(key, block0 + st * LANES, i, w, 0);
                    for (int v = 0; v < STEP; v += FS.length()) {
                        FloatVector.fromArray(FS, w, v).fma(ci, FloatVector.fromArray(FS, acc, o + v)).intoArray(acc, o + v);
                    }
                }
            }
            for (int q = 0; q < width; q++) {
                out.setAtIndex(JAVA_FLOAT, e0 + q, acc[wordMajor(q)]);
            }
        });
    }

    /** out[i] = ⟨basis_i, grad⟩ accumulated per tile in float lanes and across tiles in double. */
    static void coefficientGradient(BasisStream s, MemorySegment grad, MemorySegment out, int k, int n) {
        PhiloxLanes.Key key = PhiloxLanes.Key.of(s);
        int padded = (n + STEP - 1) / STEP * STEP;
        float[] g = new float[padded];
        for (int q = 0; q < n; q++) {
            g[wordMajor(q)] = grad.getAtIndex(JAVA_FLOAT, q);
        }
        forEach((long) k * n >= PARALLEL_WORK, k, i -> {
            float[] w = new float[STEP];
            float[] lanes = new float[FS.length()];
            double total = 0;
            for (int t0 = 0; t0 < padded; t0 += TILE) {
                int t1 = Math.min(padded, t0 + TILE);
                FloatVector a0 = FloatVector.zero(FS);
                FloatVector a1 = FloatVector.zero(FS);
                for (int o = t0; o < t1; o += STEP) {
                    PhiloxLanes.fill(key, o >>> 2, i, w, 0);
                    a0 = FloatVector.fromArray(FS, w, 0).fma(FloatVector.fromArray(FS, g, o), a0);
                    a1 = FloatVector.fromArray(FS, w, HALF).fma(FloatVector.fromArray(FS, g, o + HALF), a1);
                }
                // lanes in lane order: reduceLanes' order is unspecified (interpreter and C2 differ)
                a0.add(a1).intoArray(lanes, 0);
                for (float lane : lanes) {
                    total += lane;
                }
            }
            out.setAtIndex(JAVA_FLOAT, i, (float) total);
        });
    }

    /** Position of element q (relative to a STEP-aligned start) in the generator's order. */
    static int wordMajor(int q) {
        int step = q / STEP;
        return step * STEP + PERM[q - step * STEP];
    }

    interface Body {
        void run(int i);
    }

    static void forEach(boolean parallel, int count, Body body) {
        if (parallel && count > 1) {
            IntStream.range(0, count).parallel().forEach(body::run);
        } else {
            for (int i = 0; i < count; i++) {
                body.run(i);
            }
        }
    }
}
