package dev.nola.models.lm;

import static dev.nola.models.DeviceComparison.onEveryDevice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.optim.Parameter;
import dev.nola.kernels.Device;
import dev.nola.models.DeviceComparison.Worst;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.CrossEntropyLoss;
import dev.nola.models.transformer.DeviceWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/**
 * The head and loss fused in row blocks ({@link LmHead}) against the unfused result: the loss from
 * the whole [B·T, V] logits ({@link CausalLm#forward(int[], int, int)} then {@link CrossEntropyLoss}),
 * and the gradients of a single block over all rows (the former op sequence: one head matmul,
 * cross-entropy forward and backward, two head matmuls back) against blocks of 1, 4 and 5 rows,
 * none of which divides B·T = 2 × 7 — with the base training (so the tied or own head's gradient is
 * checked too), label smoothing and ignored targets, on every device.
 */
class LmHeadBlocksTest {

    static final int B = 2;
    static final int T = 7;

    @TestFactory
    Stream<DynamicNode> blocksGiveTheUnfusedLossAndGradients() {
        List<DynamicNode> all = new ArrayList<>();
        for (String which : new String[] {"gpt2", "llama"}) {
            CausalLmSpec spec = GeneratorTest.spec(which);
            SplittableRandom r = new SplittableRandom(3);
            int v = spec.vocabulary();
            int[] ids = r.ints(B * T, 0, v).toArray();
            int[] targets = r.ints(B * T, 0, v).toArray();
            targets[2] = CausalLm.IGNORE;
            targets[9] = CausalLm.IGNORE;
            onEveryDevice(which + ": head blocks of 1, 4, 5 rows against one block and the whole logits", d -> {
                Worst worst = new Worst(d, "lm-head " + which);
                try (DeviceWeights w = CausalLm.randomWeights(d, spec, 7);
                     CausalLm m = new CausalLm(d, spec, w, true, Map.of()).labelSmoothing(0.1f)) {
                    // unfused loss: the whole logits, then the loss op over them
                    m.forward(ids, B, T);
                    double unfused;
                    try (CrossEntropyLoss ce = new CrossEntropyLoss(d)) {
                        ce.forward(m.logits(), targets, 0.1f);
                        unfused = ce.mean();
                    }
                    Run one = run(m, ids, targets, B * T);
                    worst.check("loss, one block vs the whole logits", new float[] {(float) unfused},
                            new float[] {(float) one.loss});
                    for (int rows : new int[] {1, 4, 5}) {
                        Run got = run(m, ids, targets, rows);
                        worst.check("loss, blocks of " + rows, new float[] {(float) one.loss}, new float[] {(float) got.loss});
                        worst.check("dL/d(input), blocks of " + rows, one.input, got.input);
                        for (int i = 0; i < one.grads.size(); i++) {
                            worst.check("grad " + i + ", blocks of " + rows, one.grads.get(i), got.grads.get(i));
                        }
                    }
                    assertEquals(unfused, m.evaluate(ids, targets, B, T), 1e-5 * Math.abs(unfused), "evaluate's loss");
                    assertThrows(IllegalStateException.class, m::backward, "evaluate prepares no backward");
                    assertThrows(IllegalStateException.class, m::logits, "a loss forward keeps no logits");
                    worst.print();
                }
            }).forEach(all::add);
        }
        return all.stream();
    }

    record Run(double loss, float[] input, List<float[]> grads) {
    }

    static Run run(CausalLm m, int[] ids, int[] targets, int rows) {
        Device d = m.device();
        m.headBlockRows(rows);
        m.zeroGradients();
        double loss = m.forward(ids, targets, B, T);
        m.backward();
        List<float[]> grads = new ArrayList<>();
        boolean nonzero = false;
        for (Parameter p : m.trainable().list()) {
            float[] g = d.read(p.grad());
            grads.add(g);
            for (float x : g) {
                nonzero |= x != 0;
            }
        }
        assertTrue(nonzero, "the base trains, so there are gradients to compare");
        return new Run(loss, d.read(m.inputGradient()), grads);
    }

    /** Generation's rows: the last position of each sequence, equal to those rows of the whole logits. */
    @TestFactory
    Stream<DynamicNode> lastRowsAreThoseOfTheWholeLogits() {
        CausalLmSpec spec = GeneratorTest.spec("llama");
        int v = spec.vocabulary();
        int[] ids = new SplittableRandom(5).ints(B * T, 0, v).toArray();
        return onEveryDevice("forwardLast's rows against forward's", d -> {
            Worst worst = new Worst(d, "lm-head last rows");
            try (DeviceWeights w = CausalLm.randomWeights(d, spec, 7); CausalLm m = new CausalLm(d, spec, w, false, Map.of())) {
                m.forward(ids, B, T);
                float[] whole = d.read(m.logits());
                m.forwardLast(ids, B, T);
                assertEquals(B, m.logits().dim(0));
                float[] last = d.read(m.logits());
                for (int s = 0; s < B; s++) {
                    float[] want = java.util.Arrays.copyOfRange(whole, ((s + 1) * T - 1) * v, (s + 1) * T * v);
                    worst.check("sequence " + s, want, java.util.Arrays.copyOfRange(last, s * v, (s + 1) * v));
                }
                worst.print();
            }
        });
    }
}
