package dev.nola.models.text;

/**
 * One tokenized example of a text data set.
 *
 * @param tokens       token ids, ending with the tokenizer's end-of-text id ({@code <|endoftext|>}, 50256, for GPT-2)
 * @param promptLength how many leading tokens are prompt: their prediction is masked from the loss
 *                     (0 for plain documents); the model still reads them as inputs
 * @param line         the 1-based line of the source file it came from (1 for a plain text file)
 */
public record TextExample(int[] tokens, int promptLength, int line) {

    public TextExample {
        if (tokens.length == 0 || promptLength < 0 || promptLength >= tokens.length) {
            throw new IllegalArgumentException("example of " + tokens.length + " tokens with a prompt of " + promptLength
                    + "; expected at least one token and a prompt shorter than the example");
        }
    }
}
