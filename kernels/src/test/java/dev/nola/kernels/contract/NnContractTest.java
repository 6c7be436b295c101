package dev.nola.kernels.contract;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.AbstractNnOps;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.cpu.CpuLinalgOps;
import dev.nola.kernels.host.HostDevice;
import dev.nola.kernels.host.HostTensor;
import dev.nola.kernels.reference.ReferenceAdapterOps;
import dev.nola.kernels.reference.ReferenceBackend;
import dev.nola.kernels.reference.ReferenceLinalgOps;
import dev.nola.kernels.reference.ReferenceNnOps;
import dev.nola.kernels.reference.ReferenceNolaOps;
import dev.nola.kernels.reference.ReferenceOptimOps;
import dev.nola.kernels.reference.ReferenceRandomOps;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The nn checks themselves: the comparisons with the reference run (and pass) against a second
 * reference device, so their code is exercised before any backend has the family; and devices with
 * one deliberate mistake in the nn family fail the checks meant to catch it.
 */
class NnContractTest {

    /** The mistakes. */
    enum Flaw {
        /** GELU's erf form computed with the tanh formula (they differ by up to ~4e-4). */
        ERF_AS_TANH,
        /** The causal mask ignored, by the softmax and by the attention. */
        NO_MASK,
        /** layernorm's backward never adds dbias. */
        DBIAS_DROPPED,
        /** GELU forward reads x from element 0 of its storage, whatever the view's offset. */
        OFFSET_BLIND,
        /** cross-entropy backward adds into dlogits instead of writing them. */
        CROSS_ENTROPY_ADDS,
        /** attention backward never adds dk (it goes to a scratch tensor). */
        DK_DROPPED,
        /** attention backward writes dv instead of adding into it. */
        DV_WRITTEN,
        /** attention forward reads k from element 0 of its storage, whatever the view's offset. */
        K_OFFSET_BLIND,
        /** rope forward rotates the other way (rotate_half's sign swapped). */
        ROPE_SIGN,
        /** rope backward applies the forward rotation instead of its transpose. */
        ROPE_BACKWARD_UNTRANSPOSED
    }

    /** The reference nn family with one flaw. */
    static final class FlawedNnOps extends AbstractNnOps {
        private final ReferenceNnOps ref;
        private final Flaw flaw;

        FlawedNnOps(Device d, Flaw flaw) {
            super(d);
            this.ref = new ReferenceNnOps(d);
            this.flaw = flaw;
        }

        @Override
        protected void doEncoderForward(Tensor ids, Tensor wte, Tensor wpe, Tensor out, int n, int t, int c) {
            ref.encoderForward(ids, wte, wpe, out, t);
        }

        @Override
        protected void doEncoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int n, int t, int c) {
            ref.encoderBackward(ids, dout, dwte, dwpe, t);
        }

