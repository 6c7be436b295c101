package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The packing half of {@link Sgemm}: copies of op(A) and op(B) into the panel layouts its micro-kernels
 * stream ([kc][rows] for A, [kc][width] for B), zero-padded at ragged edges. Packing is the only place
 * tensor memory is read for A and B, so transposes are absorbed here and a bfloat16 B is widened here.
 */
final class SgemmPack {

    private static final VectorSpecies<Float> S = Sgemm.S;
    private static final int V = Sgemm.V;
    /*
     * Lane indexes for the register transposes, as two-vector selections (x.selectFrom(a, b): lane l
     * takes a[x_l] when x_l < V, else b[x_l - V]). Stage h swaps bit h of the row number with bit h of
     * the lane number, for row pairs (i, i + h): LO keeps a's lanes with bit h clear and fills the
     * others from b's lanes h lower; HI takes a's lanes h higher and keeps b's lanes with bit h set.
     * After the stages for h = V/2 … 1 every bit is swapped, which is the transpose.
     */
    private static final FloatVector LO8 = stage(8, true);
    private static final FloatVector HI8 = stage(8, false);
    private static final FloatVector LO4 = stage(4, true);
    private static final FloatVector HI4 = stage(4, false);
    private static final FloatVector LO2 = stage(2, true);
    private static final FloatVector HI2 = stage(2, false);
    private static final FloatVector LO1 = stage(1, true);
    private static final FloatVector HI1 = stage(1, false);
    /** Eight floats: an A panel's row of {@link Sgemm#MR_NARROW} (and, on AVX-512, {@link Sgemm#MR}) values. */
    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;
    private static final FloatVector A_LO4 = stage(S8, 4, true);
    private static final FloatVector A_HI4 = stage(S8, 4, false);
    private static final FloatVector A_LO2 = stage(S8, 2, true);
    private static final FloatVector A_HI2 = stage(S8, 2, false);
    private static final FloatVector A_LO1 = stage(S8, 1, true);
    private static final FloatVector A_HI1 = stage(S8, 1, false);

    /**
     * Depth of one piece of a Bᵀ panel's rows staged before the transposes: NR × 256 floats (32 KiB
     * on AVX-512) fit L1 beside the panel being written, which a whole 768-deep slice (96 KiB) does
     * not. A multiple of 16, so every piece but the slice's tail is whole transposes.
     */
    static final int STAGE = 256;
    /**
     * Depths of a stored-transposed A packed together ({@link #packA}): each panel gets this many
     * consecutive rows, 16 × 8 floats = 8 whole cache lines, before the next panel is written.
     */
    static final int PACK_GROUP = 16;

    private SgemmPack() {
    }

    private static FloatVector stage(int h, boolean lo) {
        return stage(S, h, lo);
    }

    private static FloatVector stage(VectorSpecies<Float> species, int h, boolean lo) {
        int v = species.length();
        float[] idx = new float[v];
        for (int l = 0; l < v; l++) {
            boolean clear = (l & h) == 0;
            idx[l] = lo ? (clear ? l : v + l - h) : (clear ? l + h : v + l);
        }
        return FloatVector.fromArray(species, idx, 0);
    }

