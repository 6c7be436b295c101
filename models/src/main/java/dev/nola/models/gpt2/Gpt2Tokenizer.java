package dev.nola.models.gpt2;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import dev.nola.models.text.Tokenizer;

/**
 * GPT-2's byte-level BPE ({@code r50k_base}), through JTokkit: 50,257 token ids, of which 50,256 is
 * {@code <|endoftext|>}, the only special token. Encoding treats all text as ordinary text, so a
 * literal {@code "<|endoftext|>"} inside a data file becomes ordinary tokens and never the special
 * id; callers insert {@link #END_OF_TEXT} themselves where documents end. Thread-safe; the merge
 * table (about 0.8 MB) is loaded once, on first use. The first {@link Tokenizer}: no beginning-of-text
 * id (GPT-2 starts a sequence with no marker).
 */
public final class Gpt2Tokenizer implements Tokenizer {

    /** The number of token ids, V. */
    public static final int VOCABULARY_SIZE = 50257;
    /** The id of {@code <|endoftext|>}: separates documents and pads windows. */
    public static final int END_OF_TEXT = 50256;

    private static final class Holder {
        static final Encoding ENCODING = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    }

    private static final Gpt2Tokenizer INSTANCE = new Gpt2Tokenizer();

    private Gpt2Tokenizer() {
    }

    /** The tokenizer (stateless, shared). */
    public static Gpt2Tokenizer get() {
        return INSTANCE;
    }

    /** The token ids of {@code text}, each in [0, 50256); special-token text is encoded as ordinary text. */
    @Override
    public int[] encode(String text) {
        return Holder.ENCODING.encodeOrdinary(text).toArray();
    }

    /** The text of {@code ids}; bytes that do not form valid UTF-8 become U+FFFD. */
    @Override
    public String decode(int[] ids) {
        return Holder.ENCODING.decode(list(ids));
    }

    /** {@value #VOCABULARY_SIZE}. */
    @Override
    public int vocabularySize() {
        return VOCABULARY_SIZE;
    }

    /** {@value #END_OF_TEXT}, {@code <|endoftext|>}. */
    @Override
    public int endOfText() {
        return END_OF_TEXT;
    }

    /** The raw bytes of {@code ids} (a token may hold part of a multi-byte character). */
    public byte[] decodeBytes(int[] ids) {
        return Holder.ENCODING.decodeBytes(list(ids));
    }

    private static IntArrayList list(int[] ids) {
        IntArrayList l = new IntArrayList(ids.length);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= VOCABULARY_SIZE) {
                throw new IllegalArgumentException("ids[" + i + "] = " + ids[i] + "; expected a token id in [0, "
                        + VOCABULARY_SIZE + ")");
            }
            l.add(ids[i]);
        }
        return l;
    }
}