        @Override
        protected void doLayerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                          Tensor rstd, int n, int c) {
            ref.layerNormForward(x, weight, bias, eps, out, mean, rstd);
        }

        @Override
        protected void doLayerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor dx,
                                           Tensor dweight, Tensor dbias, int n, int c) {
            ref.layerNormBackward(dout, x, weight, mean, rstd, dx, dweight, flaw == Flaw.DBIAS_DROPPED ? null : dbias);
        }

        @Override
        protected void doGeluForward(Gelu kind, Tensor x, Tensor out, long n) {
            Tensor in = flaw == Flaw.OFFSET_BLIND ? x.storage().view(0, (int) n) : x;
            ref.geluForward(flaw == Flaw.ERF_AS_TANH ? Gelu.TANH : kind, in, out);
        }

        @Override
        protected void doGeluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx, long n) {
            ref.geluBackward(kind, x, dout, dx);
        }

        @Override
        protected void doBiasForward(Tensor x, Tensor bias, int n, int c) {
            ref.biasForward(x, bias);
        }

        @Override
        protected void doBiasBackward(Tensor dout, Tensor dbias, int n, int c) {
            ref.biasBackward(dout, dbias);
        }

        @Override
        protected void doResidualForward(Tensor a, Tensor b, Tensor out, long n) {
            ref.residualForward(a, b, out);
        }

        @Override
        protected void doSoftmaxForward(Tensor x, Tensor out, float scale, boolean causal, int rows, int l) {
            ref.softmaxForward(x, out, scale, causal && flaw != Flaw.NO_MASK);
        }

        @Override
        protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx, float scale, int rows, int l) {
            ref.softmaxBackward(y, dy, dx, scale);
        }

        @Override
        protected void doCrossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing,
                                             int ignoreIndex, int n, int v) {
            ref.crossEntropyForward(logits, targets, losses, labelSmoothing, ignoreIndex);
        }

        @Override
        protected void doCrossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing,
                                              int ignoreIndex, float lossGradient, int n, int v) {
            float[] a = HostTensor.floats(dlogits);
            int at = HostTensor.at(dlogits);
            float[] before = java.util.Arrays.copyOfRange(a, at, at + n * v);
            ref.crossEntropyBackward(logits, targets, dlogits, labelSmoothing, ignoreIndex, lossGradient);
            if (flaw == Flaw.CROSS_ENTROPY_ADDS && dlogits.storage() != logits.storage()) {
                for (int i = 0; i < before.length; i++) {
                    a[at + i] += before[i];
                }
            }
        }

        /** The reference's fused attention with the attention flaws. */
        @Override
        protected void doFusedAttentionForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean causal, int b,
                                               int t, int c, int nh) {
            ref.fusedAttentionForward(q, flaw == Flaw.K_OFFSET_BLIND ? k.storage().view(0, k.shape()) : k, v, out, lse,
                    causal && flaw != Flaw.NO_MASK);
        }

        @Override
        protected void doFusedAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dq,
                                                Tensor dk, Tensor dv, boolean causal, int b, int t, int c, int nh) {
            if (flaw == Flaw.DV_WRITTEN) {
                device.linalg().fill(dv, 0f);
            }
            boolean masked = causal && flaw != Flaw.NO_MASK;
            if (flaw == Flaw.DK_DROPPED) {
                try (Tensor scratch = device.allocate(dk.shape())) {
                    ref.fusedAttentionBackward(dout, q, k, v, out, lse, dq, scratch, dv, masked);
                }
                return;
            }
            ref.fusedAttentionBackward(dout, q, k, v, out, lse, dq, dk, dv, masked);
        }

        @Override
        protected void doRmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd, int n, int c) {
            ref.rmsNormForward(x, weight, eps, out, rstd);
        }

        @Override
        protected void doRmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight, int n,
                                         int c) {
            ref.rmsNormBackward(dout, x, weight, rstd, dx, dweight);
        }

        @Override
        protected void doRope(Tensor in, Tensor cos, Tensor sin, Tensor out, boolean transpose, int rows, int t, int w,
                              int headDim, int pos0) {
            boolean back = transpose ^ (transpose ? flaw == Flaw.ROPE_BACKWARD_UNTRANSPOSED : flaw == Flaw.ROPE_SIGN);
            if (back) {
                ref.ropeBackward(in, cos, sin, headDim, pos0, out);
            } else {
                ref.ropeForward(in, cos, sin, headDim, pos0, out);
            }
        }

        @Override
        protected void doSwigluForward(Tensor gate, Tensor up, Tensor out, long n) {
            ref.swigluForward(gate, up, out);
        }

        @Override
        protected void doSwigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup, long n) {
            ref.swigluBackward(gate, up, dout, dgate, dup);
        }

        @Override
        protected void doPoolForward(Pool kind, Tensor x, Tensor out, int b, int t, int c) {
            ref.poolForward(kind, x, out);
        }

        @Override
        protected void doPoolBackward(Pool kind, Tensor dout, Tensor dx, int b, int t, int c) {
            ref.poolBackward(kind, dout, dx);
        }
    }

    /** A reference device whose nn family is {@link FlawedNnOps} with the flaw, or the plain reference's when null. */
    static Device device(Flaw flaw) {
        return new HostDevice(ReferenceBackend.hostInfo("reference-copy", flaw == null ? "second reference" : "flawed: " + flaw),
                d -> List.of(new ReferenceRandomOps(d), new ReferenceNolaOps(d), new ReferenceLinalgOps(d),
                        new ReferenceAdapterOps(d), flaw == null ? new ReferenceNnOps(d) : new FlawedNnOps(d, flaw),
                        new ReferenceOptimOps(d)));
    }

    /** Every nn check that compares with the reference, on a second reference device: they must pass. */
    @TestFactory
    Stream<DynamicTest> comparisonsPassOnASecondReference() {
        return NnContract.checks().stream().filter(c -> !c.independent()).map(c -> dynamicTest(c.name(), () -> {
            try (Device ref = Backends.open("reference"); Device dev = device(null)) {
                c.body().run(ref, dev);
            }
        }));
    }

    /**
     * The reference nn family over the cpu backend's float32 linalg (Sgemm): attention's and the
     * fixtures' products in float32, a first measure of the tolerances against float32 kernels.
     */
    static Device float32Matmuls() {
        return new HostDevice(ReferenceBackend.hostInfo("reference-nn-on-cpu-linalg", "reference nn over float32 sgemm"),
                d -> List.of(new ReferenceRandomOps(d), new ReferenceNolaOps(d), new CpuLinalgOps(d), new ReferenceAdapterOps(d),
                        new ReferenceNnOps(d), new ReferenceOptimOps(d)));
    }

    /** Every nn check and both PyTorch fixtures hold when the matmuls are float32 kernels. */
    @TestFactory
    Stream<DynamicTest> everyCheckHoldsWithFloat32Matmuls() {
        Stream<DynamicTest> checks = NnContract.checks().stream().map(c -> dynamicTest(c.name(), () -> {
            try (Device ref = Backends.open("reference"); Device dev = float32Matmuls()) {
                c.body().run(ref, dev);
            }
        }));
        Stream<DynamicTest> fixtures = Stream.of("gpt2_block_fixture", "vit_block_fixture").map(name -> dynamicTest(name, () -> {
            try (Device dev = float32Matmuls()) {
                TorchFixtureTest.Model m = new TorchFixtureTest.Model(dev, TorchFixtureTest.Fixture.load(name));
                if (name.startsWith("gpt2")) {
                    m.gpt2();
                } else {
                    m.vit();
                }
            }
        }));
        return Stream.concat(checks, fixtures);
    }

    private static void caught(Flaw flaw, String check) {
        Contract.Check c = NnContract.checks().stream().filter(x -> x.name().startsWith(check)).findFirst()
                .orElseThrow(() -> new AssertionError("no nn check named '" + check + "…'"));
        try (Device ref = Backends.open("reference"); Device dev = device(flaw)) {
            AssertionError e = assertThrows(AssertionError.class, () -> c.body().run(ref, dev), flaw + " must fail '" + check + "'");
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), flaw + ": the failure says what differs");
        }
    }

    @Test
    void aWrongGeluIsCaughtByTheReferenceAndByKnownValues() {
        caught(Flaw.ERF_AS_TANH, "gelu (tanh, erf) forward and backward within tolerance");
        caught(Flaw.ERF_AS_TANH, "gelu tanh and erf at known values");
    }

    @Test
    void aMissingCausalMaskIsCaught() {
        caught(Flaw.NO_MASK, "softmax (scale, causal, in place) within tolerance");
        caught(Flaw.NO_MASK, "attention (causal and not) within tolerance");
        caught(Flaw.NO_MASK, "softmax of equal scores is uniform");
        caught(Flaw.NO_MASK, "attention with T = 1 copies v");
    }

    @Test
    void aDroppedGradientIsCaughtByFiniteDifferences() {
        caught(Flaw.DBIAS_DROPPED, "layernorm backward matches finite differences");
        caught(Flaw.DBIAS_DROPPED, "layernorm forward and backward within tolerance");
    }

    @Test
    void aDroppedAttentionGradientIsCaught() {
        caught(Flaw.DK_DROPPED, "fused attention backward matches finite differences");
        caught(Flaw.DK_DROPPED, "attention (causal and not) within tolerance");
    }

    @Test
    void anAttentionBackwardThatWritesWhereItShouldAddIsCaught() {
        caught(Flaw.DV_WRITTEN, "backward ops add into gradients");
        caught(Flaw.DV_WRITTEN, "attention (causal and not) within tolerance");
    }

    @Test
    void aKernelThatIgnoresTheViewOffsetIsCaught() {
        caught(Flaw.OFFSET_BLIND, "every op on views");
        caught(Flaw.K_OFFSET_BLIND, "every op on views");
        // q, k and v as views of one planar buffer: k at offset B·T·C, even on tensors of their own
        caught(Flaw.K_OFFSET_BLIND, "attention (causal and not) within tolerance");
    }

    @Test
    void aRopeWithTheWrongSignIsCaught() {
        caught(Flaw.ROPE_SIGN, "rope forward and backward (pos0 > 0, in place) within 2^-23");
        caught(Flaw.ROPE_SIGN, "rope by quarter turns is rotate_half");
        caught(Flaw.ROPE_SIGN, "rope backward matches finite differences");
    }

    @Test
    void aRopeBackwardThatIsNotTheTransposeIsCaught() {
        caught(Flaw.ROPE_BACKWARD_UNTRANSPOSED, "rope backward matches finite differences");
        caught(Flaw.ROPE_BACKWARD_UNTRANSPOSED, "rope by quarter turns is rotate_half");
    }

    @Test
    void aBackwardThatAddsWhereItShouldWriteIsCaught() {
        caught(Flaw.CROSS_ENTROPY_ADDS, "backward ops add into gradients");
    }

    @Test
    void thePyTorchFixturesCatchAWrongGeluAndAMissingMask() {
        for (Flaw flaw : new Flaw[] {Flaw.ERF_AS_TANH, Flaw.NO_MASK}) {
            String fixture = flaw == Flaw.ERF_AS_TANH ? "vit_block_fixture" : "gpt2_block_fixture";
            TorchFixtureTest.Fixture f = TorchFixtureTest.Fixture.load(fixture);
            try (Device dev = device(flaw)) {
                TorchFixtureTest.Model m = new TorchFixtureTest.Model(dev, f);
                AssertionError e = assertThrows(AssertionError.class, flaw == Flaw.ERF_AS_TANH ? m::vit : m::gpt2);
                assertTrue(e.getMessage().contains("PyTorch"), flaw + " against " + fixture + ": " + e.getMessage());
            }
        }
    }
}
