package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.optim.AdamW;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.transformer.Adapters;
import dev.nola.models.transformer.DeviceWeights;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A tiny GPT-2 as a {@link CausalLm} on the reference device: gradients by finite differences, and training lowers the loss. */
class Gpt2CausalLmTest {

    static final Gpt2Config TINY = new Gpt2Config(8, 2, 2, 16, 37, 1e-5f, "gelu_new");
    static final int B = 2;
    static final int T = 5;

    static int[][] batch(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[B * T];
        int[] targets = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(TINY.vocabularySize());
            targets[i] = i % T == 0 ? CausalLm.IGNORE : r.nextInt(TINY.vocabularySize());
        }
        return new int[][] {ids, targets};
    }


    /**
     * The coefficient gradients through the whole model against central differences of the loss. The
     * reference accumulates in double but stores float32, so the loss (≈ log 37 = 3.6) carries ~4e-7
     * absolute noise, 1e-5 in a difference quotient with step 0.02; 2% of the largest gradient covers
     * the second-order terms. A scale s = 8 makes the gradients large enough (≈ 1e-2) that a 10%
     * error in any path to them fails (tried: dv scaled by 0.9 in the attention backward).
     */
    @Test
    void nolaCoefficientGradientsMatchFiniteDifferences() {
        NolaConfig cfg = NolaConfig.offset(2, 6, 5, 16f, 3L, List.of("q", "v"));
        int[][] data = batch(1);
        try (Device d = Backends.open("reference")) {
            DeviceWeights w = CausalLm.randomWeights(d, TINY.spec(), 7);
            Map<String, NolaAdapter> adapters = Adapters.nola(d, cfg, TINY.spec().model());
            try (CausalLm m = new CausalLm(d, TINY.spec(), w, false, adapters)) {
                assertEquals(List.of("h.0.attn.q", "h.0.attn.v", "h.1.attn.q", "h.1.attn.v"), List.copyOf(m.adapters().keySet()));
                Adapter a = m.adapters().get("h.1.attn.v");
                float[] p = a.parameters();
                for (int i = 0; i < p.length; i++) {
                    p[i] = (float) (0.3 * Math.sin(i + 1));
                }
                a.setParameters(p);
                m.zeroGradients();
                m.forward(data[0], data[1], B, T);
                m.backward();
                float[] g = a.gradients();
                double gmax = 0;
                for (float x : g) {
                    gmax = Math.max(gmax, Math.abs(x));
                }
                assertTrue(gmax > 2e-3, "gradients large enough to test: " + gmax);
                double h = 2e-2;
                for (int i = 0; i < p.length; i++) {
                    float[] plus = p.clone();
                    plus[i] += (float) h;
                    a.setParameters(plus);
                    double lp = m.forward(data[0], data[1], B, T);
                    float[] minus = p.clone();
                    minus[i] -= (float) h;
                    a.setParameters(minus);
                    double lm = m.forward(data[0], data[1], B, T);
                    double fd = (lp - lm) / (2 * h);
                    assertEquals(fd, g[i], 0.02 * gmax + 1e-5, "coefficient " + i);
                }
            } finally {
                adapters.values().forEach(NolaAdapter::close);
                w.close();
            }
        }
    }

    @Test
    void pretrainingLowersTheLoss() {
        int[][] data = batch(2);
        try (Device d = Backends.open("reference")) {
            DeviceWeights w = CausalLm.randomWeights(d, TINY.spec(), 8);
            try (CausalLm m = new CausalLm(d, TINY.spec(), w, true, Map.of());
                 AdamW opt = new AdamW(m.trainable(), 0.9, 0.95, 1e-8, 0.0)) {
                double first = 0;
                double last = 0;
                for (int s = 0; s < 30; s++) {
                    m.zeroGradients();
                    double loss = m.forward(data[0], data[1], B, T);
                    m.backward();
                    opt.step(1e-2);
                    if (s == 0) {
                        first = loss;
                    }
                    last = loss;
                }
                assertEquals(Math.log(TINY.vocabularySize()), first, 0.3, "random weights start near log V");
                assertTrue(last < 0.5 * first, "30 steps on one batch memorise it: " + first + " -> " + last);
            } finally {
                w.close();
            }
        }
    }

    /**
     * The optimizer's parameter order (it sets the order of the gradient-norm sum, so the bits of a
     * clipped step): the adapters in site order, then in pretraining every weight in checkpoint order,
     * named as the checkpoint names them.
     */
    @Test
    void trainableParametersKeepTheirOrder() {
        NolaConfig cfg = NolaConfig.offset(2, 6, 5, 16f, 3L, List.of("v", "q"));
        try (Device d = Backends.open("reference"); DeviceWeights w = CausalLm.randomWeights(d, TINY.spec(), 7)) {
            Map<String, NolaAdapter> adapters = Adapters.nola(d, cfg, TINY.spec().model());
            assertEquals(List.of("h.0.attn.v", "h.0.attn.q", "h.1.attn.v", "h.1.attn.q"), List.copyOf(adapters.keySet()));
            try (CausalLm m = new CausalLm(d, TINY.spec(), w, true, adapters)) {
                assertEquals(List.of("h.0.attn.q", "h.0.attn.v", "h.1.attn.q", "h.1.attn.v"), List.copyOf(m.adapters().keySet()),
                        "site order, whatever the order given");
                var params = m.trainable().list();
                int k = 0;
                for (String site : m.adapters().keySet()) {
                    for (var p : adapters.get(site).parameterSet().list()) {
                        assertEquals(p.value(), params.get(k++).value(), site);
                    }
                }
                List<String> rest = params.subList(k, params.size()).stream().map(p -> p.name()).toList();
                assertEquals(List.copyOf(TINY.spec().model().weights().shapes().keySet()), rest);
            } finally {
                adapters.values().forEach(NolaAdapter::close);
            }
        }
    }
}
