package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.models.Messages;
import dev.nola.models.text.Tokenizer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class Gpt2TokenizerTest {

    private final Gpt2Tokenizer tok = Gpt2Tokenizer.get();

    @Test
    void encodesAsGpt2Does() {
        // GPT-2's ids for these words, as tiktoken's r50k_base and the HF gpt2 tokenizer give them
        assertArrayEquals(new int[] {15496, 995}, tok.encode("Hello world"));
        assertArrayEquals(new int[] {}, tok.encode(""));
    }

    @Test
    void decodesWhatItEncodes() {
        String s = "Naïve café — 日本語 text\n\twith  spaces, émojis 🙂 and numbers 12345.";
        int[] ids = tok.encode(s);
        assertTrue(Arrays.stream(ids).allMatch(i -> i >= 0 && i < Gpt2Tokenizer.END_OF_TEXT));
        assertEquals(s, tok.decode(ids));
    }

    @Test
    void endOfTextIsSpecialOnlyWhenInserted() {
        assertEquals(50257, Gpt2Tokenizer.VOCABULARY_SIZE);
        Tokenizer asTokenizer = tok;
        assertEquals(50257, asTokenizer.vocabularySize());
        assertEquals(50256, asTokenizer.endOfText());
        assertTrue(asTokenizer.beginningOfText().isEmpty(), "GPT-2 has no beginning-of-text token");
        assertEquals("<|endoftext|>", tok.decode(new int[] {Gpt2Tokenizer.END_OF_TEXT}));
        int[] literal = tok.encode("a<|endoftext|>b");
        assertTrue(Arrays.stream(literal).noneMatch(i -> i == Gpt2Tokenizer.END_OF_TEXT), Arrays.toString(literal));
    }

    @Test
    void refusesIdsOutsideTheVocabulary() {
        String m = Messages.of(() -> tok.decode(new int[] {1, 50257}));
        assertEquals("ids[1] = 50257; expected a token id in [0, 50257)", m);
        Messages.of(() -> tok.decodeBytes(new int[] {-1}));
    }
}
