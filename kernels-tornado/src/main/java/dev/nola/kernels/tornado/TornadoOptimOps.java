package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractOptimOps;
import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The optim family on a TornadoVM device ({@link OptimKernels}): element-wise AdamW, and the
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
        // p, m and v each go to the written argument (slot) of its array (its storage's, or inside a capture
        // its arena's: TornadoPlans.arrayOf); see OptimKernels.adamw
        Tensor[] state = {param, m, v};
        List<Tensor> slots = new ArrayList<>();
        List<Object> slotArrays = new ArrayList<>();
        List<Tensor> through = new ArrayList<>();
        int[] slot = new int[3];
        for (int i = 0; i < 3; i++) {
            Object array = plans.arrayOf((TornadoTensor) state[i].storage());
            int j = 0;
            while (j < slots.size() && slotArrays.get(j) != array) {
                j++;
            }
            if (j == slots.size()) {
                slots.add(state[i].storage());
                slotArrays.add(array);
            } else if (slots.get(j) != state[i].storage()) {
                through.add(state[i].storage());
            }
            slot[i] = j;
        }
        TornadoPlans.Call call = plans.call("adamw").in(grad).inOrNone(gradScale);
        for (int j = 0; j < 3; j++) {
            call = j < slots.size() ? call.inOut(slots.get(j)) : call.spare(dev.workspace("tornado.adamw.slot" + j, 1));
        }
        for (Tensor t : through) {
            call = call.inOutThrough(t);
        }
        KernelPlan p = call.plan(OptimKernels.ADAMW_PARAMS, 7, (g, ip, fp, a) -> g
                .task(KernelPlan.task(0), OptimKernels::adamw, new KernelContext(), ip, fp, a[0], a[1], a[2], a[3], a[4]));
        p.ip.set(0, (int) n);
        p.ip.set(1, gradScale != null ? 1 : 0);
        for (int i = 0; i < 3; i++) {
            p.ip.set(2 + i, slot[i]);
            p.ip.set(5 + i, Math.toIntExact(state[i].offset() + plans.baseOf((TornadoTensor) state[i].storage())));
        }
        float[] f = {s.learningRate(), s.beta1(), s.beta2(), s.epsilon(), s.weightDecay(), 1f / s.correction1(),
                1f / s.correction2()};
        for (int i = 0; i < f.length; i++) {
            p.fp.set(i, f[i]);
        }
        call.run(p, n, false);
    }

    /** The workspace: MAX_GROUPS partials, then one float for a reduction's result that stays on the device. */
    private Tensor workspace() {
        return dev.workspace("tornado.optim.reduce", MAX_GROUPS + 1);
    }

    /** Sets the reduction's sizes in ip (G partials of a fixed span, from n alone) and the grids of its first two tasks. */
    private void reduction(TornadoPlans.Call call, KernelPlan p, long n, int mode) {
        int groups = (int) Math.max(1, Math.min(MAX_GROUPS, (n + MIN_SPAN - 1) / MIN_SPAN));
        IntArray ip = p.ip;
        ip.set(0, (int) n);
        ip.set(1, (int) ((n + groups - 1) / groups));
        ip.set(2, groups);
        ip.set(3, mode);
        call.grid(p, 0, groups, plans.cpuLayout);
        call.grid(p, 1, 1, false);
    }

    @Override
    protected void doSumOfSquares(Tensor x, Tensor sum, long n) {
        TornadoPlans.Call call = plans.call("sumOfSquares").in(x).scratch(workspace().view(0, MAX_GROUPS)).inOut(sum);
        KernelPlan p = call.plan(2, OptimKernels.REDUCE_PARAMS, 0, (g, ip, fp, a) -> g
                .task(KernelPlan.task(0), OptimKernels::reducePartial, new KernelContext(), ip, a[0], a[1])
                .task(KernelPlan.task(1), OptimKernels::reduceFinal, new KernelContext(), ip, a[1], a[2]));
        reduction(call, p, n, OptimKernels.SUM_OF_SQUARES);
        call.execute(p);
    }

    @Override
    protected void doClipFactor(Tensor sum, float maxNorm, Tensor factor) {
        TornadoPlans.Call call = plans.call("clipFactor").in(sum).out(factor, 1);
        KernelPlan p = call.plan(OptimKernels.CLIP_PARAMS, 1, (g, ip, fp, a) -> g
                .task(KernelPlan.task(0), OptimKernels::clipFactor, new KernelContext(), ip, fp, a[0], a[1]));
        p.fp.set(0, maxNorm);
        call.run(p, 1, false);
    }

    @Override
    protected void doFakeQuantize(Tensor x, int bits, Tensor out, long n) {
        Tensor w = workspace();
        TornadoPlans.Call call = plans.call("fakeQuantize").in(x).scratch(w.view(0, MAX_GROUPS)).scratch(w.view(MAX_GROUPS, 1))
                .out(out, n);
        KernelPlan p = call.plan(3, OptimKernels.REDUCE_PARAMS, 0, (g, ip, fp, a) -> g
                .task(KernelPlan.task(0), OptimKernels::reducePartial, new KernelContext(), ip, a[0], a[1])
                .task(KernelPlan.task(1), OptimKernels::reduceFinal, new KernelContext(), ip, a[1], a[2])
                .task(KernelPlan.task(2), OptimKernels::fakeQuantize, new KernelContext(), ip, a[0], a[2], a[3]));
        reduction(call, p, n, OptimKernels.MAX_ABS);
        p.ip.set(4, (1 << (bits - 1)) - 1);
        call.grid(p, 2, n, false);
        call.execute(p);
    }
}
