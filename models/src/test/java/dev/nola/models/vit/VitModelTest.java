package dev.nola.models.vit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.image.ImageSet;
import dev.nola.models.train.Trainer;
import dev.nola.models.train.TrainerSettings;
import dev.nola.models.transformer.TransformerBlock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A tiny ViT on the reference device: gradients through patches, blocks and head; pretraining learns. */
class VitModelTest {

    static final VitModel.Dims TINY = new VitModel.Dims(8, 4, 1, 2, 8, 4, 1e-5f);

    /** Images whose class is the bright quadrant, with noise. */
    static ImageSet quadrants(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] px = new float[n * 64];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(4);
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    int q = (y / 4) * 2 + x / 4;
                    px[i * 64 + y * 8 + x] = (float) ((q == labels[i] ? 1.0 : 0.0) + 0.3 * r.nextDouble());
                }
            }
        }
        return ImageSet.of(px, labels, 8, 8);
    }

    /** Head and NOLA-on-MLP gradients against central differences (see Gpt2ModelTest for the tolerance). */
    @Test
    void gradientsMatchFiniteDifferences() {
        NolaConfig cfg = NolaConfig.offset(1, 5, 4, 8f, 3L, List.of("fc", "fc2"));
        ImageSet data = quadrants(6, 1);
        try (Device d = Backends.open("reference")) {
            VitModel.Weights w = VitInit.random(d, TINY, 4);
            try (VitModel m = new VitModel(d, TINY, w, false, i -> {
                Map<String, Adapter> a = new HashMap<>();
                a.put(TransformerBlock.FC, NolaAdapter.create(d, cfg, 8, 32, i, "fc"));
                a.put(TransformerBlock.FC2, NolaAdapter.create(d, cfg, 32, 8, i, "fc2"));
                return a;
            })) {
                Adapter fc = m.adapters(0).get(TransformerBlock.FC);
                float[] p = fc.parameters();
                for (int i = 0; i < p.length; i++) {
                    p[i] = (float) (0.5 * Math.cos(i));
                }
                fc.setParameters(p);
                m.zeroGradients();
                m.forward(data.pixels(), data.labels(), 6, 0.1f);
                m.backward(0.1f);
                float[] g = fc.gradients();
                double gmax = 0;
                for (float x : g) {
                    gmax = Math.max(gmax, Math.abs(x));
                }
                assertTrue(gmax > 1e-3, "gradients large enough to test: " + gmax);
                double h = 2e-2;
                for (int i = 0; i < p.length; i++) {
                    float[] plus = p.clone();
                    plus[i] += (float) h;
                    fc.setParameters(plus);
                    double lp = m.forward(data.pixels(), data.labels(), 6, 0.1f);
                    float[] minus = p.clone();
                    minus[i] -= (float) h;
                    fc.setParameters(minus);
                    double lm = m.forward(data.pixels(), data.labels(), 6, 0.1f);
                    assertEquals((lp - lm) / (2 * h), g[i], 0.02 * gmax + 1e-5, "coefficient " + i);
                }
            } finally {
                w.close();
            }
        }
    }

    @Test
    void pretrainingLearnsTheQuadrants() {
        try (Device d = Backends.open("reference")) {
            VitModel.Weights w = VitInit.random(d, TINY, 5);
            try (VitModel m = new VitModel(d, TINY, w, true, null)) {
                VitTask task = new VitTask(m, quadrants(512, 2), quadrants(64, 3), 16, 7, 0f);
                double before = task.evaluate().accuracy();
                Trainer.Result r = Trainer.run(task, new TrainerSettings(200, 1e-2, 10, true, 1.0, 0.0, 0, 0, 0.99), null,
                        false, null);
                assertTrue(r.last().accuracy() > 0.9 && r.last().accuracy() > before + 0.3,
                        "accuracy " + before + " -> " + r.last().accuracy());
            } finally {
                w.close();
            }
        }
    }
}