    /**
     * Packs the panel of op(B) starting at column j0 (width columns; those at or past jEnd are zero),
     * rows p0..p0+kc-1, as [kc][width] at bp[base..]. A bfloat16 B ({@code half}) is widened exactly
     * as it is packed, so the micro-kernel and everything after it are the float32 path and B is read
     * at half the bytes. {@code staged} holds a Bᵀ panel's rows on their way to the transposes
     * ({@link Sgemm#NR} × {@link #STAGE} floats, the part's own).
     */
    static void packB(boolean transB, MemorySegment b, boolean half, int bOff, int ldb, int p0, int kc, int j0,
                      int jEnd, int width, float[] bp, int base, MemorySegment staged) {
        int nr = Math.min(width, jEnd - j0);
        if (!transB) {
            // Only the ragged last panel comes here: full ones are packed by packBRows.
            for (int p = 0; p < kc; p++) {
                int src = bOff + (p0 + p) * ldb + j0;
                int dst = base + p * width;
                for (int j = 0; j < width; j++) {
                    bp[dst + j] = j < nr ? SegmentAccess.get(b, half, src + j) : 0f;
                }
            }
        } else {
            // B is [n, k]: column j of op(B) is row j of B, contiguous in p. Full panels go through
            // V × V transposes in registers; element by element, this packing took about a fifth
            // of the product's CPU time when each packed element meets few rows of A (the LM
            // head's 128-row blocks: 1.19–1.33× less CPU time with the transposes, under load).
            int p = 0;
            if (nr == width && (V == 16 || V == 8)) {
                // The panel's rows are first copied whole, one after another, to a native buffer
                // (L1-sized), and transposed from there: read in place, a V-row transpose touches
                // 2V rows of B at once, 64 bytes each, and when B streams from memory (the LM head)
                // those short scattered reads stalled it; one row at a time is a stream the
                // prefetchers follow (about 8% less CPU time on the LM head's 128-row blocks, under load).
                // The rows go through the buffer in pieces of at most STAGE floats each, so it
                // stays the L1-sized 32 KiB it was at 256-deep slices (under load, no different
                // in time from staging a whole 768-deep slice; a third of the memory).
                long bytes = half ? 2 : 4;
                int full = kc - kc % V;
                for (int q0 = 0; q0 < full; q0 += STAGE) {
                    int len = Math.min(STAGE, full - q0);
                    for (int j = 0; j < width; j++) {
                        MemorySegment.copy(b, bytes * (bOff + (long) (j0 + j) * ldb + p0 + q0), staged, bytes * j * len,
                                bytes * len);
                    }
                    for (int q = 0; q < len; q += V) {
                        for (int jb = 0; jb < width; jb += V) {
                            int src = jb * len + q;
                            int dst = base + (q0 + q) * width + jb;
                            if (V == 16) {
                                transpose16(staged, half, src, len, bp, dst, width);
                            } else {
                                transpose8(staged, half, src, len, bp, dst, width);
                            }
                        }
                    }
                }
                p = full;
            }
            if (p == kc) {
                return;
            }
            int p1 = p;
            for (int j = 0; j < width; j++) {
                if (j < nr) {
                    int src = bOff + (j0 + j) * ldb + p0;
                    for (p = p1; p < kc; p++) {
                        bp[base + p * width + j] = SegmentAccess.get(b, half, src + p);
                    }
                } else {
                    for (p = p1; p < kc; p++) {
                        bp[base + p * width + j] = 0f;
                    }
                }
            }
        }
    }

    /**
     * Packs every panel of op(B) = B (untransposed) for columns j0..j1-1, rows p0..p0+kc-1, as
     * {@link #packB} would one panel at a time (panel q at bp[q·width·kc..]), but walking B row by
     * row so that each row's columns are read as one contiguous run. (Walking it in groups of
     * {@link #PACK_GROUP} rows, as {@link #packA} does a stored-transposed A, packed 10–20% faster
     * alone when B came from memory, but cost the LM head's input gradient ~4% of its CPU time on
     * one thread and moved the step's products within noise: a panel row here is 128 bytes, two
     * whole lines, so there are no half-written lines to save.)
     */
    static void packBRows(MemorySegment b, boolean half, int bOff, int ldb, int p0, int kc, int j0, int j1, int width,
                          float[] bp) {
        int full = (j1 - j0) / width;
        for (int p = 0; p < kc; p++) {
            int src = bOff + (p0 + p) * ldb + j0;
            for (int q = 0; q < full; q++) {
                int from = src + q * width;
                int dst = q * width * kc + p * width;
                for (int x = 0; x < width; x += V) {
                    SegmentAccess.load(b, half, from + x).intoArray(bp, dst + x);
                }
            }
        }
        if (full * width < j1 - j0) {
            packB(false, b, half, bOff, ldb, p0, kc, j0 + full * width, j1, width, bp, full * width * kc, null);
        }
    }

