package dev.nola.models.text;

/**
 * A batch of B windows for next-token prediction, row-major [B, T]: {@code targets[b·T + t]} is the
 * token that should follow {@code inputs[b·T + t]}, or {@link TokenWindows#IGNORE} where the position
 * does not count in the loss (prompts, padding).
 *
 * @param inputs    token ids [B, T], each in [0, V)
 * @param targets   next-token ids [B, T], each in [0, V) or {@link TokenWindows#IGNORE}
 * @param batchSize B
 * @param length    T
 */
public record TokenBatch(int[] inputs, int[] targets, int batchSize, int length) {

    public TokenBatch {
        if (batchSize < 1 || length < 1 || inputs.length != (long) batchSize * length || targets.length != inputs.length) {
            throw new IllegalArgumentException("batch of " + inputs.length + " inputs and " + targets.length
                    + " targets; expected B·T = " + batchSize + "·" + length + " each");
        }
    }

    /** The number of targets that count in the loss (not {@link TokenWindows#IGNORE}). */
    public int learnedTargets() {
        int n = 0;
        for (int t : targets) {
            if (t != TokenWindows.IGNORE) {
                n++;
            }
        }
        return n;
    }
}
