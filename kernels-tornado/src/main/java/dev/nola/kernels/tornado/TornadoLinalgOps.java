package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractLinalgOps;
import dev.nola.kernels.Tensor;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The linalg family on a TornadoVM device ({@link LinalgKernels}): strided-batched sgemm (on CPU
 * devices op(B) packed into 16-column panels in the plan's own scratch, then 6 x 16 {@code Float8}
 * register blocks; one work-item per element of C elsewhere; each task over every batch) and element-wise axpy, scale and fill. Operands may be views at any offset, with any leading
 * dimensions and batch strides ({@link KernelCall}).
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
        boolean readC = beta != 0f;
        boolean cpu = plans.cpuLayout;
        long panels = (n + LinalgKernels.PANEL - 1) / LinalgKernels.PANEL;
        long packed = panels * LinalgKernels.PANEL * k;
        KernelCall call = plans.call(cpu ? "matmulPanel" : "matmul").in(a).in(b);
        if (cpu) {
            call = call.ownScratch(packed * batch);
        }
        call = readC ? call.inOut(c) : call.out(c, (long) batch * m * n);
        Launch p = cpu
                ? call.launch(2, LinalgKernels.PANEL_PARAMS, 2, (g, t, ip, fp, x) -> g
                        .task(t.task(0), LinalgKernels::packPanels, new KernelContext(), ip, x.f(1), x.f(2))
                        .task(t.task(1), LinalgKernels::matmulPanel, new KernelContext(), ip, fp, x.f(0), x.f(2), x.f(3)))
                : call.launch(LinalgKernels.MATMUL_PARAMS, 2, (g, t, ip, fp, x) -> g
                        .task(t.task(0), LinalgKernels::matmul, new KernelContext(), ip, fp, x.f(0), x.f(1), x.f(2)));
        // op(A)[i][p] = a[i·sa0 + p·sa1]: A stored [m, k] at row stride lda, or transposed [k, m]; B likewise
        IntArray ip = p.ip;
        ip.set(LinalgKernels.P_M, m);
        ip.set(LinalgKernels.P_N, n);
        ip.set(LinalgKernels.P_K, k);
        ip.set(LinalgKernels.P_SA0, transA ? 1 : lda);
        ip.set(LinalgKernels.P_SA1, transA ? lda : 1);
        ip.set(LinalgKernels.P_SB0, transB ? 1 : ldb);
        ip.set(LinalgKernels.P_SB1, transB ? ldb : 1);
        ip.set(LinalgKernels.P_READ_C, readC ? 1 : 0);
        ip.set(LinalgKernels.P_BATCH, batch);
        ip.set(LinalgKernels.P_LDC, ldc);
        ip.set(LinalgKernels.P_STRIDE_A, (int) strideA);
        ip.set(LinalgKernels.P_STRIDE_B, (int) strideB);
        ip.set(LinalgKernels.P_STRIDE_C, (int) strideC);
        p.fp.set(0, alpha);
        p.fp.set(1, beta);
        if (cpu) {
            ip.set(LinalgKernels.P_PACKED, (int) packed);
            p.grid(0, batch * packed / LinalgKernels.PANEL, true);
            p.grid(1, batch * panels * ((m + LinalgKernels.PANEL_ROWS - 1) / LinalgKernels.PANEL_ROWS), true);
            p.execute();
        } else {
            p.run((long) batch * m * n, false);
        }
    }

    @Override
    protected void doAxpy(float alpha, Tensor x, Tensor y, long n) {
        KernelCall call = plans.call("axpy").in(x).inOut(y);
        Launch p = call.launch(LinalgKernels.LEVEL1_PARAMS, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), LinalgKernels::axpyElements, new KernelContext(), ip, fp, a.f(0), a.f(1)));
        p.ip.set(LinalgKernels.P_COUNT, (int) n);
        p.fp.set(0, alpha);
        p.run(n, false);
    }

    @Override
    protected void doScale(float alpha, Tensor x, long n) {
        KernelCall call = plans.call("scale").inOut(x);
        Launch p = call.launch(LinalgKernels.LEVEL1_PARAMS, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), LinalgKernels::scaleElements, new KernelContext(), ip, fp, a.f(0)));
        p.ip.set(LinalgKernels.P_COUNT, (int) n);
        p.fp.set(0, alpha);
        p.run(n, false);
    }

    /**
     * Copies {@code n} elements from {@code x} to {@code y} (float32 views that do not overlap) on the
     * device: how a host {@code copy} is recorded inside a capture.
     */
    void copyOnDevice(Tensor x, Tensor y, long n) {
        KernelCall call = plans.call("copy").in(x).out(y, n);
        Launch p = call.launch(LinalgKernels.LEVEL1_PARAMS, 0, (g, t, ip, fp, a) -> g
                .task(t.task(0), LinalgKernels::copyElements, new KernelContext(), ip, a.f(0), a.f(1)));
        p.ip.set(LinalgKernels.P_COUNT, (int) n);
        p.run(n, false);
    }

    @Override
    protected void doFill(Tensor x, float value, long n) {
        KernelCall call = plans.call("fill").out(x, n);
        Launch p = call.launch(LinalgKernels.LEVEL1_PARAMS, 1, (g, t, ip, fp, a) -> g
                .task(t.task(0), LinalgKernels::fillElements, new KernelContext(), ip, fp, a.f(0)));
        p.ip.set(LinalgKernels.P_COUNT, (int) n);
        p.fp.set(0, value);
        p.run(n, false);
    }
}
