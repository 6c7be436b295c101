package dev.nola.models.lm;

import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.models.transformer.KvCache;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Text continuation with a {@link CausalLm}: greedy (temperature 0) or sampled from softmax(logits / T)
 * over the top k tokens and the top-p nucleus, seeded, so a run is reproducible. With the KV cache the
 * prompt runs once and every new token is one position; without it the whole context (its last
 * n_positions tokens) runs again for every token, which is the reference the cache is tested against.
 * When the context outgrows the model's positions the cached run continues without the cache (its
 * positions would have to shift).
 */
public final class Generator {

    /**
     * What to generate.
     *
     * @param maxNew      new tokens at most, ≥ 1
     * @param temperature 0 for greedy, else &gt; 0 and finite
     * @param topK        sample among the k likeliest (0: all)
     * @param topP        the nucleus: the likeliest tokens whose probabilities add up to p, in (0, 1] (1: all)
     * @param seed        the sampling seed
     * @param stop        the token that ends generation (eos), or −1 for none
     */
    public record Settings(int maxNew, double temperature, int topK, double topP, long seed, int stop) {
        public Settings {
            if (maxNew < 1) {
                throw new IllegalArgumentException("new tokens is " + maxNew + "; expected ≥ 1");
            }
            if (!(temperature >= 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature is " + temperature + "; expected a finite number ≥ 0");
            }
            if (topK < 0) {
                throw new IllegalArgumentException("top-k is " + topK + "; expected ≥ 0 (0 for all)");
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("top-p is " + topP + "; expected a number in (0, 1]");
            }
        }

        /** Greedy decoding of n tokens, no stop token. */
        public static Settings greedy(int n) {
            return new Settings(n, 0, 0, 1, 1, -1);
        }
    }

    private Generator() {
    }

    /**
     * The new tokens after {@code prompt} (at most maxNew; fewer when the stop token comes, which is
     * included). The prompt must not be empty; its ids must be in the vocabulary.
     */
    public static int[] generate(CausalLm m, int[] prompt, Settings s, boolean useCache) {
        return generate(m, prompt, s, useCache, m.spec().vocabulary());
    }

    /**
     * As {@link #generate(CausalLm, int[], Settings, boolean)}, picking only among the ids below
     * {@code candidates} (≥ 1; at most the vocabulary counts): a tokenizer that knows fewer tokens than
     * the embedding has rows never gets an id it cannot decode.
     */
    public static int[] generate(CausalLm m, int[] prompt, Settings s, boolean useCache, int candidates) {
        Checks.notNull("prompt", prompt);
        if (candidates < 1) {
            throw new IllegalArgumentException("candidates is " + candidates + "; expected ≥ 1");
        }
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty; expected at least one token");
        }
        int v = m.spec().vocabulary();
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= v) {
                throw new IllegalArgumentException("prompt token " + i + " is " + prompt[i] + "; expected an id in [0, " + v + ")");
            }
        }
        Device d = m.device();
        int p = m.spec().positions();
        SplittableRandom rnd = new SplittableRandom(s.seed());
        int[] all = Arrays.copyOf(prompt, prompt.length + s.maxNew());
        int n = prompt.length;
        float[] logits = new float[v];
        KvCache cache = useCache && n < p ? m.newCache(1, Math.min(p, n + s.maxNew())) : null;
        try {
            for (int step = 0; step < s.maxNew(); step++) {
                if (cache != null && cache.length() + (step == 0 ? n : 1) > cache.capacity()) {
                    cache.close();
                    cache = null;
                }
                if (cache != null) {
                    int[] in = step == 0 ? Arrays.copyOf(all, n) : new int[] {all[n - 1]};
                    m.forwardCached(in, 1, in.length, cache);
                    d.read(m.logits(), 0, logits, 0, v);
                } else {
                    int t = Math.min(n, p);
                    m.forwardLast(Arrays.copyOfRange(all, n - t, n), 1, t);
                    d.read(m.logits(), 0, logits, 0, v);
                }
                int next = pick(candidates < v ? Arrays.copyOf(logits, candidates) : logits, s, rnd);
                all[n++] = next;
                if (next == s.stop()) {
                    break;
                }
            }
        } finally {
            if (cache != null) {
                cache.close();
            }
        }
        return Arrays.copyOfRange(all, prompt.length, n);
    }

    /**
     * One token from a row of logits under the settings (greedy: the first maximum), drawing from
     * {@code rnd} as {@link #generate} does, so a caller that decodes step by step (a server's batch)
     * picks the tokens generate would for the same seed.
     */
    public static int pick(float[] logits, Settings s, SplittableRandom rnd) {
        int v = logits.length;
        int best = 0;
        for (int i = 1; i < v; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        if (s.temperature() == 0) {
            return best;
        }
        int k = s.topK() == 0 || s.topK() > v ? v : s.topK();
        int[] cand;
        if (k < v || s.topP() < 1) {
            Integer[] order = new Integer[v];
            for (int i = 0; i < v; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
            cand = new int[k];
            for (int i = 0; i < k; i++) {
                cand[i] = order[i];
            }
        } else {
            cand = new int[v];
            Arrays.setAll(cand, i -> i);
        }
        double[] w = new double[cand.length];
        double sum = 0;
        for (int i = 0; i < cand.length; i++) {
            w[i] = Math.exp((logits[cand[i]] - logits[best]) / s.temperature());
            sum += w[i];
        }
        int keep = cand.length;
        if (s.topP() < 1) {
            // the smallest prefix of the sorted candidates whose mass reaches p
            double mass = 0;
            for (int i = 0; i < cand.length; i++) {
                mass += w[i];
                if (mass >= s.topP() * sum) {
                    keep = i + 1;
                    break;
                }
            }
            sum = mass;
        }
        double u = rnd.nextDouble() * sum;
        for (int i = 0; i < keep; i++) {
            u -= w[i];
            if (u <= 0) {
                return cand[i];
            }
        }
        return cand[keep - 1];
    }
}
