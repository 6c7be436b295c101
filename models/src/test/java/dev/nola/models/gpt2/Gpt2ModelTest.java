package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.optim.AdamW;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.transformer.TransformerBlock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A tiny GPT-2 on the reference device: gradients by finite differences, and training lowers the loss. */
class Gpt2ModelTest {

    static final Gpt2Model.Dims TINY = new Gpt2Model.Dims(37, 16, 2, 2, 8, 1e-5f);
    static final int B = 2;
    static final int T = 5;

    static int[][] batch(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[B * T];
        int[] targets = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(TINY.vocab());
            targets[i] = i % T == 0 ? Gpt2Model.IGNORE : r.nextInt(TINY.vocab());
        }
        return new int[][] {ids, targets};
    }

    static Map<String, Adapter> nolaOnQv(Device d, NolaConfig cfg, int layer) {
        Map<String, Adapter> m = new HashMap<>();
        m.put(TransformerBlock.Q, NolaAdapter.create(d, cfg, TINY.width(), TINY.width(), layer, "q"));
        m.put(TransformerBlock.V, NolaAdapter.create(d, cfg, TINY.width(), TINY.width(), layer, "v"));
        return m;
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
            Gpt2Model.Weights w = Gpt2Init.random(d, TINY, 7);
            try (Gpt2Model m = new Gpt2Model(d, TINY, w, false, i -> nolaOnQv(d, cfg, i))) {
                Adapter a = m.adapters(1).get(TransformerBlock.V);
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
                Gpt2Init.close(w);
            }
        }
    }

    @Test
    void pretrainingLowersTheLoss() {
        int[][] data = batch(2);
        try (Device d = Backends.open("reference")) {
            Gpt2Model.Weights w = Gpt2Init.random(d, TINY, 8);
            try (Gpt2Model m = new Gpt2Model(d, TINY, w, true, i -> Map.of());
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
                assertEquals(Math.log(TINY.vocab()), first, 0.3, "random weights start near log V");
                assertTrue(last < 0.5 * first, "30 steps on one batch memorise it: " + first + " -> " + last);
            } finally {
                Gpt2Init.close(w);
            }
        }
    }
}
