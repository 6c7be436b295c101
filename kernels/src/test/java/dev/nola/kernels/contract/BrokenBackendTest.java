package dev.nola.kernels.contract;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.AbstractLinalgOps;
import dev.nola.kernels.AbstractNolaOps;
import dev.nola.kernels.AbstractRandomOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostDevice;
import dev.nola.kernels.host.HostTensor;
import dev.nola.kernels.reference.ReferenceAdapterOps;
import dev.nola.kernels.reference.ReferenceBackend;
import dev.nola.kernels.reference.ReferenceLinalgOps;
import dev.nola.kernels.reference.ReferenceNolaOps;
import dev.nola.kernels.reference.ReferenceOptimOps;
import dev.nola.kernels.reference.ReferenceRandomOps;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The contract catches the mistakes it is there for: reference devices with one deliberately broken
 * family (a kernel that ignores a view's offset, one that writes past a view's end, a mix with two
 * roundings instead of a fused multiply-add, an op that allocates on every call) fail the matching
 * checks.
 */
class BrokenBackendTest {

    /** The random family writing to element 0 of the storage, whatever the view's offset. */
    static final class OffsetBlindRandomOps extends AbstractRandomOps {
        private final ReferenceRandomOps ref;

        OffsetBlindRandomOps(Device d) {
            super(d);
            ref = new ReferenceRandomOps(d);
        }

        @Override
        protected void doBasis(BasisStream s, int firstIndex, int count, long n, Tensor out) {
            ref.basis(s, firstIndex, count, out.storage().view(0, (int) out.size()));
        }
    }

    /** The nola family with mix as a multiply, then an add (two roundings). */
    static final class UnfusedNolaOps extends AbstractNolaOps {
        private final ReferenceNolaOps ref;

        UnfusedNolaOps(Device d) {
            super(d);
            ref = new ReferenceNolaOps(d);
        }

        @Override
        protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
            float[] c = HostTensor.floats(coefficients);
            float[] b = HostTensor.floats(basis);
            float[] o = HostTensor.floats(out);
            for (int e = 0; e < n; e++) {
                float acc = offset == null ? 0f : HostTensor.floats(offset)[HostTensor.at(offset) + e];
                for (int i = 0; i < k; i++) {
                    acc = acc + c[HostTensor.at(coefficients) + i] * b[(int) (HostTensor.at(basis) + i * n + e)];
                }
                o[HostTensor.at(out) + e] = acc;
            }
        }

        @Override
        protected void doMixGenerated(Tensor coefficients, BasisStream s, Tensor offset, Tensor out, int k, long n) {
            ref.mixGenerated(coefficients, s, offset, out);
        }

        @Override
        protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
            ref.coefficientGradient(basis, grad, out);
        }

        @Override
        protected void doCoefficientGradientGenerated(BasisStream s, Tensor grad, Tensor out, int k, long n) {
            ref.coefficientGradientGenerated(s, grad, out);
        }
    }

    /** The linalg family with a broken fill: allocating a scratch tensor per call, or writing one element too many. */
    static final class BrokenFillLinalgOps extends AbstractLinalgOps {
        private final ReferenceLinalgOps ref;
        private final boolean overrun;

        BrokenFillLinalgOps(Device d, boolean overrun) {
            super(d);
            ref = new ReferenceLinalgOps(d);
            this.overrun = overrun;
        }

        @Override
        protected void doMatmul(boolean transA, boolean transB, int batch, int m, int n, int k, float alpha, Tensor a,
                                int lda, long strideA, Tensor b, int ldb, long strideB, float beta, Tensor c, int ldc,
                                long strideC) {
            ref.matmulBatched(transA, transB, batch, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC);
        }

        @Override
        protected void doAxpy(float alpha, Tensor x, Tensor y, long n) {
            ref.axpy(alpha, x, y);
        }

        @Override
        protected void doScale(float alpha, Tensor x, long n) {
            ref.scale(alpha, x);
        }

        @Override
        protected void doFill(Tensor x, float value, long n) {
            if (overrun) {
                float[] a = HostTensor.floats(x);
                int end = (int) (HostTensor.at(x) + n);
                java.util.Arrays.fill(a, HostTensor.at(x), Math.min(a.length, end + 1), value);
            } else {
                device.allocate(1).close(); // scratch memory per call
                ref.fill(x, value);
            }
        }
    }

    private interface Mutant {
        Device open();
    }

    private static void fails(Contract.DeviceTest check, Mutant mutant, String what) {
        try (Device ref = Backends.open("reference"); Device dev = mutant.open()) {
            AssertionError e = assertThrows(AssertionError.class, () -> check.run(ref, dev), what + " must be caught");
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), what + ": the failure says what differs");
        }
    }

    @Test
    void aKernelThatIgnoresTheViewOffsetIsCaught() {
        fails(Operands.inBothLayouts(RandomContract::views), () -> new HostDevice(ReferenceBackend.hostInfo("broken", "offset-blind random"),
                d -> List.of(new OffsetBlindRandomOps(d), new ReferenceNolaOps(d), new ReferenceLinalgOps(d),
                        new ReferenceAdapterOps(d), new ReferenceOptimOps(d))), "basis written at offset 0 of the storage");
    }

    @Test
    void aMixWithoutFusedMultiplyAddIsCaught() {
        fails(NolaContract::mixIdentical, () -> new HostDevice(ReferenceBackend.hostInfo("broken", "unfused mix"),
                d -> List.of(new ReferenceRandomOps(d), new UnfusedNolaOps(d), new ReferenceLinalgOps(d),
                        new ReferenceAdapterOps(d), new ReferenceOptimOps(d))), "mix with two roundings per term");
    }

    @Test
    void anOpThatAllocatesPerCallIsCaught() {
        fails(LinalgContract::allocations, () -> new HostDevice(ReferenceBackend.hostInfo("broken", "allocating fill"),
                d -> List.of(new ReferenceRandomOps(d), new ReferenceNolaOps(d), new BrokenFillLinalgOps(d, false),
                        new ReferenceAdapterOps(d), new ReferenceOptimOps(d))), "fill allocating per call");
    }

    @Test
    void anOpThatWritesPastTheViewIsCaughtInEitherLayout() {
        for (Operands.Layout layout : Operands.Layout.values()) {
            fails((ref, dev) -> LinalgContract.views(ref, dev, layout), () -> new HostDevice(
                    ReferenceBackend.hostInfo("broken", "fill one past the end"), d -> List.of(new ReferenceRandomOps(d),
                    new ReferenceNolaOps(d), new BrokenFillLinalgOps(d, true), new ReferenceAdapterOps(d),
                    new ReferenceOptimOps(d))), "fill one past the end (" + layout + ")");
        }
    }
}
