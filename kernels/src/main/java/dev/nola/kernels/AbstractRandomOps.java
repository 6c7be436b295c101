package dev.nola.kernels;

import static dev.nola.kernels.Checks.nonNegative;
import static dev.nola.kernels.Checks.notNull;
import static dev.nola.kernels.Checks.positive;

/** The checking layer of {@link RandomOps}; backends implement {@link #doBasis}. */
public abstract class AbstractRandomOps extends AbstractFamilyOps implements RandomOps {

    protected AbstractRandomOps(Device device) {
        super(device);
    }

    @Override
    public final void basis(BasisStream stream, int firstIndex, int count, Tensor out) {
        notNull("stream", stream);
        nonNegative("firstIndex", firstIndex);
        positive("count", count);
        open();
        on("out", out);
        if (out.size() % count != 0) {
            throw new IllegalArgumentException("out has " + out.size() + " elements, not a multiple of count " + count);
        }
        if ((long) firstIndex + count - 1 > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("firstIndex + count - 1 = " + ((long) firstIndex + count - 1)
                    + " exceeds the largest basis index " + Integer.MAX_VALUE);
        }
        long n = out.size() / count;
        if ((n + 3) / 4 > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("n = " + n + " elements per matrix exceeds the generator's limit of 2^34");
        }
        doBasis(stream, firstIndex, count, n, out);
    }

    /** Writes matrices firstIndex..firstIndex+count-1, n elements each, into out. */
    protected abstract void doBasis(BasisStream stream, int firstIndex, int count, long n, Tensor out);
}
