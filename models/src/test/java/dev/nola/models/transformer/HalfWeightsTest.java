package dev.nola.models.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.optim.Parameter;
import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Availability;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.models.DeviceComparison;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.spec.CausalLmSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code --weights bf16} on a GPT-2 shaped like the fortunes base (2 layers, tied head) but small, on
 * every device that holds bfloat16: the frozen matrices and the embedding are bfloat16 on the device
 * and nothing else is; the loss is within 1e-2 of float32's (and not equal to it: bfloat16 is really
 * in use); it equals, to float32 summation noise, the loss of a float32 model whose weights were
 * rounded to bfloat16 on the host, forward and through a NOLA adapter's coefficient gradients (the
 * backward reads the bfloat16 weights as dX = dY·Wᵀ and through the tied head); and the weights take
 * 2 bytes fewer per bfloat16 element.
 */
class HalfWeightsTest {

    /** C = 48, 4 heads, 2 layers, 32 positions, V = 211: the fortunes base's layout at a test's size. */
    static final Gpt2Config CONFIG = new Gpt2Config(48, 4, 2, 32, 211, 1e-5f, "gelu_new");
    static final int B = 2;
    static final int T = 32;

    /** Weights drawn as GPT-2 initialises them, the matrices scaled ×8 so that the logits are peaked (loss far from ln V). */
    private static Map<String, float[]> weights(Device d, CausalLmSpec spec) {
        Map<String, float[]> host;
        try (DeviceWeights w = CausalLm.randomWeights(d, spec, 11)) {
            host = w.download(d);
        }
        Set<String> matrices = WeightPrecision.BF16.halfWeights(spec, false);
        host.replaceAll((name, v) -> {
            if (matrices.contains(name)) {
                for (int i = 0; i < v.length; i++) {
                    v[i] *= 8;
                }
            }
            return v;
        });
        return host;
    }

    private static int[][] batch() {
        SplittableRandom r = new SplittableRandom(5);
        int[] ids = new int[B * T];
        int[] targets = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(CONFIG.vocabularySize());
        }
        for (int i = 0; i < ids.length; i++) {
            // next-token targets, the first of each sequence masked as a prompt token is
            targets[i] = i % T == T - 1 ? CausalLm.IGNORE : ids[i + 1];
        }
        return new int[][] {ids, targets};
    }

    /** Loss, then the coefficient gradients of NOLA adapters on q and v after one backward. */
    private record Run(double loss, List<float[]> gradients, long weightBytes) {
    }

    private static Run run(Device d, CausalLmSpec spec, Map<String, float[]> host, Set<String> half) {
        int[][] data = batch();
        AbstractDevice ad = (AbstractDevice) d;
        long before = ad.memoryBytes();
        try (DeviceWeights w = DeviceWeights.upload(d, spec.model().weights(), host, half)) {
            long bytes = ad.memoryBytes() - before;
            Map<String, NolaAdapter> adapters = Adapters.nola(d, NolaConfig.offset(2, 6, 5, 16f, 3L, List.of("q", "v")),
                    spec.model());
            try (CausalLm m = new CausalLm(d, spec, w, false, adapters)) {
                m.zeroGradients();
                double loss = m.forward(data[0], data[1], B, T);
                m.backward();
                List<float[]> grads = new ArrayList<>();
                for (Parameter p : m.trainable().list()) {
                    grads.add(d.read(p.grad()));
                }
                return new Run(loss, grads, bytes);
            } finally {
                adapters.values().forEach(NolaAdapter::close);
            }
        }
    }

    @Test
    void theFrozenMatricesAndTheEmbeddingAreBf16AndNothingElse() {
        CausalLmSpec spec = CONFIG.spec();
        Set<String> half = WeightPrecision.BF16.halfWeights(spec, false);
        List<String> expected = new ArrayList<>(List.of("wte.weight"));
        for (int l = 0; l < 2; l++) {
            for (String s : List.of("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")) {
                expected.add("h." + l + "." + s + ".weight");
            }
        }
        assertEquals(Set.copyOf(expected), half);
        assertTrue(WeightPrecision.F32.halfWeights(spec, false).isEmpty());
        assertTrue(WeightPrecision.BF16.halfWeights(spec, true).isEmpty(), "a base that trains stays float32");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightPrecision.parse("--weights", "fp16"));
        assertEquals("--weights is 'fp16'; expected f32 or bf16", e.getMessage());
        assertEquals(WeightPrecision.BF16, WeightPrecision.parse("--weights", "BF16"));
    }

    @TestFactory
    Stream<DynamicNode> bf16LossIsWithin1e2OfFloat32AndEqualsTheRoundedModel() {
        return DeviceComparison.onEveryDevice("bf16 weights", d -> {
            Availability a = d.holds(DType.BF16);
            Assumptions.assumeTrue(a.available(), () -> d.id() + ": " + a.reason());
            CausalLmSpec spec = CONFIG.spec();
            Map<String, float[]> host = weights(d, spec);
            Set<String> half = WeightPrecision.BF16.halfWeights(spec, false);
            Run f32 = run(d, spec, host, Set.of());
            Run bf16 = run(d, spec, host, half);
            Map<String, float[]> rounded = new LinkedHashMap<>(host);
            half.forEach(n -> rounded.put(n, BFloat16.rounded(host.get(n))));
            Run roundedF32 = run(d, spec, rounded, Set.of());

            // peaked logits: the loss is far from ln V (a uniform guess), so rounding the weights moves it
            assertTrue(Math.abs(f32.loss() - Math.log(CONFIG.vocabularySize())) > 0.5,
                    "the test model's loss " + f32.loss() + " should be far from ln V, so that rounding can move it");
            assertTrue(Math.abs(bf16.loss() - f32.loss()) <= 1e-2, d.id() + ": bf16 loss " + bf16.loss() + " vs f32 "
                    + f32.loss());
            assertNotEquals(f32.loss(), bf16.loss(), "the bf16 run must differ from float32: is bf16 in use?");
            // the same rounded weights through float32 tensors: only summation order may differ
            assertEquals(roundedF32.loss(), bf16.loss(), 1e-5 * Math.abs(roundedF32.loss()), d.id() + ": loss");
            DeviceComparison.Worst worst = new DeviceComparison.Worst(d, "bf16 vs rounded f32");
            for (int i = 0; i < bf16.gradients().size(); i++) {
                worst.check("coefficient gradient " + i, roundedF32.gradients().get(i), bf16.gradients().get(i));
            }
            long halfElements = half.stream().mapToLong(n -> host.get(n).length).sum();
            assertEquals(f32.weightBytes() - 2 * halfElements, bf16.weightBytes(), "2 bytes saved per bf16 element");
            assertEquals(bf16.weightBytes(), WeightPrecision.deviceBytes(spec.model().weights(), half));
            System.out.printf("[bf16] %s: loss f32 %.6f, bf16 %.6f (|Δ| %.2e); weights %,d -> %,d bytes%n", d.id(),
                    f32.loss(), bf16.loss(), Math.abs(bf16.loss() - f32.loss()), f32.weightBytes(), bf16.weightBytes());
        });
    }
}