    /** Packs rows i0..i0+mc-1, depth p0..p0+kc-1 of op(A) as panels [kc][rows], zero-padded. */
    static void packA(boolean transA, MemorySegment a, int aOff, int lda, int i0, int mc, int p0, int kc, int rows, float[] ap) {
        if (transA) {
            // A is [k, m]: row p of A holds op(A)'s column p. Walk A in groups of PACK_GROUP rows
            // (each read a contiguous run of mc floats; the group, 16 KiB at mc = 256, stays in L1)
            // and write each panel's PACK_GROUP · rows floats (whole cache lines) before the next
            // panel's. Walking a panel down all of p instead strides by m floats (for m = 1024 every
            // row in one L1 set); one row of A at a time across all panels wrote each panel's line
            // in halves, the panels kc·rows floats apart (16 or 24 KiB: one L1 set again), so a
            // line was evicted between its halves (packing A took 8–20% of the weight gradients'
            // CPU time on one thread, under load).
            for (int g = 0; g < kc; g += PACK_GROUP) {
                int gEnd = Math.min(kc, g + PACK_GROUP);
                for (int ip = 0; ip < mc; ip += rows) {
                    int mr = Math.min(rows, mc - ip);
                    if (rows == 8 && mr == 8) { // a panel's 8 values at one depth are contiguous in A
                        for (int p = g; p < gEnd; p++) {
                            FloatVector.fromMemorySegment(S8, a, 4L * (aOff + (long) (p0 + p) * lda + i0 + ip), ORDER)
                                    .intoArray(ap, ip * kc + p * rows);
                        }
                        continue;
                    }
                    for (int p = g; p < gEnd; p++) {
                        int src = aOff + (p0 + p) * lda + i0 + ip;
                        int dst = ip * kc + p * rows;
                        for (int r = 0; r < rows; r++) {
                            ap[dst + r] = r < mr ? a.getAtIndex(JAVA_FLOAT, src + r) : 0f;
                        }
                    }
                }
            }
            return;
        }
        for (int ip = 0; ip < mc; ip += rows) {
            int mr = Math.min(rows, mc - ip);
            int base = ip * kc;
            int p1 = 0;
            if (rows == 8 && mr == 8) {
                // A full 8-row panel: 8 × 8 transposes in 256-bit registers. Element by element,
                // packing A was estimated at a tenth of the LM head's input gradient, where A is a
                // 128-row block of logits 50,257 deep and each thread packs all of it.
                long src = aOff + (long) (i0 + ip) * lda + p0;
                for (; p1 + 8 <= kc; p1 += 8) {
                    transposeRows8(a, src + p1, lda, ap, base + p1 * 8);
                }
            }
            for (int r = 0; r < rows; r++) {
                if (r < mr) {
                    int src = aOff + (i0 + ip + r) * lda + p0;
                    for (int p = p1; p < kc; p++) {
                        ap[base + p * rows + r] = a.getAtIndex(JAVA_FLOAT, src + p);
                    }
                } else {
                    for (int p = p1; p < kc; p++) {
                        ap[base + p * rows + r] = 0f;
                    }
                }
            }
        }
    }

    /*
     * The transposes below are written out lane by lane (generated, not looped over an array) so
     * that C2 keeps all V vectors in registers: a FloatVector[] would box them.
     */

