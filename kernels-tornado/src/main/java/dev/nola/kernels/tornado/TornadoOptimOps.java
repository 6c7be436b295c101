package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractOptimOps;
import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.Tensor;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.common.TornadoFunctions;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The optim family on a TornadoVM device ({@link OptimKernels}): element-wise AdamW (on a CPU device a
 * span of elements per work-item in sixteen lanes, {@link OptimLanes}), and the
 * reductions as one plan of two tasks (partials into the device workspace, then one work-item adds
 * them in order), fake quantization a third task after the max-abs reduction. The number of partials
 * depends only on n, so results do not depend on scheduling. Operands may be views at any offset.
 */
final class TornadoOptimOps extends AbstractOptimOps {

    /** Partial sums at most (the final task adds this many on one work-item). */
    private static final int MAX_GROUPS = 256;
    /** Elements per partial at least. */
    private static final int MIN_SPAN = 256;

    private final TornadoVmDevice dev;
    private final TornadoPlans plans;

    TornadoOptimOps(TornadoVmDevice device) {
        super(device);
        this.dev = device;
        this.plans = device.plans();
    }

    @Override
    protected void doAdamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep s, Tensor gradScale, long n) {
        // p, m and v go to the written argument (slot) of their array: see OptimKernels.adamw
        // on a CPU device a span of elements per work-item in sixteen lanes (OptimLanes), else one element each
        boolean lanes = plans.cpuLayout;
        KernelCall call = plans.call(lanes ? "adamwLanes" : "adamw").in(grad).in(gradScale);
        int[] slot = call.slots(KernelCall.updates(param), KernelCall.updates(m), KernelCall.updates(v));
        Launch p = call.launch(OptimKernels.ADAMW_PARAMS, 7, (g, t, ip, fp, a) -> lanes
                ? g.task(t.task(0), OptimLanes::adamwLanes, new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2), a.f(3), a.f(4))
                : g.task(t.task(0), OptimKernels::adamw, new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2), a.f(3), a.f(4)));
        if (lanes && (slot[0] != 0 || slot[1] > 1)) {
            // OptimLanes.adamwLanes addresses p in slot 0 and m in slot 0 or 1, as KernelCall.slots numbers them
            throw new IllegalStateException("adamw slots " + java.util.Arrays.toString(slot) + "; OptimLanes expects p in 0, m in 0 or 1");
        }
        Tensor[] state = {param, m, v};
        p.ip.set(OptimKernels.ADAMW_N, (int) n);
        p.ip.set(OptimKernels.ADAMW_HAS_SCALE, gradScale != null ? 1 : 0);
        for (int i = 0; i < 3; i++) {
            p.ip.set(OptimKernels.ADAMW_SLOTS + i, slot[i]);
            p.ip.set(OptimKernels.ADAMW_OFFSETS + i, plans.offsetOf(state[i]));
        }
        float[] f = {s.learningRate(), s.beta1(), s.beta2(), s.epsilon(), s.weightDecay(), 1f / s.correction1(),
                1f / s.correction2()};
        for (int i = 0; i < f.length; i++) {
            p.fp.set(i, f[i]);
        }
        if (lanes) {
            p.run(Level1Lanes.spans(n), true);
        } else {
            p.run(n, false);
        }
    }

    /** The workspace: MAX_GROUPS partials, then one float for a reduction's result that stays on the device. */
    private Tensor workspace() {
        return dev.workspace("tornado.optim.reduce", MAX_GROUPS + 1);
    }

    /** Sets the reduction's sizes in ip (G partials of a fixed span, from n alone) and the grids of its first two tasks. */
    private void reduction(Launch p, long n, int mode) {
        int groups = (int) Math.max(1, Math.min(MAX_GROUPS, (n + MIN_SPAN - 1) / MIN_SPAN));
        IntArray ip = p.ip;
        ip.set(OptimKernels.R_N, (int) n);
        ip.set(OptimKernels.R_SPAN, (int) ((n + groups - 1) / groups));
        ip.set(OptimKernels.R_GROUPS, groups);
        ip.set(OptimKernels.R_MODE, mode);
        if (plans.cpuLayout) {
            p.grid(0, groups, true);
        } else {
            p.groups(0, groups, NnGroupKernels.GROUP);
        }
        p.grid(1, 1, false);
    }

    /** The first pass: a work-item per partial on a CPU device, a work-group per partial elsewhere. */
    private TornadoFunctions.Task4<KernelContext, IntArray, FloatArray, FloatArray> partialKernel() {
        return plans.cpuLayout ? OptimKernels::reducePartial : OptimKernels::reducePartialGroup;
    }

    @Override
    protected void doSumOfSquares(Tensor x, Tensor sum, long n) {
        KernelCall call = plans.call("sumOfSquares").in(x).scratch(workspace().view(0, MAX_GROUPS)).inOut(sum);
        Launch p = call.launch(2, OptimKernels.REDUCE_PARAMS, 0, (g, t, ip, fp, a) -> g
                .task(t.task(0), partialKernel(), new KernelContext(), ip, a.f(0), a.f(1))
                .task(t.task(1), OptimKernels::reduceFinal, new KernelContext(), ip, a.f(1), a.f(2)));
        reduction(p, n, OptimKernels.SUM_OF_SQUARES);
        p.execute();
    }

    @Override
    protected void doClipFactor(Tensor sum, float maxNorm, Tensor factor) {
        KernelCall call = plans.call("clipFactor").in(sum).out(factor, 1);
        Launch p = call.launch(OptimKernels.CLIP_PARAMS, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), OptimKernels::clipFactor, new KernelContext(), ip, fp, a.f(0), a.f(1)));
        p.fp.set(0, maxNorm);
        p.run(1, false);
    }

    @Override
    protected void doFakeQuantize(Tensor x, int bits, Tensor out, long n) {
        Tensor w = workspace();
        KernelCall call = plans.call("fakeQuantize").in(x).scratch(w.view(0, MAX_GROUPS)).scratch(w.view(MAX_GROUPS, 1))
                .out(out, n);
        Launch p = call.launch(3, OptimKernels.REDUCE_PARAMS, 0, (g, t, ip, fp, a) -> g
                .task(t.task(0), partialKernel(), new KernelContext(), ip, a.f(0), a.f(1))
                .task(t.task(1), OptimKernels::reduceFinal, new KernelContext(), ip, a.f(1), a.f(2))
                .task(t.task(2), OptimKernels::fakeQuantize, new KernelContext(), ip, a.f(0), a.f(2), a.f(3)));
        reduction(p, n, OptimKernels.MAX_ABS);
        p.ip.set(OptimKernels.R_LEVELS, (1 << (bits - 1)) - 1);
        p.grid(2, n, false);
        p.execute();
    }
}
