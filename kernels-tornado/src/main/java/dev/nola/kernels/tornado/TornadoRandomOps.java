package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractRandomOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import uk.ac.manchester.tornado.api.KernelContext;

/** The random family on a TornadoVM device: {@link RandomKernels#basis}, one Philox block per work-item. */
final class TornadoRandomOps extends AbstractRandomOps {

    private final TornadoPlans plans;

    TornadoRandomOps(TornadoVmDevice device) {
        super(device);
        this.plans = device.plans();
    }

    @Override
    protected void doBasis(BasisStream stream, int firstIndex, int count, long n, Tensor out) {
        // generated once per bank: its plan goes once the basis is on the host (KernelCall.once)
        KernelCall call = plans.call("basis").out(out, (long) count * n).once();
        Launch p = call.launch(RandomKernels.P_SIZE, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), RandomKernels::basis, new KernelContext(), ip, fp, a.f(0)));
        TornadoPlans.streamParams(p.ip, p.fp, stream, firstIndex, count, (int) n);
        p.run((long) count * TornadoPlans.blocks(n), false);
    }
}