    /** Rows src, src + ldb, … (V = 16 of them) × 16 columns of B, transposed into bp: lane i of packed row q is B row i's element q. */
    private static void transpose16(MemorySegment b, boolean half, int src, int ldb, float[] bp, int dst, int width) {
        FloatVector x0 = SegmentAccess.load(b, half, src);
        FloatVector x1 = SegmentAccess.load(b, half, src + 1L * ldb);
        FloatVector x2 = SegmentAccess.load(b, half, src + 2L * ldb);
        FloatVector x3 = SegmentAccess.load(b, half, src + 3L * ldb);
        FloatVector x4 = SegmentAccess.load(b, half, src + 4L * ldb);
        FloatVector x5 = SegmentAccess.load(b, half, src + 5L * ldb);
        FloatVector x6 = SegmentAccess.load(b, half, src + 6L * ldb);
        FloatVector x7 = SegmentAccess.load(b, half, src + 7L * ldb);
        FloatVector x8 = SegmentAccess.load(b, half, src + 8L * ldb);
        FloatVector x9 = SegmentAccess.load(b, half, src + 9L * ldb);
        FloatVector x10 = SegmentAccess.load(b, half, src + 10L * ldb);
        FloatVector x11 = SegmentAccess.load(b, half, src + 11L * ldb);
        FloatVector x12 = SegmentAccess.load(b, half, src + 12L * ldb);
        FloatVector x13 = SegmentAccess.load(b, half, src + 13L * ldb);
        FloatVector x14 = SegmentAccess.load(b, half, src + 14L * ldb);
        FloatVector x15 = SegmentAccess.load(b, half, src + 15L * ldb);
        FloatVector y8_0 = LO8.selectFrom(x0, x8);
        x8 = HI8.selectFrom(x0, x8);
        x0 = y8_0;
        FloatVector y8_1 = LO8.selectFrom(x1, x9);
        x9 = HI8.selectFrom(x1, x9);
        x1 = y8_1;
        FloatVector y8_2 = LO8.selectFrom(x2, x10);
        x10 = HI8.selectFrom(x2, x10);
        x2 = y8_2;
        FloatVector y8_3 = LO8.selectFrom(x3, x11);
        x11 = HI8.selectFrom(x3, x11);
        x3 = y8_3;
        FloatVector y8_4 = LO8.selectFrom(x4, x12);
        x12 = HI8.selectFrom(x4, x12);
        x4 = y8_4;
        FloatVector y8_5 = LO8.selectFrom(x5, x13);
        x13 = HI8.selectFrom(x5, x13);
        x5 = y8_5;
        FloatVector y8_6 = LO8.selectFrom(x6, x14);
        x14 = HI8.selectFrom(x6, x14);
        x6 = y8_6;
        FloatVector y8_7 = LO8.selectFrom(x7, x15);
        x15 = HI8.selectFrom(x7, x15);
        x7 = y8_7;
        FloatVector y4_0 = LO4.selectFrom(x0, x4);
        x4 = HI4.selectFrom(x0, x4);
        x0 = y4_0;
        FloatVector y4_1 = LO4.selectFrom(x1, x5);
        x5 = HI4.selectFrom(x1, x5);
        x1 = y4_1;
        FloatVector y4_2 = LO4.selectFrom(x2, x6);
        x6 = HI4.selectFrom(x2, x6);
        x2 = y4_2;
        FloatVector y4_3 = LO4.selectFrom(x3, x7);
        x7 = HI4.selectFrom(x3, x7);
        x3 = y4_3;
        FloatVector y4_8 = LO4.selectFrom(x8, x12);
        x12 = HI4.selectFrom(x8, x12);
        x8 = y4_8;
        FloatVector y4_9 = LO4.selectFrom(x9, x13);
        x13 = HI4.selectFrom(x9, x13);
        x9 = y4_9;
        FloatVector y4_10 = LO4.selectFrom(x10, x14);
        x14 = HI4.selectFrom(x10, x14);
        x10 = y4_10;
        FloatVector y4_11 = LO4.selectFrom(x11, x15);
        x15 = HI4.selectFrom(x11, x15);
        x11 = y4_11;
        FloatVector y2_0 = LO2.selectFrom(x0, x2);
        x2 = HI2.selectFrom(x0, x2);
        x0 = y2_0;
        FloatVector y2_1 = LO2.selectFrom(x1, x3);
        x3 = HI2.selectFrom(x1, x3);
        x1 = y2_1;
        FloatVector y2_4 = LO2.selectFrom(x4, x6);
        x6 = HI2.selectFrom(x4, x6);
        x4 = y2_4;
        FloatVector y2_5 = LO2.selectFrom(x5, x7);
        x7 = HI2.selectFrom(x5, x7);
        x5 = y2_5;
        FloatVector y2_8 = LO2.selectFrom(x8, x10);
        x10 = HI2.selectFrom(x8, x10);
        x8 = y2_8;
        FloatVector y2_9 = LO2.selectFrom(x9, x11);
        x11 = HI2.selectFrom(x9, x11);
        x9 = y2_9;
        FloatVector y2_12 = LO2.selectFrom(x12, x14);
        x14 = HI2.selectFrom(x12, x14);
        x12 = y2_12;
        FloatVector y2_13 = LO2.selectFrom(x13, x15);
        x15 = HI2.selectFrom(x13, x15);
        x13 = y2_13;
        FloatVector y1_0 = LO1.selectFrom(x0, x1);
        x1 = HI1.selectFrom(x0, x1);
        x0 = y1_0;
        FloatVector y1_2 = LO1.selectFrom(x2, x3);
        x3 = HI1.selectFrom(x2, x3);
        x2 = y1_2;
        FloatVector y1_4 = LO1.selectFrom(x4, x5);
        x5 = HI1.selectFrom(x4, x5);
        x4 = y1_4;
        FloatVector y1_6 = LO1.selectFrom(x6, x7);
        x7 = HI1.selectFrom(x6, x7);
        x6 = y1_6;
        FloatVector y1_8 = LO1.selectFrom(x8, x9);
        x9 = HI1.selectFrom(x8, x9);
        x8 = y1_8;
        FloatVector y1_10 = LO1.selectFrom(x10, x11);
        x11 = HI1.selectFrom(x10, x11);
        x10 = y1_10;
        FloatVector y1_12 = LO1.selectFrom(x12, x13);
        x13 = HI1.selectFrom(x12, x13);
        x12 = y1_12;
        FloatVector y1_14 = LO1.selectFrom(x14, x15);
        x15 = HI1.selectFrom(x14, x15);
        x14 = y1_14;
        x0.intoArray(bp, dst);
        x1.intoArray(bp, dst + 1 * width);
        x2.intoArray(bp, dst + 2 * width);
        x3.intoArray(bp, dst + 3 * width);
        x4.intoArray(bp, dst + 4 * width);
        x5.intoArray(bp, dst + 5 * width);
        x6.intoArray(bp, dst + 6 * width);
        x7.intoArray(bp, dst + 7 * width);
        x8.intoArray(bp, dst + 8 * width);
        x9.intoArray(bp, dst + 9 * width);
        x10.intoArray(bp, dst + 10 * width);
        x11.intoArray(bp, dst + 11 * width);
        x12.intoArray(bp, dst + 12 * width);
        x13.intoArray(bp, dst + 13 * width);
        x14.intoArray(bp, dst + 14 * width);
        x15.intoArray(bp, dst + 15 * width);
    }

