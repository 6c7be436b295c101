package dev.nola.models.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.transformer.KvCache;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Generation with the KV cache against generation without it, on GPT-2 (learned positions, MHA) and a
 * LLaMA (rotary, GQA 4:2, head_dim ≠ C/heads): greedy tokens identical, cached logits equal to the
 * recomputed ones within float32 noise, sampling reproducible from its seed.
 */
class GeneratorTest {

    static final Gpt2Config GPT2 = new Gpt2Config(16, 4, 2, 32, 40, 1e-5f, "gelu_new");
    static final LlamaConfig LLAMA = new LlamaConfig("llama", 24, 40, 2, 4, 2, 8, 32, 40, 1e-5f, 10000.0, null, false, false,
            false, 0);

    static CausalLmSpec spec(String which) {
        return which.equals("gpt2") ? GPT2.spec() : LLAMA.spec();
    }

    /** Random weights with larger gains than GPT-2's init, so the logits have clear maxima. */
    static DeviceWeights weights(Device d, CausalLmSpec spec) {
        return CausalLm.randomWeights(d, spec, 5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void greedyWithTheCacheIsGreedyWithout(String which) {
        CausalLmSpec spec = spec(which);
        for (String dev : new String[] {"reference", "cpu"}) {
            try (Device d = Backends.open(dev); DeviceWeights w = weights(d, spec); CausalLm m = new CausalLm(d, spec, w, false, Map.of())) {
                int[] prompt = {3, 17, 5, 9, 30, 1, 22};
                int[] cached = Generator.generate(m, prompt, Generator.Settings.greedy(20), true);
                int[] plain = Generator.generate(m, prompt, Generator.Settings.greedy(20), false);
                assertEquals(20, cached.length);
                assertArrayEquals(plain, cached, which + " on " + dev);
            }
        }
    }

    /** The cached logits of every step equal a full recomputation's last row, to float32 noise. */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void cachedLogitsMatchRecomputedLogits(String which) {
        CausalLmSpec spec = spec(which);
        int v = spec.vocabulary();
        try (Device d = Backends.open("reference"); DeviceWeights w = weights(d, spec);
             CausalLm m = new CausalLm(d, spec, w, false, Map.of()); KvCache cache = m.newCache(1, 12)) {
            int[] seq = {4, 8, 15, 16, 23, 2, 11, 39, 0, 7, 19, 33};
            m.forwardCached(java.util.Arrays.copyOf(seq, 5), 1, 5, cache);
            for (int n = 5; n <= seq.length; n++) {
                float[] got = new float[v];
                d.read(m.logits(), 0, got, 0, v); // the last new position's row alone
                m.forward(java.util.Arrays.copyOf(seq, n), 1, n);
                float[] want = new float[v];
                d.read(m.logits(), (long) (n - 1) * v, want, 0, v);
                double scale = 0;
                for (float x : want) {
                    scale = Math.max(scale, Math.abs(x));
                }
                for (int i = 0; i < v; i++) {
                    assertEquals(want[i], got[i], 1e-5 * scale, which + ": position " + (n - 1) + ", logit " + i);
                }
                if (n < seq.length) {
                    m.forwardCached(new int[] {seq[n]}, 1, 1, cache);
                }
            }
            assertEquals(seq.length, cache.length());
            assertThrows(IllegalArgumentException.class, () -> m.forwardCached(new int[] {1}, 1, 1, cache));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void samplingIsReproducibleFromItsSeed(String which) {
        CausalLmSpec spec = spec(which);
        try (Device d = Backends.open("cpu"); DeviceWeights w = weights(d, spec); CausalLm m = new CausalLm(d, spec, w, false, Map.of())) {
            int[] prompt = {1, 2, 3};
            Generator.Settings a = new Generator.Settings(30, 1.5, 20, 0.95, 42, -1);
            int[] x = Generator.generate(m, prompt, a, true);
            int[] y = Generator.generate(m, prompt, a, true);
            int[] z = Generator.generate(m, prompt, new Generator.Settings(30, 1.5, 20, 0.95, 43, -1), true);
            assertArrayEquals(x, y);
            assertNotEquals(java.util.Arrays.toString(x), java.util.Arrays.toString(z), "another seed, other tokens");
            int[] stopped = Generator.generate(m, prompt, new Generator.Settings(30, 1.5, 20, 0.95, 42, x[3]), true);
            assertTrue(stopped.length <= 4 && stopped[stopped.length - 1] == x[3], "stops at the stop token");
        }
    }

    @org.junit.jupiter.api.Test
    void badSettingsAreRefusedByName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Generator.Settings(5, 1, 0, 1.5, 1, -1)).getMessage()
                .contains("top-p is 1.5"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Generator.Settings(0, 1, 0, 1, 1, -1)).getMessage()
                .contains("new tokens is 0"));
    }
}
