package dev.nola.models.transformer;

import dev.nola.kernels.Checks;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * The one loss of the models: the mean cross-entropy of softmax(logits) rows against integer targets,
 * optionally label-smoothed as PyTorch's {@code F.cross_entropy(label_smoothing = ε)}, over the rows whose
 * target is not {@link #IGNORE} (next-token prediction masks prompts and padding; classification counts
 * every image). The per-row losses stay on the device until {@link #mean()} reads them (so a whole step
 * can run as one captured unit); {@link #backward} overwrites the logits with their gradient (fused with
 * the softmax), scaled by 1 / counted rows.
 */
public final class CrossEntropyLoss implements AutoCloseable {

    /** The target of a row that takes no part in the loss. */
    public static final int IGNORE = -1;

    private final Device device;
    private Tensor targets;
    private Tensor losses;
    private float smoothing;
    /** Rows counted by the last forward (the divisor of the mean; kept through backward). */
    private int counted;
    /** Whether the last forward still awaits its backward. */
    private boolean pending;

    /** A loss whose buffers live on {@code device}. */
    public CrossEntropyLoss(Device device) {
        this.device = Checks.notNull("device", device);
    }

    /**
     * The rows of {@code targets} that count (not {@link #IGNORE}); an error naming the problem when
     * there are {@code n} rows expected and a different number given, or none counts. Call it before a
     * forward pass, so bad targets cost nothing.
     */
    public static int countTargets(int[] targets, int n) {
        Checks.notNull("targets", targets);
        if (targets.length != n) {
            throw new IllegalArgumentException("targets has " + targets.length + " entries, expected " + n);
        }
        int c = 0;
        for (int x : targets) {
            if (x != IGNORE) {
                c++;
            }
        }
        if (c == 0) {
            throw new IllegalArgumentException("every target is IGNORE; there is no loss to compute");
        }
        return c;
    }

    /**
     * The per-row losses of {@code logits} [N, V] against {@code targets} [N] (each in [0, V) or
     * {@link #IGNORE}), with label smoothing ε in [0, 1).
     */
    public void forward(Tensor logits, int[] targets, float labelSmoothing) {
        prepare(targets, logits.dim(0), labelSmoothing);
        forwardRows(logits, 0);
    }

    /**
     * Takes the targets [N] of a forward whose logits come in row blocks ({@link #forwardRows}): checks
     * and counts them (once), writes them to the device, and sets the smoothing. Nothing is computed yet.
     */
    public void prepare(int[] targets, int n, float labelSmoothing) {
        int c = countTargets(targets, n);
        if (this.targets == null || this.targets.dim(0) != n) {
            close();
            this.targets = device.allocate(DType.INT32, n);
            this.losses = device.allocate(n);
        }
        device.write(this.targets, targets);
        this.smoothing = labelSmoothing;
        this.counted = c;
        this.pending = true;
    }

    /**
     * The losses of rows [row0, row0 + R) of the prepared targets from their logits [R, V] (a block of
     * the whole [N, V], which need never exist at once).
     */
    public void forwardRows(Tensor logits, int row0) {
        if (!pending) {
            throw new IllegalStateException("forwardRows needs prepared targets first");
        }
        int r = logits.dim(0);
        device.nn().crossEntropyForward(logits, targets.view(row0, r), losses.view(row0, r), smoothing, IGNORE);
    }

    /**
     * Overwrites a block of logits [R, V] (rows from {@code row0}) with dL/d(logits) of the mean loss;
     * the block's rows must have gone through {@link #forwardRows} since {@link #prepare}.
     */
    public void backwardRows(Tensor logits, int row0) {
        if (!pending) {
            throw new IllegalStateException("backwardRows needs a forward with targets first");
        }
        int r = logits.dim(0);
        Tensor t = targets.view(row0, r);
        device.nn().crossEntropyBackward(logits, t, logits, smoothing, IGNORE, 1f / counted);
    }

    /** The mean loss of the last forward (reads N floats back, summed in order in double); valid after backward too. */
    public double mean() {
        if (counted == 0) {
            throw new IllegalStateException("no forward with targets yet");
        }
        float[] l = device.read(losses);
        double sum = 0;
        for (float x : l) {
            sum += x;
        }
        return sum / counted;
    }

    /** Writes dL/d(logits) of the last forward's mean loss into {@code logits} itself; once per forward. */
    public void backward(Tensor logits) {
        if (!pending) {
            throw new IllegalStateException("backward needs a forward with targets first");
        }
        backwardRows(logits, 0);
        pending = false;
    }

    /** Frees the buffers. */
    @Override
    public void close() {
        if (targets != null) {
            targets.close();
            losses.close();
            targets = null;
            losses = null;
        }
    }
}
