package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.Lanes.load16;
import static dev.nola.kernels.tornado.Lanes.splat;
import static dev.nola.kernels.tornado.Lanes.store16;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * The level-1 updates (axpy, scale, fill, copy) of the CPU layout: a work-item per {@value #SPAN}
 * consecutive elements, sixteen lanes at a time ({@link Lanes}) and the last n % 16 one by one, as the
 * OpenCL backend's {@code axpy_chunks}; {@link LinalgKernels}' work-item per element is scalar code on
 * PoCL (axpy of 16 M floats 40 ms against opencl:0:0's 3, quiet machine). Each element gets the scalar
 * kernel's operation. Same parameters as {@link LinalgKernels}: ip = {n, offsets}, fp = {alpha or value}.
 *
 * <p>The element loop follows the lanes' loop, from where they stop (never in an else: see
 * {@link NnElementLanes}).
 */
final class Level1Lanes {

    /** Elements per work-item. */
    static final int SPAN = 256;

    private Level1Lanes() {
    }

    /** Work-items for n elements. */
    static long spans(long n) {
        return (n + SPAN - 1) / SPAN;
    }

    /** The end of work-item w's span's whole sixteens (w's first element s, its span ends at end). */
    static int lanesEnd(int s, int end) {
        return end - (end - s) % 16;
    }

    /** y = alpha·x + y. */
    static void axpyLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x, FloatArray y) {
        int s = ctx.globalIdx * SPAN;
        int n = ip.get(LinalgKernels.P_COUNT);
        if (s < n) {
            int end = Math.min(n, s + SPAN);
            int end16 = lanesEnd(s, end);
            int xo = ip.get(LinalgKernels.LEVEL1_PARAMS);
            int yo = ip.get(LinalgKernels.LEVEL1_PARAMS + 1);
            float alpha = fp.get(0);
            Float16 a = splat(alpha);
            for (int i = s; i < end16; i += 16) {
                store16(y, yo + i, Float16.add(Float16.mult(a, load16(x, xo + i)), load16(y, yo + i)));
            }
            for (int i = end16; i < end; i++) {
                y.set(yo + i, alpha * x.get(xo + i) + y.get(yo + i));
            }
        }
    }

    /** x = alpha·x. */
    static void scaleLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x) {
        int s = ctx.globalIdx * SPAN;
        int n = ip.get(LinalgKernels.P_COUNT);
        if (s < n) {
            int end = Math.min(n, s + SPAN);
            int end16 = lanesEnd(s, end);
            int xo = ip.get(LinalgKernels.LEVEL1_PARAMS);
            float alpha = fp.get(0);
            Float16 a = splat(alpha);
            for (int i = s; i < end16; i += 16) {
                store16(x, xo + i, Float16.mult(a, load16(x, xo + i)));
            }
            for (int i = end16; i < end; i++) {
                x.set(xo + i, alpha * x.get(xo + i));
            }
        }
    }

    /**
     * x = value (any float, NaN included). The first element of each span through {@link NnKernels#put},
     * so that x reads as read-write and TornadoVM keeps its copy-in (the elements around a view).
     */
    static void fillLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray x) {
        int s = ctx.globalIdx * SPAN;
        int n = ip.get(LinalgKernels.P_COUNT);
        if (s < n) {
            int end = Math.min(n, s + SPAN);
            int end16 = lanesEnd(s, end);
            int xo = ip.get(LinalgKernels.LEVEL1_PARAMS);
            float value = fp.get(0);
            NnKernels.put(x, xo + s, value, n);
            Float16 v = splat(value);
            for (int i = s; i < end16; i += 16) {
                store16(x, xo + i, v);
            }
            for (int i = end16; i < end; i++) {
                x.set(xo + i, value);
            }
        }
    }

    /** y = x (views that do not overlap); y's first element of each span through {@link NnKernels#put}, as in {@link #fillLanes}. */
    static void copyLanes(KernelContext ctx, IntArray ip, FloatArray x, FloatArray y) {
        int s = ctx.globalIdx * SPAN;
        int n = ip.get(LinalgKernels.P_COUNT);
        if (s < n) {
            int end = Math.min(n, s + SPAN);
            int end16 = lanesEnd(s, end);
            int xo = ip.get(LinalgKernels.LEVEL1_PARAMS);
            int yo = ip.get(LinalgKernels.LEVEL1_PARAMS + 1);
            NnKernels.put(y, yo + s, x.get(xo + s), n);
            for (int i = s; i < end16; i += 16) {
                store16(y, yo + i, load16(x, xo + i));
            }
            for (int i = end16; i < end; i++) {
                y.set(yo + i, x.get(xo + i));
            }
        }
    }
}
