package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractNolaOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import uk.ac.manchester.tornado.api.KernelContext;

/**
 * The nola family on a TornadoVM device ({@link NolaKernels}): mix and coefficient gradients from a
 * resident materialised basis, and their fused generate-on-the-fly variants. Operands may be views
 * at any offset ({@link KernelCall}).
 */
final class TornadoNolaOps extends AbstractNolaOps {

    private final TornadoPlans plans;

    TornadoNolaOps(TornadoVmDevice device) {
        super(device);
        this.plans = device.plans();
    }

    /** out as an operand: read as well when it is the offset (in place), else written only. */
    private static KernelCall out(KernelCall call, Tensor offset, Tensor out, long n) {
        return offset != null && offset.storage() == out.storage() && offset.offset() == out.offset()
                ? call.inOut(out) : call.out(out, n);
    }

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
        KernelCall call = out(plans.call("mix").in(coefficients).resident(basis).in(offset), offset, out, n);
        Launch p = call.launch(NolaKernels.MIX_PARAMS, 0, (g, t, ip, fp, a) -> g
                .task(t.task(0), NolaKernels::mixTiles, new KernelContext(), ip, a.f(0), a.f(1), a.f(2), a.f(3)));
        int w = plans.mixTile(n);
        p.ip.set(NolaKernels.MIX_K, k);
        p.ip.set(NolaKernels.MIX_N, (int) n);
        p.ip.set(NolaKernels.MIX_TILE, w);
        p.ip.set(NolaKernels.MIX_FROM, offset != null ? 1 : 0);
        p.run((n + w - 1) / w, plans.cpuLayout);
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream stream, Tensor offset, Tensor out, int k, long n) {
        KernelCall call = out(plans.call("mixGenerated").in(coefficients).in(offset), offset, out, n);
        Launch p = call.launch(RandomKernels.P_SIZE, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), NolaKernels::mixGenerated, new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2)));
        TornadoPlans.streamParams(p.ip, p.fp, stream, 0, k, (int) n);
        p.ip.set(RandomKernels.P_FROM, offset != null ? 1 : 0);
        p.run(TornadoPlans.blocks(n), false);
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
        KernelCall call = plans.call("coefficientGradient").resident(basis).in(grad).out(out, k);
        Launch p = call.launch(NolaKernels.GRADIENT_PARAMS, 0, (g, t, ip, fp, a) -> g
                .task(t.task(0), NolaKernels::coefficientGradient, new KernelContext(), ip, a.f(0), a.f(1), a.f(2)));
        p.ip.set(NolaKernels.GRADIENT_K, k);
        p.ip.set(NolaKernels.GRADIENT_N, (int) n);
        p.run(k, plans.cpuLayout);
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream stream, Tensor grad, Tensor out, int k, long n) {
        KernelCall call = plans.call("coefficientGradientGenerated").in(grad).out(out, k);
        Launch p = call.launch(RandomKernels.P_SIZE, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), NolaKernels::coefficientGradientGenerated, new KernelContext(), ip, fp, a.f(0), a.f(1)));
        TornadoPlans.streamParams(p.ip, p.fp, stream, 0, k, (int) n);
        p.run(k, plans.cpuLayout);
    }
}
