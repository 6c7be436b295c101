package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.TornadoPlans.at0;
import static dev.nola.kernels.tornado.TornadoPlans.partial;
import static uk.ac.manchester.tornado.api.enums.DataTransferMode.EVERY_EXECUTION;
import static uk.ac.manchester.tornado.api.enums.DataTransferMode.FIRST_EXECUTION;

import dev.nola.kernels.AbstractNolaOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import java.util.List;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The nola family on a TornadoVM device ({@link NolaKernels}): mix and coefficient gradients from a
 * resident materialised basis, and their fused generate-on-the-fly variants. Every operand must
 * start at element 0 of its storage ({@link TornadoPlans#at0}).
 */
final class TornadoNolaOps extends AbstractNolaOps {

    private final TornadoPlans plans;

    TornadoNolaOps(TornadoVmDevice device) {
        super(device);
        this.plans = device.plans();
    }

    /** Copies a write-only output in as well when it covers only part of its storage (see {@link TornadoPlans}). */
    private static TaskGraph copyIn(TaskGraph g, boolean copyIn, FloatArray out) {
        return copyIn ? g.transferToDevice(EVERY_EXECUTION, out) : g;
    }

    private static String variant(String op, boolean copyIn) {
        return copyIn ? op + "+in" : op;
    }

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
        TornadoTensor c = at0("mix", "coefficients", coefficients);
        TornadoTensor b = at0("mix", "basis", basis);
        TornadoTensor o = at0("mix", "out", out);
        TornadoTensor f = offset == null ? null : at0("mix", "offset", offset);
        boolean from = f != null;
        // the offset operand is out itself when absent (not read) or in place; else it travels in too
        FloatArray fa = from ? f.array() : o.array();
        boolean in = from && f == o || partial(out);
        KernelPlan p = plans.plan(variant(from && f != o ? "mixOffset" : "mix", in), from ? List.of(c, b, f, o) : List.of(c, b, o),
                List.of(b), 4, 1, (g, ip, fp) -> {
                    g.transferToDevice(EVERY_EXECUTION, ip, c.array());
                    if (from && f != o) {
                        g.transferToDevice(EVERY_EXECUTION, fa);
                    }
                    return copyIn(g, in, o.array())
                            .transferToDevice(FIRST_EXECUTION, b.array())
                            .task(KernelPlan.TASK, NolaKernels::mixTiles, new KernelContext(), ip, c.array(), b.array(), fa,
                                    o.array())
                            .transferToHost(EVERY_EXECUTION, o.array());
                });
        int w = plans.mixTile(n);
        p.ip.set(0, k);
        p.ip.set(1, (int) n);
        p.ip.set(2, w);
        p.ip.set(3, from ? 1 : 0);
        p.run((int) ((n + w - 1) / w), plans.cpuLayout);
        o.touch();
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream stream, Tensor offset, Tensor out, int k, long n) {
        TornadoTensor c = at0("mixGenerated", "coefficients", coefficients);
        TornadoTensor o = at0("mixGenerated", "out", out);
        TornadoTensor f = offset == null ? null : at0("mixGenerated", "offset", offset);
        boolean from = f != null;
        FloatArray fa = from ? f.array() : o.array();
        boolean in = from && f == o || partial(out);
        KernelPlan p = plans.plan(variant(from && f != o ? "mixGeneratedOffset" : "mixGenerated", in),
                from ? List.of(c, f, o) : List.of(c, o), List.of(), RandomKernels.P_SIZE, 1, (g, ip, fp) -> {
                    g.transferToDevice(EVERY_EXECUTION, ip, fp, c.array());
                    if (from && f != o) {
                        g.transferToDevice(EVERY_EXECUTION, fa);
                    }
                    return copyIn(g, in, o.array())
                            .task(KernelPlan.TASK, NolaKernels::mixGenerated, new KernelContext(), ip, fp, c.array(), fa,
                                    o.array())
                            .transferToHost(EVERY_EXECUTION, o.array());
                });
        TornadoPlans.streamParams(p.ip, p.fp, stream, 0, k, (int) n);
        p.ip.set(RandomKernels.P_FROM, from ? 1 : 0);
        p.run(TornadoPlans.blocks(n), false);
        o.touch();
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
        TornadoTensor b = at0("coefficientGradient", "basis", basis);
        TornadoTensor gr = at0("coefficientGradient", "grad", grad);
        TornadoTensor o = at0("coefficientGradient", "out", out);
        boolean in = partial(out);
        KernelPlan p = plans.plan(variant("coefficientGradient", in), List.of(b, gr, o), List.of(b), 2, 1,
                (g, ip, fp) -> copyIn(g
                        .transferToDevice(EVERY_EXECUTION, ip, gr.array()), in, o.array())
                        .transferToDevice(FIRST_EXECUTION, b.array())
                        .task(KernelPlan.TASK, NolaKernels::coefficientGradient, new KernelContext(), ip, b.array(),
                                gr.array(), o.array())
                        .transferToHost(EVERY_EXECUTION, o.array()));
        p.ip.set(0, k);
        p.ip.set(1, (int) n);
        p.run(k, plans.cpuLayout);
        o.touch();
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream stream, Tensor grad, Tensor out, int k, long n) {
        TornadoTensor gr = at0("coefficientGradientGenerated", "grad", grad);
        TornadoTensor o = at0("coefficientGradientGenerated", "out", out);
        boolean in = partial(out);
        KernelPlan p = plans.plan(variant("coefficientGradientGenerated", in), List.of(gr, o), List.of(),
                RandomKernels.P_SIZE, 1, (g, ip, fp) -> copyIn(g
                        .transferToDevice(EVERY_EXECUTION, ip, fp, gr.array()), in, o.array())
                        .task(KernelPlan.TASK, NolaKernels::coefficientGradientGenerated, new KernelContext(), ip, fp,
                                gr.array(), o.array())
                        .transferToHost(EVERY_EXECUTION, o.array()));
        TornadoPlans.streamParams(p.ip, p.fp, stream, 0, k, (int) n);
        p.run(k, plans.cpuLayout);
        o.touch();
    }
}
