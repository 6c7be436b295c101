package dev.nola.kernels.tornado;

import static uk.ac.manchester.tornado.api.enums.DataTransferMode.EVERY_EXECUTION;

import dev.nola.kernels.AbstractRandomOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import java.util.List;
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
        TornadoTensor o = TornadoPlans.at0("basis", "out", out);
        long global = (long) count * TornadoPlans.blocks(n);
        if (global > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("basis of " + count + " x " + n + " needs " + global
                    + " work-items; TornadoVM's 1-D grid holds at most " + Integer.MAX_VALUE);
        }
        boolean copyIn = TornadoPlans.partial(out);
        KernelPlan p = plans.plan(copyIn ? "basis+in" : "basis", List.of(o), List.of(), RandomKernels.P_SIZE, 1,
                (g, ip, fp) -> {
                    g.transferToDevice(EVERY_EXECUTION, ip, fp);
                    if (copyIn) {
                        g.transferToDevice(EVERY_EXECUTION, o.array());
                    }
                    return g
                            .task(KernelPlan.TASK, RandomKernels::basis, new KernelContext(), ip, fp, o.array())
                            .transferToHost(EVERY_EXECUTION, o.array());
                });
        TornadoPlans.streamParams(p.ip, p.fp, stream, firstIndex, count, (int) n);
        p.run((int) global, false);
        o.touch();
    }
}
