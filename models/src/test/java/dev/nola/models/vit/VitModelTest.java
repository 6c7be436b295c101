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
import dev.nola.models.transformer.DeviceWeights;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A tiny ViT on the reference device: gradients through patches, blocks and head; pretraining learns. */
class VitModelTest {

    static final VitConfig TINY = new VitConfig(8, 4, 1, 2, 8, 4, 1e-5f);

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
            DeviceWeights w = VitModel.randomWeights(d, TINY, 4);
            Map<String, Adapter> a = new LinkedHashMap<>();
            a.put("h.0.mlp.fc", NolaAdapter.create(d, cfg, 8, 32, 0, "fc"));
            a.put("h.0.mlp.fc2", NolaAdapter.create(d, cfg, 32, 8, 0, "fc2"));
            try (VitModel m = new VitModel(d, TINY, w, false, a)) {
                Adapter fc = m.adapters().get("h.0.mlp.fc");
                float[] p = fc.parameters();
                for (int i = 0; i < p.length; i++) {
                    p[i] = (float) (0.5 * Math.cos(i));
                }
                fc.setParameters(p);
                m.zeroGradients();
                m.forward(data.pixels(), data.labels(), 6, 0.1f);
                m.backward();
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
                a.values().forEach(Adapter::close);
                w.close();
            }
        }
    }

    @Test
    void pretrainingLearnsTheQuadrants() {
        try (Device d = Backends.open("reference")) {
            DeviceWeights w = VitModel.randomWeights(d, TINY, 5);
            try (VitModel m = new VitModel(d, TINY, w, true, Map.of())) {
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

    /** VitInit's sampler (commit 3ce6d2a): Box–Muller on each pair of uniforms, the cos value alone. */
    static float[] cos(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            v[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2) * 0.02);
        }
        return v;
    }

    /**
     * A fresh ViT draws what VitInit drew before the weight table: one generator, the blocks' four
     * projections layer by layer, then the patch projection, the token table, the positions and the head;
     * a new head from its own generator. Compared bit for bit: the cached base is pretrained from them.
     */
    @Test
    void freshWeightsAreTheOnesTheOldInitialisationDrew() {
        VitConfig cfg = new VitConfig(8, 4, 2, 2, 8, 3, 1e-6f);
        int c = cfg.width();
        SplittableRandom r = new SplittableRandom(9);
        Map<String, float[]> want = new LinkedHashMap<>();
        for (int i = 0; i < cfg.layers(); i++) {
            String h = "h." + i + ".";
            want.put(h + "attn.c_attn.weight", cos(r, c * 3 * c));
            want.put(h + "attn.c_proj.weight", cos(r, c * c));
            want.put(h + "mlp.c_fc.weight", cos(r, c * 4 * c));
            want.put(h + "mlp.c_proj.weight", cos(r, 4 * c * c));
        }
        want.put("patch.weight", cos(r, cfg.patchSize() * c));
        want.put("tokens", cos(r, 2 * c));
        want.put("positions", cos(r, cfg.tokens() * c));
        want.put("head.weight", cos(r, c * cfg.classes()));
        try (Device d = Backends.open("reference"); DeviceWeights w = VitModel.randomWeights(d, cfg, 9)) {
            Map<String, float[]> got = w.download(d);
            want.forEach((name, v) -> org.junit.jupiter.api.Assertions.assertArrayEquals(v, got.get(name), 0f, name));
            for (String name : got.keySet()) {
                if (!want.containsKey(name)) {
                    float fill = name.endsWith("ln_1.weight") || name.endsWith("ln_2.weight") || name.equals("ln_f.weight") ? 1f : 0f;
                    for (float x : got.get(name)) {
                        assertEquals(fill, x, name);
                    }
                }
            }
            try (VitModel.Head head = VitModel.newHead(d, cfg.withClasses(5), 21)) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(cos(new SplittableRandom(21), c * 5), d.read(head.weight()), 0f);
                org.junit.jupiter.api.Assertions.assertArrayEquals(new float[5], d.read(head.bias()), 0f);
            }
        }
    }

    /**
     * The optimizer's parameter order (it sets the order of the gradient-norm sum, so the bits of a
     * clipped step): the head, the adapters in site order, then in pretraining the base in file order.
     */
    @Test
    void trainableParametersKeepTheirOrder() {
        NolaConfig cfg = NolaConfig.offset(1, 5, 4, 8f, 3L, List.of("fc", "fc2"));
        try (Device d = Backends.open("reference"); DeviceWeights w = VitModel.randomWeights(d, TINY, 4)) {
            Map<String, Adapter> a = new LinkedHashMap<>();
            // given in the reverse order: the model lists them in site order
            a.put("h.0.mlp.fc2", NolaAdapter.create(d, cfg, 32, 8, 0, "fc2"));
            a.put("h.0.mlp.fc", NolaAdapter.create(d, cfg, 8, 32, 0, "fc"));
            try (VitModel m = new VitModel(d, TINY, w, false, a)) {
                List<String> names = m.trainable().list().stream().map(p -> p.name()).toList();
                assertEquals(List.of("head.weight", "head.bias"), names.subList(0, 2));
                assertEquals(a.get("h.0.mlp.fc").parameterSet().list().get(0).value(), m.trainable().list().get(2).value(),
                        "fc's parameters before fc2's");
                assertEquals(2 + a.values().stream().mapToInt(x -> x.parameterSet().list().size()).sum(), names.size());
                assertEquals(List.of("head.weight", "head.bias"), m.head().list().stream().map(p -> p.name()).toList());
            } finally {
                a.values().forEach(Adapter::close);
            }
            try (VitModel m = new VitModel(d, TINY, w, true, Map.of())) {
                List<String> names = m.trainable().list().stream().map(p -> p.name()).toList();
                List<String> table = TINY.spec().weights().list().stream().map(x -> x.name()).toList();
                List<String> want = new java.util.ArrayList<>(List.of("head.weight", "head.bias"));
                want.addAll(table.subList(0, table.size() - 2));
                assertEquals(want, names);
            }
        }
    }
}
