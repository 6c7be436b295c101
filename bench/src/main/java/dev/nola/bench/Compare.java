package dev.nola.bench;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.List;

/** The suite's check of a device's results against the reference backend's, before anything is timed. */
final class Compare {

    /** Largest |device − reference| allowed, as a fraction of the reference's largest magnitude. */
    static final double TOLERANCE = 1e-3;

    private Compare() {
    }

    /** max |a − b| / max(max |a|, 1e-30); NaN or infinity anywhere gives infinity. */
    static double maxError(double[] reference, double[] other) {
        if (reference.length != other.length) {
            throw new IllegalArgumentException(reference.length + " reference values against " + other.length);
        }
        double scale = 1e-30;
        double err = 0;
        for (int i = 0; i < reference.length; i++) {
            if (!Double.isFinite(reference[i]) || !Double.isFinite(other[i])) {
                return Double.POSITIVE_INFINITY;
            }
            scale = Math.max(scale, Math.abs(reference[i]));
            err = Math.max(err, Math.abs(reference[i] - other[i]));
        }
        return err / scale;
    }

    /**
     * Compares each reference output with the same-numbered device output: the reference's may be a
     * prefix (its check version computes fewer rows), and only that prefix of the device's is read.
     * Returns the worst error of scale.
     */
    static double outputs(Device ref, List<Tensor> expected, Device dev, List<Tensor> actual) {
        double worst = 0;
        for (int i = 0; i < expected.size(); i++) {
            Tensor e = expected.get(i);
            Tensor a = actual.get(i);
            if (e.size() > a.size()) {
                throw new IllegalStateException("reference output " + i + " has " + e.size() + " elements, the device's "
                        + a.size());
            }
            float[] want = ref.read(e);
            float[] got = dev.read(a.view(0, Math.toIntExact(e.size())));
            worst = Math.max(worst, maxError(toDouble(want), toDouble(got)));
        }
        return worst;
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
