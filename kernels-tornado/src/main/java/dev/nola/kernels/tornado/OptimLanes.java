package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.Lanes.load16;
import static dev.nola.kernels.tornado.Lanes.splat;
import static dev.nola.kernels.tornado.Lanes.store16;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * AdamW in the CPU layout: a work-item per {@link Level1Lanes#SPAN} consecutive elements, sixteen
 * lanes at a time ({@link Lanes}), the last n % 16 one by one through {@link OptimKernels#adamwElement}.
 * {@link OptimKernels#adamw}, a work-item per element, is scalar code on PoCL (28.8 ms for 4 M
 * parameters against opencl:0:0's 4.0, quiet machine). Each lane does the scalar kernel's operations in
 * its order; the square root is sixteen independent calls. The same parameters and slots as
 * {@link OptimKernels#adamw}.
 */
final class OptimLanes {

    private OptimLanes() {
    }

    /** One AdamW update per element of work-item w's span (global {@link Level1Lanes#spans}(n)). */
    static void adamwLanes(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray g, FloatArray scale, FloatArray w0,
                           FloatArray w1, FloatArray w2) {
        int s = ctx.globalIdx * Level1Lanes.SPAN;
        int n = ip.get(OptimKernels.ADAMW_N);
        if (s < n) {
            int end = Math.min(n, s + Level1Lanes.SPAN);
            int end16 = Level1Lanes.lanesEnd(s, end);
            float f = OptimKernels.gradientFactor(ip, scale);
            int sm = ip.get(OptimKernels.ADAMW_SLOTS + 1);
            int sv = ip.get(OptimKernels.ADAMW_SLOTS + 2);
            int po = ip.get(OptimKernels.ADAMW_OFFSETS);
            int mo = ip.get(OptimKernels.ADAMW_OFFSETS + 1);
            int vo = ip.get(OptimKernels.ADAMW_OFFSETS + 2);
            int go = ip.get(OptimKernels.ADAMW_PARAMS);
            float b1 = fp.get(1);
            float b2 = fp.get(2);
            float lr = fp.get(0);
            float eps = fp.get(3);
            float decay = fp.get(4);
            float ic1 = fp.get(5);
            float ic2 = fp.get(6);
            // p is always slot 0 and m slot 0 or 1 (KernelCall.slots numbers the distinct arrays in order), so
            // only v takes a three-way branch: with every slot three-way the kernel did not compile (TornadoVM
            // stops inlining past a size, and what it leaves uninlined fails: "Non-final objects introduced
            // via scope are not supported").
            for (int i = s; i < end16; i += 16) {
                Float16 gi = Float16.mult(load16(g, go + i), splat(f));
                Float16 mn = Float16.add(Float16.mult(splat(b1), Lanes.slotLoad16(w0, w1, sm, mo + i)),
                        Float16.mult(splat(1f - b1), gi));
                Float16 vv;
                if (sv == 0) {
                    vv = load16(w0, vo + i);
                } else if (sv == 1) {
                    vv = load16(w1, vo + i);
                } else {
                    vv = load16(w2, vo + i);
                }
                Float16 vn = Float16.add(Float16.mult(splat(b2), vv), Float16.mult(Float16.mult(splat(1f - b2), gi), gi));
                Lanes.slotStore16(w0, w1, sm, mo + i, mn);
                if (sv == 0) {
                    store16(w0, vo + i, vn);
                } else if (sv == 1) {
                    store16(w1, vo + i, vn);
                } else {
                    store16(w2, vo + i, vn);
                }
                Float16 pv = load16(w0, po + i);
                Float16 step = Float16.div(Float16.mult(mn, splat(ic1)),
                        Float16.add(Lanes.squareRoots(Float16.mult(vn, splat(ic2))), splat(eps)));
                store16(w0, po + i, Float16.sub(pv, Float16.mult(splat(lr), Float16.add(step, Float16.mult(splat(decay), pv)))));
            }
            for (int i = end16; i < end; i++) {
                OptimKernels.adamwElement(ip, fp, g, f, w0, w1, w2, i);
            }
        }
    }
}
