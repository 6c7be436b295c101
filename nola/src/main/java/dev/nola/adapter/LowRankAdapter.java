package dev.nola.adapter;

import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Ops;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What NOLA and LoRA share: the mixed factors A [r, in] and B [out, r] on the device, the forward and
 * backward passes through {@link Ops#adapterForward} / {@link Ops#adapterBackward}, the delta weight
 * and merging. Subclasses say how the factors are produced from the trainable parameters
 * ({@link #refreshFactors}) and how factor gradients become parameter gradients
 * ({@link #accumulateGradients}).
 */
abstract class LowRankAdapter implements Adapter {

    protected final Device device;
    protected final Ops ops;
    protected final int in;
    protected final int out;
    protected final int rank;
    protected final float scale;
    /** A [r, in] and B [out, r], current after {@link #ensureFactors()}. */
    protected final Tensor a;
    protected final Tensor b;
    private final List<Tensor> owned = new ArrayList<>();
    private final List<Runnable> closeActions = new ArrayList<>();
    private final Tensor da;
    private final Tensor db;
    private Tensor h;
    private Tensor dh;
    private Tensor lastX;
    private boolean dirty = true;
    private boolean closed;

    protected LowRankAdapter(Device device, int in, int out, int rank, float scale) {
        this.device = Checks.notNull("device", device);
        this.in = Checks.positive("in", in);
        this.out = Checks.positive("out", out);
        this.rank = Checks.positive("rank", rank);
        this.scale = Checks.finite("scale", scale);
        this.ops = device.ops();
        this.a = own(device.allocate(rank, in));
        this.b = own(device.allocate(out, rank));
        this.da = own(device.allocate(rank, in));
        this.db = own(device.allocate(out, rank));
    }

    /** Registers a tensor to be closed with the adapter. */
    protected final Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    /** Registers an action to run when the adapter closes (after its own tensors are closed). */
    protected final void onClose(Runnable action) {
        closeActions.add(action);
    }

    /** Recomputes {@link #a} and {@link #b} from the parameters. */
    protected abstract void refreshFactors();

    /** Adds the gradients for the parameters given dL/dA (da) and dL/dB (db) to the host gradients. */
    protected abstract void accumulateGradients(Tensor da, Tensor db);

    /** Marks the factors stale after a parameter change. */
    protected final void invalidate() {
        dirty = true;
    }

    protected final void open() {
        if (closed) {
            throw new IllegalStateException("adapter is closed");
        }
    }

    private void ensureFactors() {
        open();
        if (dirty) {
            refreshFactors();
            dirty = false;
        }
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public float scale() {
        return scale;
    }

    @Override
    public void forward(Tensor x, Tensor y) {
        ensureFactors();
        // tensors' devices are checked by the ops (against the device that owns them)
        Checks.notNull("x", x);
        int[] xs = Checks.matrix("x", x);
        if (xs[1] != in) {
            throw new IllegalArgumentException("x has shape " + Arrays.toString(xs) + ", expected [N, " + in + "]");
        }
        int tokens = xs[0];
        if (h == null || h.dim(0) != tokens) {
            if (h != null) {
                owned.remove(h);
                owned.remove(dh);
                h.close();
                dh.close();
            }
            h = own(device.allocate(tokens, rank));
            dh = own(device.allocate(tokens, rank));
        }
        ops.adapterForward(x, a, b, scale, h, y);
        lastX = x;
    }

    @Override
    public void backward(Tensor dy, Tensor dx) {
        open();
        if (lastX == null) {
            throw new IllegalStateException("backward called before forward");
        }
        if (lastX.isClosed()) {
            throw new IllegalStateException("the input x of the last forward has been closed");
        }
        ops.adapterBackward(lastX, a, b, scale, h, dy, dh, dx, da, db);
        accumulateGradients(da, db);
    }

    @Override
    public Tensor factorA() {
        ensureFactors();
        return a;
    }

    @Override
    public Tensor factorB() {
        ensureFactors();
        return b;
    }

    @Override
    public Tensor deltaWeight() {
        ensureFactors();
        Tensor w = device.allocate(out, in);
        ops.matmul(false, false, scale, b, a, 0f, w);
        return w;
    }

    @Override
    public void merge(Tensor w) {
        addDelta("w", w, scale);
    }

    @Override
    public void unmerge(Tensor w) {
        addDelta("w", w, -scale);
    }

    private void addDelta(String name, Tensor w, float factor) {
        ensureFactors();
        Checks.notNull(name, w);
        Checks.matrix(name, w, out, in, "the base weight [out, in]");
        ops.matmul(false, false, factor, b, a, 1f, w);
    }

    /** Checks a parameter array's length and finiteness. */
    protected final void checkParameters(float[] values) {
        Checks.notNull("values", values);
        if (values.length != parameterCount()) {
            throw new IllegalArgumentException("values has " + values.length + " elements, expected "
                    + parameterCount() + " (parameterCount)");
        }
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new IllegalArgumentException("values[" + i + "] is " + values[i] + "; parameters must be finite");
            }
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (Tensor t : owned) {
                t.close();
            }
            owned.clear();
            for (Runnable r : closeActions) {
                r.run();
            }
            closeActions.clear();
        }
    }
}
