package dev.nola.models.text;

import java.util.OptionalInt;

/**
 * Text to token ids and back, for a language model's data and generation. Ids lie in
 * [0, {@link #vocabularySize()}). The special tokens are never produced by {@link #encode} from text
 * (a literal {@code "<|endoftext|>"} in a data file is ordinary text); callers insert them where
 * documents begin and end. Implementations are stateless and thread-safe.
 */
public interface Tokenizer {

    /**
     * The token ids of {@code text}, special-token text encoded as ordinary text. Deterministic: the
     * same text always gives the same ids.
     */
    int[] encode(String text);

    /**
     * The text of {@code ids}; bytes that do not form valid UTF-8 become U+FFFD.
     *
     * @throws IllegalArgumentException an id outside [0, {@link #vocabularySize()}), naming its index
     */
    String decode(int[] ids);

    /** The number of token ids, V: every id is in [0, V). */
    int vocabularySize();

    /**
     * The end-of-text (end-of-sequence) id: ends every example, separates packed documents and pads
     * windows.
     */
    int endOfText();

    /** The beginning-of-text id, where the tokenizer has one (GPT-2's has none). */
    default OptionalInt beginningOfText() {
        return OptionalInt.empty();
    }

    /**
     * Whether the model expects {@link #beginningOfText()} before every sequence (Llama 2/3 do, GPT-2 and
     * Qwen2 do not); data sets then start each document, and each prompt, with it.
     */
    default boolean addsBeginningOfText() {
        return false;
    }
}
