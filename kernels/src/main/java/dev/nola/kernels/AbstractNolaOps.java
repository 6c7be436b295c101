package dev.nola.kernels;

import static dev.nola.kernels.Checks.noOverlap;
import static dev.nola.kernels.Checks.notNull;
import static dev.nola.kernels.Checks.size;

/** The checking layer of {@link NolaOps}; backends implement the four {@code do…} kernels. */
public abstract class AbstractNolaOps extends AbstractFamilyOps implements NolaOps {

    protected AbstractNolaOps(Device device) {
        super(device);
    }

    @Override
    public final void mix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out) {
        open();
        on("coefficients", coefficients);
        on("basis", basis);
        on("out", out);
        long k = coefficients.size();
        long n = out.size();
        size("basis", basis, k * n, "coefficients.size() * out.size() = " + k + " * " + n);
        checkOffset(offset, out);
        noOverlap("out", out, "coefficients", coefficients);
        noOverlap("out", out, "basis", basis);
        doMix(coefficients, basis, offset, out, (int) k, n);
    }

    @Override
    public final void mixGenerated(Tensor coefficients, BasisStream stream, Tensor offset, Tensor out) {
        notNull("stream", stream);
        open();
        on("coefficients", coefficients);
        on("out", out);
        checkOffset(offset, out);
        noOverlap("out", out, "coefficients", coefficients);
        checkCounter(out.size());
        doMixGenerated(coefficients, stream, offset, out, (int) coefficients.size(), out.size());
    }

    @Override
    public final void coefficientGradient(Tensor basis, Tensor grad, Tensor out) {
        open();
        on("basis", basis);
        on("grad", grad);
        on("out", out);
        long k = out.size();
        long n = grad.size();
        size("basis", basis, k * n, "out.size() * grad.size() = " + k + " * " + n);
        noOverlap("out", out, "grad", grad);
        noOverlap("out", out, "basis", basis);
        doCoefficientGradient(basis, grad, out, (int) k, n);
    }

    @Override
    public final void coefficientGradientGenerated(BasisStream stream, Tensor grad, Tensor out) {
        notNull("stream", stream);
        open();
        on("grad", grad);
        on("out", out);
        noOverlap("out", out, "grad", grad);
        checkCounter(grad.size());
        doCoefficientGradientGenerated(stream, grad, out, (int) out.size(), grad.size());
    }

    /** The offset is [n] and either is out exactly or does not overlap it. */
    private void checkOffset(Tensor offset, Tensor out) {
        if (offset != null) {
            on("offset", offset);
            size("offset", offset, out.size(), "out.size()");
            Checks.sameOrApart("out", out, "offset", offset);
        }
    }

    private static void checkCounter(long n) {
        if ((n + 3) / 4 > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("n = " + n + " elements per matrix exceeds the generator's limit of 2^34");
        }
    }

    /** out = offset (or 0) + Σ c[i]·basis[i], fma in ascending i; offset may be out. */
    protected abstract void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n);

    /** As {@link #doMix} with the basis generated on the fly from stream, matrices 0..k-1. */
    protected abstract void doMixGenerated(Tensor coefficients, BasisStream stream, Tensor offset, Tensor out, int k, long n);

    /** out[i] = ⟨basis[i], grad⟩. */
    protected abstract void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n);

    /** out[i] = ⟨basis i of stream, grad⟩, generated on the fly. */
    protected abstract void doCoefficientGradientGenerated(BasisStream stream, Tensor grad, Tensor out, int k, long n);
}
