package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.Messages;
import dev.nola.models.lm.Architectures;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.BlockSpec;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.spec.Layout;
import dev.nola.models.spec.MlpSpec;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.spec.WeightTable;
import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.UntrustedJson;
import dev.nola.models.transformer.DeviceWeights;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GPT-2 as a spec: the weight table is Hugging Face's list of tensors (the one table the loader, the
 * writer, the initialiser and the device weights read), the adapter sites are the four the adapter files
 * have always named, the activation is the one config.json names, and a fresh model draws exactly the
 * numbers the project's GPT-2 initialisation drew before the table existed.
 */
class Gpt2SpecTest {

    @TempDir
    Path tmp;

    /** C = 8, 2 heads, 2 layers, 16 positions, 32 tokens. */
    static final Gpt2Config TINY = TinyGpt2.CONFIG;

    /** Hugging Face's GPT2Model state_dict, buffers left out, written out by hand. */
    static Map<String, int[]> hfTensors(int v, int p, int layers, int c) {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("wte.weight", new int[] {v, c});
        m.put("wpe.weight", new int[] {p, c});
        for (int i = 0; i < layers; i++) {
            String h = "h." + i + ".";
            m.put(h + "ln_1.weight", new int[] {c});
            m.put(h + "ln_1.bias", new int[] {c});
            m.put(h + "attn.c_attn.weight", new int[] {c, 3 * c});
            m.put(h + "attn.c_attn.bias", new int[] {3 * c});
            m.put(h + "attn.c_proj.weight", new int[] {c, c});
            m.put(h + "attn.c_proj.bias", new int[] {c});
            m.put(h + "ln_2.weight", new int[] {c});
            m.put(h + "ln_2.bias", new int[] {c});
            m.put(h + "mlp.c_fc.weight", new int[] {c, 4 * c});
            m.put(h + "mlp.c_fc.bias", new int[] {4 * c});
            m.put(h + "mlp.c_proj.weight", new int[] {4 * c, c});
            m.put(h + "mlp.c_proj.bias", new int[] {c});
        }
        m.put("ln_f.weight", new int[] {c});
        m.put("ln_f.bias", new int[] {c});
        return m;
    }

    @Test
    void theWeightTableIsHuggingFacesListInOrder() {
        WeightTable t = TINY.spec().model().weights();
        Map<String, int[]> want = hfTensors(32, 16, 2, 8);
        assertEquals(List.copyOf(want.keySet()), List.copyOf(t.shapes().keySet()), "names, in checkpoint order");
        want.forEach((name, shape) -> assertArrayEquals(shape, t.shape(name), name));
        for (WeightSpec w : t.list()) {
            assertEquals(WeightSpec.Training.BASE, w.training(), w.name() + ": GPT-2 has no weight that trains in fine-tuning");
        }
        CausalLmSpec s = TINY.spec();
        assertEquals("wte.weight", s.headWeight(), "the head is tied to the token embedding");
        assertNull(s.head());
        assertEquals("wpe.weight", s.positionEmbedding());
    }

    @Test
    void gpt2SmallHasItsKnownParameterCount() {
        Gpt2Config small = Gpt2Config.small();
        long formula = 50257L * 768 + 1024L * 768 + 12L * (12L * 768 * 768 + 13L * 768) + 2L * 768;
        assertEquals(124_439_808L, formula);
        assertEquals(124_439_808L, small.spec().model().weights().parameterCount());
        assertEquals(124_439_808L, small.parameterCount());
        assertEquals(2 + 12 * 12 + 2, small.spec().model().weights().size());
        Map<String, int[]> want = hfTensors(50257, 1024, 12, 768);
        assertEquals(List.copyOf(want.keySet()), List.copyOf(small.spec().model().weights().shapes().keySet()));
    }

