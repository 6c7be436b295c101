package dev.nola.kernels;

import static dev.nola.kernels.Checks.finite;
import static dev.nola.kernels.Checks.matrix;
import static dev.nola.kernels.Checks.nonNegative;
import static dev.nola.kernels.Checks.notNull;
import static dev.nola.kernels.Checks.on;
import static dev.nola.kernels.Checks.positive;
import static dev.nola.kernels.Checks.size;

/**
 * The one place where op arguments are checked. Every backend extends this class and implements
 * only the {@code do…} kernels, which may assume valid, open, same-device tensors of the sizes
 * passed to them; so bad input fails identically on every backend and never reaches a kernel.
 *
 * <p>The adapter forward and backward are composed of {@link #doMatmul} calls here; a backend may
 * override them with fused kernels.
 */
public abstract class AbstractOps implements Ops {

    /** The device whose tensors these ops accept. */
    protected final Device device;

    protected AbstractOps(Device device) {
        this.device = notNull("device", device);
    }

    private void open() {
        if (device.isClosed()) {
            throw new IllegalStateException("device " + device.id() + " is closed");
        }
    }

    @Override
    public final void basis(BasisStream stream, int firstIndex, int count, Tensor out) {
        notNull("stream", stream);
        nonNegative("firstIndex", firstIndex);
        positive("count", count);
        open();
        on(device, "out", out);
        if (out.size() % count != 0) {
            throw new IllegalArgumentException("out has " + out.size() + " elements, not a multiple of count " + count);
        }
        if ((long) firstIndex + count - 1 > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("firstIndex + count - 1 = " + ((long) firstIndex + count - 1)
                    + " exceeds the largest basis index " + Integer.MAX_VALUE);
        }
        doBasis(stream, firstIndex, count, out.size() / count, out);
    }

