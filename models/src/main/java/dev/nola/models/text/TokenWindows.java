package dev.nola.models.text;

import dev.nola.models.data.SeededShuffle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * N windows of T positions for next-token prediction, held flat and row-major [N, T]: inputs and
 * their next-token targets (a window of T + 1 tokens gives T inputs and T targets). A target of
 * {@link #IGNORE} marks a position left out of the loss: a prompt's tokens, padding. Immutable; the
 * held-out split and the batch orders are deterministic functions of a seed.
 */
public final class TokenWindows {

    /** The target of a position that does not count in the loss: −1, never a token id. */
    public static final int IGNORE = -1;
    /** Stream of {@link SeededShuffle} for the held-out split. */
    private static final long SPLIT_STREAM = -1;

    private final int[] inputs;
    private final int[] targets;
    private final int length;

    TokenWindows(int[] inputs, int[] targets, int length) {
        this.inputs = inputs;
        this.targets = targets;
        this.length = length;
    }

    /**
     * Windows over token ids already made (for example by a synthetic task): inputs and targets
     * [N·T] row-major, targets in the vocabulary or {@link #IGNORE}.
     *
     * @throws IllegalArgumentException when the lengths do not match or are not a multiple of T
     */
    public static TokenWindows of(int[] inputs, int[] targets, int length) {
        if (length < 1) {
            throw new IllegalArgumentException("window length T = " + length + "; expected ≥ 1");
        }
        if (inputs.length != targets.length || inputs.length == 0 || inputs.length % length != 0) {
            throw new IllegalArgumentException("inputs has " + inputs.length + " ids and targets " + targets.length
                    + "; expected the same positive multiple of T = " + length);
        }
        return new TokenWindows(inputs.clone(), targets.clone(), length);
    }

    static void checkSize(long windows, int length, String source) {
        if (windows * length > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(source + ": " + windows + " windows of T = " + length + " hold "
                    + windows * length + " positions; expected at most " + (Integer.MAX_VALUE - 8) + " (one array)");
        }
    }

    /** N, the number of windows. */
    public int size() {
        return inputs.length / length;
    }

    /** T, positions per window. */
    public int length() {
        return length;
    }

    /** A copy of window {@code w}'s inputs [T]. */
    public int[] inputs(int w) {
        checkWindow(w);
        return Arrays.copyOfRange(inputs, w * length, (w + 1) * length);
    }

    /** A copy of window {@code w}'s targets [T]. */
    public int[] targets(int w) {
        checkWindow(w);
        return Arrays.copyOfRange(targets, w * length, (w + 1) * length);
    }

    private void checkWindow(int w) {
        if (w < 0 || w >= size()) {
            throw new IllegalArgumentException("window " + w + " does not exist; expected 0.." + (size() - 1));
        }
    }

    /** The windows at these indices, in this order (a window may repeat). */
    public TokenWindows select(int[] windows) {
        int[] in = new int[windows.length * length];
        int[] tg = new int[windows.length * length];
        for (int i = 0; i < windows.length; i++) {
            checkWindow(windows[i]);
            System.arraycopy(inputs, windows[i] * length, in, i * length, length);
            System.arraycopy(targets, windows[i] * length, tg, i * length, length);
        }
        return new TokenWindows(in, tg, length);
    }

    /** A training part and a held-out part of the windows, each in the original order. */
    public record Split(TokenWindows train, TokenWindows heldOut) {
    }

    /**
     * Holds out round(fraction·N) windows (at least one when fraction &gt; 0), chosen by a seeded
     * permutation; the same seed and N always hold out the same windows. Both parts keep file order.
     *
     * @param fraction in [0, 1); at least one window must remain for training
     */
    public Split split(double fraction, long seed) {
        if (!(fraction >= 0 && fraction < 1)) {
            throw new IllegalArgumentException("held-out fraction = " + fraction + "; expected a number in [0, 1)");
        }
        int n = size();
        int held = (int) Math.round(fraction * n);
        if (fraction > 0 && held == 0) {
            held = 1;
        }
        if (held >= n) {
            throw new IllegalArgumentException("held-out fraction " + fraction + " of " + n + " windows leaves none to "
                    + "train on; expected more windows (a shorter T or more text) or a smaller fraction");
        }
        int[] p = SeededShuffle.permutation(n, seed, SPLIT_STREAM);
        int[] out = Arrays.copyOf(p, held);
        int[] in = Arrays.copyOfRange(p, held, n);
        Arrays.sort(out);
        Arrays.sort(in);
        return new Split(select(in), select(out));
    }

    /**
     * One training epoch: the windows in a seeded order (a new order for each epoch), in batches of
     * {@code batchSize}; the last, incomplete batch is dropped, so every batch is [B, T].
     */
    public List<TokenBatch> epoch(int batchSize, long seed, int epoch) {
        checkBatchSize(batchSize);
        if (size() < batchSize) {
            throw new IllegalArgumentException("batch size B = " + batchSize + " is more than the " + size()
                    + " windows; expected B ≤ " + size());
        }
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch = " + epoch + "; expected ≥ 0");
        }
        int[] order = SeededShuffle.permutation(size(), seed, epoch);
        List<TokenBatch> batches = new ArrayList<>();
        for (int b = 0; b + batchSize <= order.length; b += batchSize) {
            batches.add(batch(Arrays.copyOfRange(order, b, b + batchSize)));
        }
        return batches;
    }

    /** Every window once, in order, in batches of {@code batchSize}; the last batch may be smaller. For evaluation. */
    public List<TokenBatch> inOrder(int batchSize) {
        checkBatchSize(batchSize);
        List<TokenBatch> batches = new ArrayList<>();
        for (int b = 0; b < size(); b += batchSize) {
            int n = Math.min(batchSize, size() - b);
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = b + i;
            }
            batches.add(batch(idx));
        }
        return batches;
    }

    /** The batch of these windows, [windows.length, T]. */
    public TokenBatch batch(int[] windows) {
        TokenWindows s = select(windows);
        return new TokenBatch(s.inputs, s.targets, windows.length, length);
    }

    private static void checkBatchSize(int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size B = " + batchSize + "; expected ≥ 1");
        }
    }
}
