package dev.nola.models.lm;

import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.LinalgOps;
import dev.nola.kernels.Tensor;
import dev.nola.models.transformer.CrossEntropyLoss;

/**
 * The output head of a causal LM, logits = normed·headᵀ ([N, C]·[V, C]ᵀ), fused with the loss in row
 * blocks so that the [N, V] logits of a training step never exist whole: each block of R rows is
 * projected into one [R, V] buffer, its losses are taken, and — when a gradient is asked for — the
 * block is turned into dL/d(logits) in place and pushed through the head at once (dnormed rows =
 * dlogits·head; dhead += dlogitsᵀ·normed rows when the head trains), before the next block reuses
 * the buffer. The gradient is therefore computed in the forward pass (the loss's scale, 1 / counted
 * rows, is known there), which costs no more matmuls than the unfused head and recomputes nothing.
 *
 * <p>Memory: R·V floats instead of N·V. R comes from a byte budget ({@link #BLOCK_BYTES}): a block
 * must stay large enough for the head's matmuls to run as efficiently as one product over all rows
 * (each call reads, and on cpu packs, the whole [V, C] head, so very small blocks pay that many times).
 */
final class LmHead implements AutoCloseable {

    /**
     * Bytes of one block of logits when no row count is set (the blocks split N evenly): GPT-2's
     * 4 × 128 rows at V = 50,257 run as 4 blocks of 128. Why not fewer, larger blocks: with today's
     * {@code Sgemm} a block of ≥ 192 rows makes the dnormed product (n = C = 768) split C by rows, so
     * that every thread packs the whole head for itself; below that each call packs it once in all.
     */
    static final long BLOCK_BYTES = 32L << 20;

    private final Device device;
    private final int vocabulary;
    private int rowsSetting;
    private Tensor block;

    LmHead(Device device, int vocabulary) {
        this.device = device;
        this.vocabulary = vocabulary;
    }

    /** Rows per block, or 0 to take them from {@link #BLOCK_BYTES}. */
    void rows(int rows) {
        if (rows < 0) {
            throw new IllegalArgumentException("head block rows is " + rows + "; expected ≥ 1, or 0 for automatic");
        }
        this.rowsSetting = rows;
    }

    /** The rows of one block for N rows in all: the set count, else N split evenly under the byte budget. */
    int rowsFor(int n) {
        if (rowsSetting > 0) {
            return Math.min(rowsSetting, n);
        }
        long bytes = (long) n * vocabulary * Float.BYTES;
        int blocks = (int) Math.max(1, (bytes + BLOCK_BYTES - 1) / BLOCK_BYTES);
        return (n + blocks - 1) / blocks;
    }

    /**
     * The per-row losses of the prepared {@code loss} for every row of {@code normed} [N, C], and with
     * {@code dnormed} (else null) dL/d(normed) [N, C] written and, with {@code dhead} (else null),
     * dL/d(head) [V, C] accumulated.
     */
    void loss(Tensor normed, Tensor head, CrossEntropyLoss loss, Tensor dnormed, Tensor dhead) {
        int n = normed.dim(0);
        int c = normed.dim(1);
        int rows = rowsFor(n);
        LinalgOps la = device.linalg();
        for (int r0 = 0; r0 < n; r0 += rows) {
            int r = Math.min(rows, n - r0);
            Tensor x = normed.view((long) r0 * c, r, c);
            Tensor logits = block(rows).view(0, r, vocabulary);
            la.matmul(false, true, 1f, x, head, 0f, logits);
            loss.forwardRows(logits, r0);
            if (dnormed != null) {
                loss.backwardRows(logits, r0);
                la.matmul(false, false, 1f, logits, head, 0f, dnormed.view((long) r0 * c, r, c));
                if (dhead != null) {
                    la.matmul(true, false, 1f, logits, x, 1f, dhead);
                }
            }
        }
    }

    /**
     * The logits of rows {@code last}, {@code last + stride}, … of {@code normed} ({@code out}'s row
     * count of them) into {@code out} [M, V]: the rows generation needs, without the others.
     */
    void logits(Tensor normed, int first, int stride, Tensor head, Tensor out) {
        int m = out.dim(0);
        int c = normed.dim(1);
        Checks.positive("stride", stride);
        Tensor x = normed.view((long) first * c, ((m - 1) * stride + 1) * c);
        device.linalg().matmulBatched(false, true, 1, m, vocabulary, c, 1f, x, stride * c, 0, head, c, 0,
                0f, out, vocabulary, 0);
    }

    private Tensor block(int rows) {
        if (block == null || block.dim(0) < rows) {
            close();
            block = device.allocate(rows, vocabulary);
        }
        return block;
    }

    /** Frees the block buffer. */
    @Override
    public void close() {
        if (block != null) {
            block.close();
            block = null;
        }
    }
}