    @Override
    public final void mix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out) {
        open();
        on(device, "coefficients", coefficients);
        on(device, "basis", basis);
        on(device, "out", out);
        long k = coefficients.size();
        long n = out.size();
        size("basis", basis, k * n, "coefficients.size() * out.size() = " + k + " * " + n);
        checkOffset(offset, n);
        noAlias("out", out, "coefficients", coefficients);
        noAlias("out", out, "basis", basis);
        doMix(coefficients, basis, offset, out, (int) k, n);
    }

    @Override
    public final void mixGenerated(Tensor coefficients, BasisStream stream, Tensor offset, Tensor out) {
        notNull("stream", stream);
        open();
        on(device, "coefficients", coefficients);
        on(device, "out", out);
        checkOffset(offset, out.size());
        noAlias("out", out, "coefficients", coefficients);
        doMixGenerated(coefficients, stream, offset, out, (int) coefficients.size(), out.size());
    }

    @Override
    public final void coefficientGradient(Tensor basis, Tensor grad, Tensor out) {
        open();
        on(device, "basis", basis);
        on(device, "grad", grad);
        on(device, "out", out);
        long k = out.size();
        long n = grad.size();
        size("basis", basis, k * n, "out.size() * grad.size() = " + k + " * " + n);
        noAlias("out", out, "grad", grad);
        noAlias("out", out, "basis", basis);
        doCoefficientGradient(basis, grad, out, (int) k, n);
    }

    @Override
    public final void coefficientGradientGenerated(BasisStream stream, Tensor grad, Tensor out) {
        notNull("stream", stream);
        open();
        on(device, "grad", grad);
        on(device, "out", out);
        noAlias("out", out, "grad", grad);
        doCoefficientGradientGenerated(stream, grad, out, (int) out.size(), grad.size());
    }

    @Override
    public final void matmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        finite("alpha", alpha);
        finite("beta", beta);
        open();
        on(device, "a", a);
        on(device, "b", b);
        on(device, "c", c);
        int[] as = matrix("a", a);
        int[] bs = matrix("b", b);
        int[] cs = matrix("c", c);
        int m = transA ? as[1] : as[0];
        int ka = transA ? as[0] : as[1];
        int kb = transB ? bs[1] : bs[0];
        int n = transB ? bs[0] : bs[1];
        if (ka != kb) {
            throw new IllegalArgumentException("inner dimensions differ: op(a) is [" + m + ", " + ka + "], op(b) is ["
                    + kb + ", " + n + "] (transA=" + transA + ", transB=" + transB + ")");
        }
        if (cs[0] != m || cs[1] != n) {
            throw new IllegalArgumentException("c has shape [" + cs[0] + ", " + cs[1] + "], expected [" + m + ", " + n
                    + "] = rows of op(a) by columns of op(b)");
        }
        noAlias("c", c, "a", a);
        noAlias("c", c, "b", b);
        doMatmul(transA, transB, alpha, a, b, beta, c, m, n, ka);
    }

    @Override
    public final void adapterForward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor y) {
        finite("scale", scale);
        open();
        int[] dims = adapterDims(x, a, b, h);
        on(device, "y", y);
        matrix("y", y, dims[0], dims[3], "tokens by out = rows of b");
        noAlias("y", y, "x", x);
        noAlias("h", h, "x", x);
        doAdapterForward(x, a, b, scale, h, y, dims[0], dims[1], dims[2], dims[3]);
    }

    @Override
    public final void adapterBackward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor dy,
                                      Tensor dh, Tensor dx, Tensor da, Tensor db) {
        finite("scale", scale);
        open();
        int[] d = adapterDims(x, a, b, h);
        int tokens = d[0];
        int in = d[1];
        int r = d[2];
        int out = d[3];
        on(device, "dy", dy);
        on(device, "dh", dh);
        on(device, "da", da);
        on(device, "db", db);
        matrix("dy", dy, tokens, out, "tokens by out");
        matrix("dh", dh, tokens, r, "tokens by rank");
        matrix("da", da, r, in, "the shape of a");
        matrix("db", db, out, r, "the shape of b");
        if (dx != null) {
            on(device, "dx", dx);
            matrix("dx", dx, tokens, in, "the shape of x");
        }
        Tensor[] outputs = {dh, dx, da, db};
        String[] outNames = {"dh", "dx", "da", "db"};
        Tensor[] inputs = {x, a, b, h, dy};
        String[] inNames = {"x", "a", "b", "h", "dy"};
        for (int i = 0; i < outputs.length; i++) {
            if (outputs[i] == null) {
                continue;
            }
            for (int j = 0; j < inputs.length; j++) {
                noAlias(outNames[i], outputs[i], inNames[j], inputs[j]);
            }
            for (int j = i + 1; j < outputs.length; j++) {
                if (outputs[j] != null) {
                    noAlias(outNames[i], outputs[i], outNames[j], outputs[j]);
                }
            }
        }
        doAdapterBackward(x, a, b, scale, h, dy, dh, dx, da, db, tokens, in, r, out);
    }

    /** Returns {tokens, in, r, out} after checking x [N,in], a [r,in], b [out,r], h [N,r]. */
    private int[] adapterDims(Tensor x, Tensor a, Tensor b, Tensor h) {
        on(device, "x", x);
        on(device, "a", a);
        on(device, "b", b);
        on(device, "h", h);
        int[] xs = matrix("x", x);
        int[] as = matrix("a", a);
        int[] bs = matrix("b", b);
        int tokens = xs[0];
        int in = xs[1];
        int r = as[0];
        if (as[1] != in) {
            throw new IllegalArgumentException("a has shape [" + as[0] + ", " + as[1] + "], expected [r, " + in
                    + "] (columns = x's columns)");
        }
        if (bs[1] != r) {
            throw new IllegalArgumentException("b has shape [" + bs[0] + ", " + bs[1] + "], expected [out, " + r
                    + "] (columns = a's rows, the rank)");
        }
        matrix("h", h, tokens, r, "tokens by rank");
        return new int[] {tokens, in, r, bs[0]};
    }

    private void checkOffset(Tensor offset, long n) {
        if (offset != null) {
            on(device, "offset", offset);
            size("offset", offset, n, "out.size()");
        }
    }

    private static void noAlias(String outName, Tensor out, String inName, Tensor in) {
        if (out == in) {
            throw new IllegalArgumentException(outName + " and " + inName + " are the same tensor; this op does not allow them to alias");
        }
    }

    // ---------------------------------------------------------------- kernels

    /** Writes matrices firstIndex..firstIndex+count-1, n elements each, into out. */
    protected abstract void doBasis(BasisStream stream, int firstIndex, int count, long n, Tensor out);

    /** out = offset (or 0) + Σ c[i]·basis[i], fma in ascending i; offset may be out. */
    protected abstract void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n);

    /** As {@link #doMix} with the basis generated on the fly from stream, matrices 0..k-1. */
    protected abstract void doMixGenerated(Tensor coefficients, BasisStream stream, Tensor offset, Tensor out, int k, long n);

    /** out[i] = ⟨basis[i], grad⟩. */
    protected abstract void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n);

    /** out[i] = ⟨basis i of stream, grad⟩, generated on the fly. */
    protected abstract void doCoefficientGradientGenerated(BasisStream stream, Tensor grad, Tensor out, int k, long n);

    /** C[m,n] = alpha·op(A)·op(B) + beta·C with inner dimension k; C not read when beta == 0. */
    protected abstract void doMatmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta,
                                     Tensor c, int m, int n, int k);

    /** h = x·aᵀ; y += s·h·bᵀ. */
    protected void doAdapterForward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor y,
                                    int tokens, int in, int r, int out) {
        doMatmul(false, true, 1f, x, a, 0f, h, tokens, r, in);
        doMatmul(false, true, scale, h, b, 1f, y, tokens, out, r);
    }

    /** db = s·dyᵀ·h; dh = s·dy·b; da = dhᵀ·x; dx += dh·a (dx may be null). */
    protected void doAdapterBackward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor dy,
                                     Tensor dh, Tensor dx, Tensor da, Tensor db, int tokens, int in, int r, int out) {
        doMatmul(true, false, scale, dy, h, 0f, db, out, r, tokens);
        doMatmul(false, false, scale, dy, b, 0f, dh, tokens, r, out);
        doMatmul(true, false, 1f, dh, x, 0f, da, r, in, tokens);
        if (dx != null) {
            doMatmul(false, false, 1f, dh, a, 1f, dx, tokens, in, r);
        }
    }
}
