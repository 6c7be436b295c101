package dev.nola.adapter;

import dev.nola.adapter.optim.Parameter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What NOLA and LoRA share: the mixed factors A [r, in] and B [out, r] on the device, the forward and
 * backward passes through {@link dev.nola.kernels.AdapterOps}, the delta weight and merging, and the
 * flat host views of the device-side parameters. Subclasses say which device tensors are trainable
 * ({@link #parameterSet()}), how the factors are produced from them ({@link #refreshFactors}) and how
 * factor gradients become parameter gradients ({@link #accumulateGradients}), all on the device.
 */
abstract class LowRankAdapter implements Adapter {

    protected final Device device;
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
    /** The parameters' versions when the factors were last computed; null when they must be. */
    private long[] mixedAt;
    private boolean closed;

    protected LowRankAdapter(Device device, int in, int out, int rank, float scale) {
        this.device = Checks.notNull("device", device);
        this.in = Checks.positive("in", in);
        this.out = Checks.positive("out", out);
        this.rank = Checks.positive("rank", rank);
        this.scale = Checks.finite("scale", scale);
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

    /** Adds the gradients for the parameters given dL/dA (da) and dL/dB (db) to the parameters' gradients, on the device. */
    protected abstract void accumulateGradients(Tensor da, Tensor db);

    /** Marks the factors stale. */
    protected final void invalidate() {
        mixedAt = null;
    }

    protected final void open() {
        if (closed) {
            throw new IllegalStateException("adapter is closed");
        }
    }

    private void ensureFactors() {
        open();
        List<Parameter> ps = parameterSet().list();
        boolean stale = mixedAt == null;
        for (int i = 0; !stale && i < ps.size(); i++) {
            stale = ps.get(i).version() != mixedAt[i];
        }
        if (stale) {
            refreshFactors();
            long[] v = new long[ps.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = ps.get(i).version();
            }
            mixedAt = v;
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
        device.adapter().forward(x, a, b, scale, h, y);
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
        device.adapter().backward(lastX, a, b, scale, h, dy, dh, dx, da, db);
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
        device.linalg().matmul(false, false, scale, b, a, 0f, w);
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
        device.linalg().matmul(false, false, factor, b, a, 1f, w);
    }

    @Override
    public int parameterCount() {
        return Math.toIntExact(parameterSet().count());
    }

    @Override
    public float[] parameters() {
        open();
        float[] p = new float[parameterCount()];
        int at = 0;
        for (Parameter q : parameterSet().list()) {
            device.read(q.value(), 0, p, at, (int) q.size());
            at += (int) q.size();
        }
        return p;
    }

    @Override
    public void setParameters(float[] values) {
        open();
        checkParameters(values);
        int at = 0;
        for (Parameter q : parameterSet().list()) {
            device.write(q.value(), 0, values, at, (int) q.size());
            at += (int) q.size();
            q.touch();
        }
    }

    @Override
    public float[] gradients() {
        open();
        float[] g = new float[parameterCount()];
        int at = 0;
        for (Parameter q : parameterSet().list()) {
            device.read(q.grad(), 0, g, at, (int) q.size());
            at += (int) q.size();
        }
        return g;
    }

    @Override
    public void zeroGradients() {
        open();
        parameterSet().zeroGradients();
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
