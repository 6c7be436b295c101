package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.TornadoPlans.at0;
import static dev.nola.kernels.tornado.TornadoPlans.partial;
import static dev.nola.kernels.tornado.TornadoPlans.unsupported;
import static uk.ac.manchester.tornado.api.enums.DataTransferMode.EVERY_EXECUTION;

import dev.nola.kernels.AbstractLinalgOps;
import dev.nola.kernels.Tensor;
import java.util.List;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The linalg family on a TornadoVM device ({@link LinalgKernels}): sgemm (8 x 8 {@code Float8} blocks
 * on CPU devices, one work-item per element of C elsewhere) and element-wise axpy, scale and fill.
 *
 * <p>What the kernels address: every operand from element 0 of its storage ({@link TornadoPlans#at0});
 * A and B with any leading dimension (it is the kernel's row stride); C dense ({@code ldc == n}); one
 * matrix product per call. A batch &gt; 1 or {@code ldc != n} throws {@link UnsupportedOperationException}
 * (a loop over single products would need offsets the kernels do not take) until the TornadoVM v2 issue.
 */
final class TornadoLinalgOps extends AbstractLinalgOps {

    private final TornadoPlans plans;

    TornadoLinalgOps(TornadoVmDevice device) {
        super(device);
        this.plans = device.plans();
    }

    @Override
    protected void doMatmul(boolean transA, boolean transB, int batch, int m, int n, int k, float alpha,
                            Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                            float beta, Tensor c, int ldc, long strideC) {
        if (batch != 1) {
            unsupported("matmulBatched", "batch = " + batch + "; the kernels run one matrix product per call");
        }
        if (ldc != n) {
            unsupported("matmulBatched", "ldc = " + ldc + " differs from n = " + n + "; the kernels write C densely");
        }
        TornadoTensor ta = at0("matmul", "a", a);
        TornadoTensor tb = at0("matmul", "b", b);
        TornadoTensor tc = at0("matmul", "c", c);
        boolean cpu = plans.cpuLayout;
        long global = cpu
                ? (long) ((m + LinalgKernels.BLOCK_M - 1) / LinalgKernels.BLOCK_M) * ((n + LinalgKernels.BLOCK_N - 1) / LinalgKernels.BLOCK_N)
                : (long) m * n;
        if (global > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("matmul output of " + m + " x " + n + " exceeds TornadoVM's 1-D grid");
        }
        boolean readC = beta != 0f;
        // C travels in when the kernel reads it, or when it covers only part of its storage (see TornadoPlans)
        boolean copyIn = readC || partial(c);
        String op = readC ? "matmulBeta" : copyIn ? "matmul+in" : "matmul";
        KernelPlan p = plans.plan(op, List.of(ta, tb, tc), List.of(), LinalgKernels.P_SIZE, 2,
                (g, ip, fp) -> {
                    g.transferToDevice(EVERY_EXECUTION, ip, fp, ta.array(), tb.array());
                    if (copyIn) {
                        g.transferToDevice(EVERY_EXECUTION, tc.array());
                    }
                    if (cpu) {
                        g.task(KernelPlan.TASK, LinalgKernels::matmulBlock, new KernelContext(), ip, fp, ta.array(),
                                tb.array(), tc.array());
                    } else {
                        g.task(KernelPlan.TASK, LinalgKernels::matmul, new KernelContext(), ip, fp, ta.array(), tb.array(),
                                tc.array());
                    }
                    return g
                            .transferToHost(EVERY_EXECUTION, tc.array());
                });
        // op(A)[i][p] = a[i·sa0 + p·sa1]: A stored [m, k] at row stride lda, or transposed [k, m]; B likewise
        IntArray ip = p.ip;
        ip.set(0, m);
        ip.set(1, n);
        ip.set(2, k);
        ip.set(3, transA ? 1 : lda);
        ip.set(4, transA ? lda : 1);
        ip.set(5, transB ? 1 : ldb);
        ip.set(6, transB ? ldb : 1);
        ip.set(7, readC ? 1 : 0);
        p.fp.set(0, alpha);
        p.fp.set(1, beta);
        p.run((int) global, cpu);
        tc.touch();
    }

    @Override
    protected void doAxpy(float alpha, Tensor x, Tensor y, long n) {
        TornadoTensor tx = at0("axpy", "x", x);
        TornadoTensor ty = at0("axpy", "y", y);
        KernelPlan p = plans.plan("axpy", List.of(tx, ty), List.of(), 1, 1, (g, ip, fp) -> g
                .transferToDevice(EVERY_EXECUTION, ip, fp, tx.array(), ty.array())
                .task(KernelPlan.TASK, LinalgKernels::axpyElements, new KernelContext(), ip, fp, tx.array(), ty.array())
                .transferToHost(EVERY_EXECUTION, ty.array()));
        p.ip.set(0, (int) n);
        p.fp.set(0, alpha);
        p.run((int) n, false);
        ty.touch();
    }

    @Override
    protected void doScale(float alpha, Tensor x, long n) {
        TornadoTensor tx = at0("scale", "x", x);
        KernelPlan p = plans.plan("scale", List.of(tx), List.of(), 1, 1, (g, ip, fp) -> g
                .transferToDevice(EVERY_EXECUTION, ip, fp, tx.array())
                .task(KernelPlan.TASK, LinalgKernels::scaleElements, new KernelContext(), ip, fp, tx.array())
                .transferToHost(EVERY_EXECUTION, tx.array()));
        p.ip.set(0, (int) n);
        p.fp.set(0, alpha);
        p.run((int) n, false);
        tx.touch();
    }

    @Override
    protected void doFill(Tensor x, float value, long n) {
        TornadoTensor tx = at0("fill", "x", x);
        boolean copyIn = partial(x);
        KernelPlan p = plans.plan(copyIn ? "fill+in" : "fill", List.of(tx), List.of(), 1, 1, (g, ip, fp) -> {
            g.transferToDevice(EVERY_EXECUTION, ip, fp);
            if (copyIn) {
                g.transferToDevice(EVERY_EXECUTION, tx.array());
            }
            return g
                    .task(KernelPlan.TASK, LinalgKernels::fillElements, new KernelContext(), ip, fp, tx.array())
                    .transferToHost(EVERY_EXECUTION, tx.array());
        });
        p.ip.set(0, (int) n);
        p.fp.set(0, value);
        p.run((int) n, false);
        tx.touch();
    }
}
