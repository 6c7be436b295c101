package dev.nola.kernels;

import static dev.nola.kernels.Checks.noOverlap;
import static dev.nola.kernels.Checks.notNull;
import static dev.nola.kernels.Checks.size;

/** The checking layer of {@link OptimOps}; backends implement the four {@code do…} kernels. */
public abstract class AbstractOptimOps extends AbstractFamilyOps implements OptimOps {

    protected AbstractOptimOps(Device device) {
        super(device);
    }

    @Override
    public final void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, Tensor gradScale) {
        notNull("step", step);
        open();
        on("param", param);
        on("grad", grad);
        on("m", m);
        on("v", v);
        long n = param.size();
        size("grad", grad, n, "param.size()");
        size("m", m, n, "param.size()");
        size("v", v, n, "param.size()");
        Tensor[] all = {param, grad, m, v};
        String[] names = {"param", "grad", "m", "v"};
        Checks.outputsApart(names, all, new String[0], new Tensor[0]);
        if (gradScale != null) {
            Checks.scalar(device, "gradScale", gradScale);
            noOverlap("param", param, "gradScale", gradScale);
            noOverlap("m", m, "gradScale", gradScale);
            noOverlap("v", v, "gradScale", gradScale);
        }
        doAdamw(param, grad, m, v, step, gradScale, n);
    }

    @Override
    public final void sumOfSquares(Tensor x, Tensor sum) {
        open();
        on("x", x);
        Checks.scalar(device, "sum", sum);
        noOverlap("sum", sum, "x", x);
        doSumOfSquares(x, sum, x.size());
    }

    @Override
    public final void clipFactor(Tensor sum, float maxNorm, Tensor factor) {
        if (!(maxNorm > 0) || Float.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("maxNorm must be finite and > 0, got " + maxNorm);
        }
        open();
        Checks.scalar(device, "sum", sum);
        Checks.scalar(device, "factor", factor);
        doClipFactor(sum, maxNorm, factor);
    }

    @Override
    public final void fakeQuantize(Tensor x, int bits, Tensor out) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("bits must be in 2..8, got " + bits);
        }
        open();
        on("x", x);
        on("out", out);
        size("out", out, x.size(), "x.size()");
        Checks.sameOrApart("out", out, "x", x);
        doFakeQuantize(x, bits, out, x.size());
    }

    /** The AdamW update over n elements; gradScale may be null. */
    protected abstract void doAdamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, Tensor gradScale, long n);

    /** sum[0] += Σ x², n elements. */
    protected abstract void doSumOfSquares(Tensor x, Tensor sum, long n);

    /** factor[0] = min(1, maxNorm / (√sum[0] + 1e-6)), NaN for a non-finite sum. */
    protected abstract void doClipFactor(Tensor sum, float maxNorm, Tensor factor);

    /** out = fake-quantized x (may be x), n elements. */
    protected abstract void doFakeQuantize(Tensor x, int bits, Tensor out, long n);
}