    /** Rows src, src + ldb, … (V = 8 of them) × 8 columns of B, transposed into bp: lane i of packed row q is B row i's element q. */
    private static void transpose8(MemorySegment b, boolean half, int src, int ldb, float[] bp, int dst, int width) {
        FloatVector x0 = SegmentAccess.load(b, half, src);
        FloatVector x1 = SegmentAccess.load(b, half, src + 1L * ldb);
        FloatVector x2 = SegmentAccess.load(b, half, src + 2L * ldb);
        FloatVector x3 = SegmentAccess.load(b, half, src + 3L * ldb);
        FloatVector x4 = SegmentAccess.load(b, half, src + 4L * ldb);
        FloatVector x5 = SegmentAccess.load(b, half, src + 5L * ldb);
        FloatVector x6 = SegmentAccess.load(b, half, src + 6L * ldb);
        FloatVector x7 = SegmentAccess.load(b, half, src + 7L * ldb);
        FloatVector y4_0 = LO4.selectFrom(x0, x4);
        x4 = HI4.selectFrom(x0, x4);
        x0 = y4_0;
        FloatVector y4_1 = LO4.selectFrom(x1, x5);
        x5 = HI4.selectFrom(x1, x5);
        x1 = y4_1;
        FloatVector y4_2 = LO4.selectFrom(x2, x6);
        x6 = HI4.selectFrom(x2, x6);
        x2 = y4_2;
        FloatVector y4_3 = LO4.selectFrom(x3, x7);
        x7 = HI4.selectFrom(x3, x7);
        x3 = y4_3;
        FloatVector y2_0 = LO2.selectFrom(x0, x2);
        x2 = HI2.selectFrom(x0, x2);
        x0 = y2_0;
        FloatVector y2_1 = LO2.selectFrom(x1, x3);
        x3 = HI2.selectFrom(x1, x3);
        x1 = y2_1;
        FloatVector y2_4 = LO2.selectFrom(x4, x6);
        x6 = HI2.selectFrom(x4, x6);
        x4 = y2_4;
        FloatVector y2_5 = LO2.selectFrom(x5, x7);
        x7 = HI2.selectFrom(x5, x7);
        x5 = y2_5;
        FloatVector y1_0 = LO1.selectFrom(x0, x1);
        x1 = HI1.selectFrom(x0, x1);
        x0 = y1_0;
        FloatVector y1_2 = LO1.selectFrom(x2, x3);
        x3 = HI1.selectFrom(x2, x3);
        x2 = y1_2;
        FloatVector y1_4 = LO1.selectFrom(x4, x5);
        x5 = HI1.selectFrom(x4, x5);
        x4 = y1_4;
        FloatVector y1_6 = LO1.selectFrom(x6, x7);
        x7 = HI1.selectFrom(x6, x7);
        x6 = y1_6;
        x0.intoArray(bp, dst);
        x1.intoArray(bp, dst + 1 * width);
        x2.intoArray(bp, dst + 2 * width);
        x3.intoArray(bp, dst + 3 * width);
        x4.intoArray(bp, dst + 4 * width);
        x5.intoArray(bp, dst + 5 * width);
        x6.intoArray(bp, dst + 6 * width);
        x7.intoArray(bp, dst + 7 * width);
    }

