package dev.nola.models.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Generator#pick} at top-p = 1 draws what {@code nola generate} drew before it used the
 * Generator (issue 20), so the command's output for a seed did not change: the old sampling is kept
 * here, as it was, and both run on the same logits and the same random stream.
 */
class GeneratorPickTest {

    /** nola generate's sampling before issue 20: greedy at temperature 0, else top-k of softmax(logits / T). */
    static int oldPick(float[] logits, int v, double temperature, int topK, SplittableRandom rnd) {
        int best = 0;
        for (int i = 1; i < v; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        if (temperature == 0) {
            return best;
        }
        int k = topK == 0 || topK > v ? v : topK;
        int[] cand;
        if (k < v) {
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
            w[i] = Math.exp((logits[cand[i]] - logits[best]) / temperature);
            sum += w[i];
        }
        double u = rnd.nextDouble() * sum;
        for (int i = 0; i < cand.length; i++) {
            u -= w[i];
            if (u <= 0) {
                return cand[i];
            }
        }
        return cand[cand.length - 1];
    }

    @Test
    void topPOneDrawsWhatTheOldCommandDrew() {
        SplittableRandom data = new SplittableRandom(3);
        int draws = 0;
        for (double temperature : new double[] {0, 0.3, 0.8, 1.5}) {
            for (int topK : new int[] {0, 1, 5, 40, 500}) {
                int v = 300;
                Generator.Settings s = new Generator.Settings(1, temperature, topK, 1.0, 1, -1);
                SplittableRandom oldRnd = new SplittableRandom(11);
                SplittableRandom newRnd = new SplittableRandom(11);
                for (int step = 0; step < 50; step++) {
                    float[] logits = new float[v];
                    for (int i = 0; i < v; i++) {
                        // ties on purpose: the first maximum and the sort order must match too
                        logits[i] = (float) Math.round(data.nextGaussian() * 8) / 4f;
                    }
                    assertEquals(oldPick(logits, v, temperature, topK, oldRnd), Generator.pick(logits, s, newRnd),
                            "T " + temperature + ", top-k " + topK + ", step " + step);
                    draws++;
                }
            }
        }
        assertEquals(1000, draws);
    }

    @Test
    void aSmallerTokenizerVocabularyLimitsTheCandidatesAsTheOldCommandDid() {
        float[] logits = new float[50];
        logits[45] = 9; // beyond a 40-token tokenizer: never picked
        logits[7] = 3;
        Generator.Settings greedy = Generator.Settings.greedy(1);
        assertEquals(oldPick(logits, 40, 0, 0, new SplittableRandom(1)),
                Generator.pick(Arrays.copyOf(logits, 40), greedy, new SplittableRandom(1)));
        assertEquals(7, Generator.pick(Arrays.copyOf(logits, 40), greedy, new SplittableRandom(1)));
    }
}
