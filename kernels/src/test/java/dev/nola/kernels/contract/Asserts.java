package dev.nola.kernels.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Device;
import java.util.SplittableRandom;
import org.junit.jupiter.api.function.Executable;

/** The comparisons and data of the contract checks. */
final class Asserts {

    /**
     * Tolerance for float32 reductions relative to Σ|aᵢ·bᵢ|: a sum of up to ~2^12 terms in any order
     * has error below n·2^-24·Σ|aᵢbᵢ|; 1e-4 covers n ≤ 1600 in the worst case and far more in practice.
     */
    static final double REL_TOL = 1e-4;

    private Asserts() {
    }

    /** n uniform values in [-scale, scale). */
    static float[] random(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    /** Equal bit patterns, element by element. */
    static void assertBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " differs: expected " + expected[i] + " ("
                        + Integer.toHexString(Float.floatToRawIntBits(expected[i])) + "), got " + actual[i] + " ("
                        + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + ")");
            }
        }
    }

    /** |actual - expected| ≤ REL_TOL · bound[i] + 1e-30 for every i (bound: Σ|aᵢbᵢ| of the element). */
    static void assertClose(float[] expected, float[] actual, double[] bound, String what) {
        assertClose(expected, actual, bound, REL_TOL, what);
    }

    /** |actual - expected| ≤ rel · bound[i] + 1e-30 for every i. */
    static void assertClose(float[] expected, float[] actual, double[] bound, double rel, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs((double) actual[i] - expected[i]);
            double tol = rel * bound[i] + 1e-30;
            if (!(err <= tol)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + ", got " + actual[i]
                        + " (error " + err + " > tolerance " + tol + ")");
            }
        }
    }

    /** |actual - expected| ≤ rel·|expected| + abs for every i. */
    static void assertWithin(float[] expected, float[] actual, double rel, double abs, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs((double) actual[i] - expected[i]);
            double tol = rel * Math.abs(expected[i]) + abs;
            if (!(err <= tol)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + ", got " + actual[i]
                        + " (error " + err + " > tolerance " + tol + ")");
            }
        }
    }

    /** The call throws {@code type} with a message that mentions {@code mention}. */
    static <T extends Throwable> void expect(Class<T> type, String mention, Executable e) {
        T ex = assertThrows(type, e);
        String msg = String.valueOf(ex.getMessage());
        assertTrue(msg.contains(mention), "message should mention '" + mention + "': " + msg);
    }

    /**
     * Runs {@code body} once to warm up (programs, kernels, workspaces), then three more times, and
     * asserts that the repeats made no device allocation ({@link AbstractDevice#allocations()}).
     */
    static void assertNoAllocations(Device dev, String what, Runnable body) {
        if (!(dev instanceof AbstractDevice d)) {
            throw new AssertionError(dev.id() + " is not an AbstractDevice, so its allocations cannot be counted");
        }
        body.run();
        dev.synchronize();
        long before = d.allocations();
        for (int i = 0; i < 3; i++) {
            body.run();
        }
        dev.synchronize();
        assertEquals(before, d.allocations(), what + ": device allocations after warm-up");
    }

    static float[][] deepCopy(float[][] a) {
        float[][] c = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i] == null ? null : a[i].clone();
        }
        return c;
    }

    static float[] abs(float[] a) {
        float[] b = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Math.abs(a[i]);
        }
        return b;
    }
}