    @Test
    void theSitesAreQVFcAndFc2OfEveryLayer() {
        ModelSpec m = TINY.spec().model();
        assertEquals(List.of("q", "v", "fc", "fc2"), m.modules());
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            for (String s : List.of("attn.q", "attn.v", "mlp.fc", "mlp.fc2")) {
                names.add("h." + i + "." + s);
            }
        }
        assertEquals(names, List.copyOf(m.sites().keySet()));
        for (int i = 0; i < 2; i++) {
            String h = "h." + i + ".";
            site(m, h + "attn.q", "q", i, h + "attn.c_attn.weight", 8, 8, 0, 24);
            site(m, h + "attn.v", "v", i, h + "attn.c_attn.weight", 8, 8, 16, 24);
            site(m, h + "mlp.fc", "fc", i, h + "mlp.c_fc.weight", 8, 32, 0, 32);
            site(m, h + "mlp.fc2", "fc2", i, h + "mlp.c_proj.weight", 32, 8, 0, 8);
            // k is the middle third of c_attn and no site
            BlockSpec b = m.blocks().get(i);
            assertEquals(8, b.attention().k().offset());
            assertFalse(b.attention().k().adaptable());
            assertFalse(b.attention().out().adaptable());
        }
        // layer by layer, then in the order the modules are asked for
        assertEquals(List.of("h.0.attn.v", "h.0.attn.q", "h.1.attn.v", "h.1.attn.q"),
                m.sitesOf(List.of("v", "q")).stream().map(AdapterSite::name).toList());
        String msg = Messages.of(() -> m.sitesOf(List.of("k")));
        assertTrue(msg.contains("'k'") && msg.contains("q, v, fc, fc2"), msg);
    }

    private static void site(ModelSpec m, String name, String module, int layer, String weight, int in, int out, int offset,
                             int stored) {
        AdapterSite s = m.sites().get(name);
        assertEquals(module, s.module(), name);
        assertEquals(layer, s.layer(), name);
        assertEquals(in, s.in(), name + " in");
        assertEquals(out, s.out(), name + " out");
        assertEquals(weight, s.linear().weight(), name);
        assertEquals(Layout.CONV1D, s.linear().layout(), name);
        assertEquals(offset, s.linear().offset(), name + " offset");
        assertEquals(stored, s.linear().stored(), name + " stored");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gelu", "gelu_new", "gelu_pytorch_tanh"})
    void theActivationIsTheOneConfigJsonNames(String act) {
        Gpt2Config c = new Gpt2Config(8, 2, 2, 16, 32, 1e-5f, act);
        MlpSpec.Activation want = act.equals("gelu") ? MlpSpec.Activation.GELU_ERF : MlpSpec.Activation.GELU_TANH;
        for (BlockSpec b : c.spec().model().blocks()) {
            assertEquals(want, b.mlp().activation(), act + " in block " + b.layer());
        }
        // and through config.json, as a checkpoint directory gives it
        var parsed = Architectures.parse(UntrustedJson.parse(c.toJson(), "config.json"), "config.json");
        assertEquals(c, parsed);
        assertTrue(new String(c.toJson(), StandardCharsets.UTF_8).contains("\"" + act + "\""));
        assertEquals(want, parsed.spec().model().blocks().get(1).mlp().activation());
    }

    @Test
    void checkpointsRoundTripThroughTheTable() {
        SplittableRandom r = new SplittableRandom(3);
        Map<String, float[]> t = new LinkedHashMap<>();
        // given in reverse: the checkpoint puts them in table order
        List<WeightSpec> list = new ArrayList<>(TINY.spec().model().weights().list());
        java.util.Collections.reverse(list);
        for (WeightSpec w : list) {
            float[] v = new float[w.elements()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) r.nextGaussian();
            }
            t.put(w.name(), v);
        }
        HfCheckpoint c = HfCheckpoint.of(TINY, t);
        assertEquals(List.copyOf(TINY.spec().model().weights().shapes().keySet()), List.copyOf(c.tensors().keySet()));
        c.write(tmp.resolve("ck"));
        HfCheckpoint back = HfCheckpoint.load(tmp.resolve("ck"));
        assertEquals(TINY, back.config());
        t.forEach((name, v) -> assertArrayEquals(v, back.tensor(name), 0f, name));

        HfCheckpoint z = HfCheckpoint.zeros(TINY);
        assertEquals(TINY.parameterCount(), z.tensors().values().stream().mapToLong(v -> v.length).sum());
        Map<String, float[]> extra = new LinkedHashMap<>(t);
        extra.put("lm_head.weight", t.get("wte.weight"));
        String m = Messages.of(() -> HfCheckpoint.of(TINY, extra));
        assertTrue(m.contains("'lm_head.weight' is not part of this GPT-2"), m);
    }

    /**
     * A fresh GPT-2 draws what the project's GPT-2 initialisation drew before the weight table
     * (commit 3ce6d2a, {@code Gpt2Init}): one generator, tensors in checkpoint order, each tensor's
     * pairs of uniforms giving a Box–Muller cos and sin value; wpe at half the std; the residual
     * projections at 0.02/√(2L); norms 1, biases 0. Any change of order, sampler or std changes bits
     * of the bases pretrained from it, so this is compared bit for bit.
     */
    @Test
    void freshWeightsAreTheOnesTheOldInitialisationDrew() {
        long seed = 8;
        SplittableRandom r = new SplittableRandom(seed);
        int c = TINY.embeddingSize();
        double projStd = 0.02 / Math.sqrt(2.0 * TINY.layers());
        Map<String, float[]> want = new LinkedHashMap<>();
        want.put("wte.weight", pairs(r, 0.02, TINY.vocabularySize() * c));
        want.put("wpe.weight", pairs(r, 0.02 * 0.5, TINY.positions() * c));
        for (int i = 0; i < TINY.layers(); i++) {
            String h = "h." + i + ".";
            want.put(h + "ln_1.weight", ones(c));
            want.put(h + "ln_1.bias", new float[c]);
            want.put(h + "attn.c_attn.weight", pairs(r, 0.02, c * 3 * c));
            want.put(h + "attn.c_attn.bias", new float[3 * c]);
            want.put(h + "attn.c_proj.weight", pairs(r, projStd, c * c));
            want.put(h + "attn.c_proj.bias", new float[c]);
            want.put(h + "ln_2.weight", ones(c));
            want.put(h + "ln_2.bias", new float[c]);
            want.put(h + "mlp.c_fc.weight", pairs(r, 0.02, c * 4 * c));
            want.put(h + "mlp.c_fc.bias", new float[4 * c]);
            want.put(h + "mlp.c_proj.weight", pairs(r, projStd, 4 * c * c));
            want.put(h + "mlp.c_proj.bias", new float[c]);
        }
        want.put("ln_f.weight", ones(c));
        want.put("ln_f.bias", new float[c]);
        try (Device d = Backends.open("reference"); DeviceWeights w = CausalLm.randomWeights(d, TINY.spec(), seed)) {
            Map<String, float[]> got = w.download(d);
            assertEquals(List.copyOf(want.keySet()), List.copyOf(got.keySet()));
            want.forEach((name, v) -> assertArrayEquals(v, got.get(name), 0f, name));
        }
    }

    /** Gpt2Init's sampler: Box–Muller on each pair of uniforms, both values kept. */
    static float[] pairs(SplittableRandom r, double std, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i += 2) {
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            double m = Math.sqrt(-2 * Math.log(u1)) * std;
            v[i] = (float) (m * Math.cos(2 * Math.PI * u2));
            if (i + 1 < n) {
                v[i + 1] = (float) (m * Math.sin(2 * Math.PI * u2));
            }
        }
        return v;
    }

    static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }
}
