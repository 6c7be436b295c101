package dev.nola.models.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.Adapters;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.transformer.KvCache;
import dev.nola.models.transformer.RowAdapters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The multi-adapter batched decode step (one base, an adapter per row, a KV cache per sequence,
 * sequences joining and leaving at token boundaries) against {@link Generator} decoding each sequence
 * alone on a model that carries its adapter: the same tokens, token for token, on GPT-2 (learned
 * positions) and a LLaMA (rotary, grouped-query heads), on the reference and cpu backends.
 */
class BatchedDecodeTest {

    /** NOLA adapters on every site with coefficients drawn from a seed, large enough to change the greedy tokens. */
    static Map<String, NolaAdapter> adapters(Device d, CausalLmSpec spec, long seed) {
        List<String> modules = spec.model().sites().values().stream().map(AdapterSite::module).distinct().toList();
        NolaConfig cfg = NolaConfig.offset(2, 6, 5, 16f, 3L, modules);
        Map<String, NolaAdapter> m = Adapters.nola(d, cfg, spec.model());
        Random r = new Random(seed);
        for (NolaAdapter a : m.values()) {
            float[] alpha = new float[cfg.basisA()];
            float[] beta = new float[cfg.basisB()];
            for (int i = 0; i < alpha.length; i++) {
                alpha[i] = (float) r.nextGaussian() * 3;
            }
            for (int i = 0; i < beta.length; i++) {
                beta[i] = (float) r.nextGaussian() * 3;
            }
            a.setCoefficients(alpha, beta);
        }
        return m;
    }

    @ParameterizedTest
    @CsvSource({"gpt2, reference", "gpt2, cpu", "llama, reference", "llama, cpu"})
    void batchedDecodeOverMixedAdaptersIsEachSequenceDecodedAlone(String which, String device) {
        CausalLmSpec spec = GeneratorTest.spec(which);
        int steps = 12;
        int[][] prompts = {{3, 17, 5}, {9, 30, 1, 22, 7}, {11}, {2, 4, 6, 8}, {39, 38}};
        // sequence i uses adapter i % 3 (3: the base alone) and joins the batch at step joins[i]
        int[] adapterOf = {0, 1, 2, 3, 1};
        int[] joins = {0, 0, 2, 3, 5};
        try (Device d = Backends.open(device); DeviceWeights w = GeneratorTest.weights(d, spec)) {
            List<Map<String, NolaAdapter>> sets = List.of(adapters(d, spec, 1), adapters(d, spec, 2), adapters(d, spec, 3));
            try {
                int[][] alone = new int[prompts.length][];
                for (int i = 0; i < prompts.length; i++) {
                    Map<String, ? extends Adapter> a = adapterOf[i] < 3 ? sets.get(adapterOf[i]) : Map.of();
                    try (CausalLm m = new CausalLm(d, spec, w, false, a)) {
                        alone[i] = Generator.generate(m, prompts[i], Generator.Settings.greedy(steps), true);
                    }
                }
                // the adapters do change the output: the same prompt under two adapters differs
                assertNotEquals(Arrays.toString(alone[1]), Arrays.toString(alone[4]));
                int[][] batched = decodeBatched(d, spec, w, sets, prompts, adapterOf, joins, steps);
                for (int i = 0; i < prompts.length; i++) {
                    assertArrayEquals(alone[i], batched[i], which + " on " + device + ": sequence " + i);
                }
            } finally {
                sets.forEach(s -> s.values().forEach(Adapter::close));
            }
        }
    }

    /** Continuous batching by hand: prefill on joining, one decode step over the running rows per step. */
    private static int[][] decodeBatched(Device d, CausalLmSpec spec, DeviceWeights w, List<Map<String, NolaAdapter>> sets,
                                         int[][] prompts, int[] adapterOf, int[] joins, int steps) {
        int v = spec.vocabulary();
        int n = prompts.length;
        int[][] out = new int[n][steps];
        int[] made = new int[n];
        KvCache[] caches = new KvCache[n];
        float[] row = new float[v];
        Set<Integer> seenBatchSizes = new HashSet<>();
        try (CausalLm m = new CausalLm(d, spec, w, false, Map.of())) {
            for (int step = 0; step < steps + joins[n - 1]; step++) {
                List<Integer> running = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (joins[i] == step) {
                        caches[i] = m.newCache(1, prompts[i].length + steps);
                        RowAdapters ra = adapterOf[i] < 3 ? RowAdapters.single(prompts[i].length, sets.get(adapterOf[i])) : null;
                        m.forwardCached(prompts[i], 1, prompts[i].length, caches[i], ra);
                        d.read(m.logits(), 0, row, 0, v); // the prompt's last position: forwardCached's [1, V]
                        out[i][made[i]++] = Generator.pick(row, Generator.Settings.greedy(1), null);
                    } else if (joins[i] < step && made[i] < steps) {
                        running.add(i);
                    }
                }
                if (running.isEmpty()) {
                    continue;
                }
                seenBatchSizes.add(running.size());
                int[] ids = new int[running.size()];
                List<KvCache> cs = new ArrayList<>();
                List<RowAdapters.Segment> segs = new ArrayList<>();
                for (int r = 0; r < running.size(); r++) {
                    int i = running.get(r);
                    ids[r] = out[i][made[i] - 1];
                    cs.add(caches[i]);
                    if (adapterOf[i] < 3) {
                        segs.add(RowAdapters.single(1, sets.get(adapterOf[i])).segments().get(0).withRow0(r));
                    }
                }
                m.forwardDecode(ids, cs, new RowAdapters(segs));
                for (int r = 0; r < running.size(); r++) {
                    int i = running.get(r);
                    d.read(m.logits(), (long) r * v, row, 0, v);
                    out[i][made[i]++] = Generator.pick(row, Generator.Settings.greedy(1), null);
                    if (made[i] == steps) {
                        caches[i].close();
                    }
                }
            }
        }
        assertEquals(true, seenBatchSizes.size() > 2, "the batch grew and shrank: " + seenBatchSizes);
        return out;
    }
}