    /** Rows src, src + lda, … (8 of them) × 8 columns of A, transposed into ap: lane r of packed row q is A row r's element q. */
    private static void transposeRows8(MemorySegment a, long src, int lda, float[] ap, int dst) {
        FloatVector x0 = FloatVector.fromMemorySegment(S8, a, 4 * src, ORDER);
        FloatVector x1 = FloatVector.fromMemorySegment(S8, a, 4 * (src + 1L * lda), ORDER);
        FloatVector x2 = FloatVector.fromMemorySegment(S8, a, 4 * (src + 2L * lda), ORDER);
        FloatVector x3 = FloatVector.fromMemorySegment(S8, a, 4 * (src + 3L * lda), ORDER);
        FloatVector x4 = FloatVector.fromMemorySegment(S8, a, 4 * (src + 4L * lda), ORDER);
        FloatVector x5 = FloatVector.fromMemorySegment(S8, a, 4 * (src + 5L * lda), ORDER);
        FloatVector x6 = FloatVector.fromMemorySegment(S8, a, 4 * (src + 6L * lda), ORDER);
        FloatVector x7 = FloatVector.fromMemorySegment(S8, a, 4 * (src + 7L * lda), ORDER);
        FloatVector y4_0 = A_LO4.selectFrom(x0, x4);
        x4 = A_HI4.selectFrom(x0, x4);
        x0 = y4_0;
        FloatVector y4_1 = A_LO4.selectFrom(x1, x5);
        x5 = A_HI4.selectFrom(x1, x5);
        x1 = y4_1;
        FloatVector y4_2 = A_LO4.selectFrom(x2, x6);
        x6 = A_HI4.selectFrom(x2, x6);
        x2 = y4_2;
        FloatVector y4_3 = A_LO4.selectFrom(x3, x7);
        x7 = A_HI4.selectFrom(x3, x7);
        x3 = y4_3;
        FloatVector y2_0 = A_LO2.selectFrom(x0, x2);
        x2 = A_HI2.selectFrom(x0, x2);
        x0 = y2_0;
        FloatVector y2_1 = A_LO2.selectFrom(x1, x3);
        x3 = A_HI2.selectFrom(x1, x3);
        x1 = y2_1;
        FloatVector y2_4 = A_LO2.selectFrom(x4, x6);
        x6 = A_HI2.selectFrom(x4, x6);
        x4 = y2_4;
        FloatVector y2_5 = A_LO2.selectFrom(x5, x7);
        x7 = A_HI2.selectFrom(x5, x7);
        x5 = y2_5;
        FloatVector y1_0 = A_LO1.selectFrom(x0, x1);
        x1 = A_HI1.selectFrom(x0, x1);
        x0 = y1_0;
        FloatVector y1_2 = A_LO1.selectFrom(x2, x3);
        x3 = A_HI1.selectFrom(x2, x3);
        x2 = y1_2;
        FloatVector y1_4 = A_LO1.selectFrom(x4, x5);
        x5 = A_HI1.selectFrom(x4, x5);
        x4 = y1_4;
        FloatVector y1_6 = A_LO1.selectFrom(x6, x7);
        x7 = A_HI1.selectFrom(x6, x7);
        x6 = y1_6;
        x0.intoArray(ap, dst);
        x1.intoArray(ap, dst + 8);
        x2.intoArray(ap, dst + 16);
        x3.intoArray(ap, dst + 24);
        x4.intoArray(ap, dst + 32);
        x5.intoArray(ap, dst + 40);
        x6.intoArray(ap, dst + 48);
        x7.intoArray(ap, dst + 56);
    }

}
