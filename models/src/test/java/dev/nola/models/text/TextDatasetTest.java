package dev.nola.models.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.models.Messages;
import dev.nola.models.gpt2.Gpt2Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextDatasetTest {

    private static final int EOT = Gpt2Tokenizer.END_OF_TEXT;
    private static final Tokenizer GPT2 = Gpt2Tokenizer.get();
    private static final int IGNORE = TokenWindows.IGNORE;

    @TempDir
    Path tmp;

    private Path file(String name, String content) throws IOException {
        return Files.writeString(tmp.resolve(name), content);
    }

    private Path file(String name, byte[] content) throws IOException {
        return Files.write(tmp.resolve(name), content);
    }

    @Test
    void plainTextIsOneDocumentEndingWithEndOfText() throws IOException {
        TextDataset d = TextDataset.plainText(file("a.txt", "Hello world"), GPT2);
        assertEquals(1, d.examples().size());
        assertArrayEquals(new int[] {15496, 995, EOT}, d.examples().get(0).tokens());
        TokenWindows w = d.packedWindows(2);
        assertEquals(1, w.size());
        assertArrayEquals(new int[] {15496, 995}, w.inputs(0));
        assertArrayEquals(new int[] {995, EOT}, w.targets(0));
    }

    @Test
    void packedWindowsOverlapByOneTokenAndPadTheLast() throws IOException {
        String text = "The quick brown fox jumps over the lazy dog. ".repeat(20);
        TextDataset d = TextDataset.plainText(file("fox.txt", "\uFEFF" + text), GPT2);
        int[] stream = d.examples().get(0).tokens();
        assertEquals(Gpt2Tokenizer.get().encode(text).length + 1, stream.length, "the byte-order mark is dropped");
        int t = 16;
        TokenWindows w = d.packedWindows(t);
        assertEquals((stream.length - 1 + t - 1) / t, w.size());
        for (int k = 0; k < w.size(); k++) {
            int[] in = w.inputs(k);
            int[] tg = w.targets(k);
            for (int j = 0; j < t; j++) {
                int s = k * t + j;
                assertEquals(s < stream.length ? stream[s] : EOT, in[j]);
                assertEquals(s + 1 < stream.length ? stream[s + 1] : IGNORE, tg[j]);
            }
        }
    }

    @Test
    void jsonlDocumentsSkipBlankLinesAndKeepLineNumbers() throws IOException {
        Path f = file("d.jsonl", "{\"text\": \"one\"}\n{\"text\": \"two\", \"id\": 2}\n\n{\"text\": \"three\"}\r\n");
        TextDataset d = TextDataset.jsonlText(f, GPT2);
        assertEquals(List.of(1, 2, 4), d.examples().stream().map(TextExample::line).toList());
        for (TextExample e : d.examples()) {
            assertEquals(EOT, e.tokens()[e.tokens().length - 1]);
            assertEquals(0, e.promptLength());
        }
        String decoded = Gpt2Tokenizer.get().decode(d.packedWindows(64).inputs(0));
        assertTrue(decoded.startsWith("one<|endoftext|>two<|endoftext|>three<|endoftext|>"), decoded);
    }

    @Test
    void promptTokensAreMaskedFromTheLoss() throws IOException {
        Path f = file("p.jsonl", "{\"prompt\": \"Q: two plus two?\", \"completion\": \" A: four\"}\n"
                + "{\"prompt\": \"Name:\", \"completion\": \" Ada\"}\n");
        TextDataset d = TextDataset.promptCompletion(f, GPT2);
        TextExample e = d.examples().get(0);
        int[] prompt = Gpt2Tokenizer.get().encode("Q: two plus two?");
        int[] completion = Gpt2Tokenizer.get().encode(" A: four");
        assertEquals(prompt.length, e.promptLength());
        assertEquals(prompt.length + completion.length + 1, e.tokens().length);

        int t = 16;
        TokenWindows w = d.exampleWindows(t);
        assertEquals(2, w.size());
        int[] in = w.inputs(0);
        int[] tg = w.targets(0);
        for (int j = 0; j < t; j++) {
            int next = j + 1;
            if (next < prompt.length) {
                assertEquals(IGNORE, tg[j], "prompt position " + j);
            } else if (next < e.tokens().length) {
                assertEquals(e.tokens()[next], tg[j], "completion position " + j);
            } else {
                assertEquals(IGNORE, tg[j], "padding " + j);
            }
            assertEquals(j < e.tokens().length - 1 ? e.tokens()[j] : EOT, in[j]);
        }
        TokenBatch b = w.inOrder(2).get(0);
        assertEquals(completion.length + 1 + Gpt2Tokenizer.get().encode(" Ada").length + 1, b.learnedTargets());
        // packed, the masks travel with the tokens: the same number of targets are learned
        assertEquals(b.learnedTargets(), d.packedWindows(t).inOrder(8).get(0).learnedTargets());
    }

    @Test
    void emptyAndBlankFilesAreRefused() throws IOException {
        String m = Messages.of(() -> TextDataset.plainText(file("e.txt", ""), GPT2));
        assertTrue(m.endsWith("e.txt: the file is empty; expected UTF-8 text"), m);
        m = Messages.of(() -> TextDataset.jsonlText(file("b.jsonl", "\n  \n"), GPT2));
        assertTrue(m.contains("b.jsonl: the file holds only whitespace"), m);
    }

    @Test
    void invalidUtf8NamesTheLine() throws IOException {
        byte[] bytes = "first\nsecond\nbad \u00e9 here".getBytes(StandardCharsets.UTF_8);
        bytes[bytes.length - 6] = (byte) 0x28; // the é's continuation byte replaced: 0xC3 0x28
        Path f = file("bad.txt", bytes);
        String m = Messages.of(() -> TextDataset.plainText(f, GPT2));
        assertTrue(m.startsWith(f + ":3: invalid UTF-8 at byte offset 17 (0xC3)"), m);

        Path cut = file("cut.jsonl", new byte[] {'{', '}', '\n', (byte) 0xE6, (byte) 0x97});
        m = Messages.of(() -> TextDataset.jsonlText(cut, GPT2));
        assertTrue(m.startsWith(cut + ":2: invalid UTF-8"), m);
    }

    @Test
    void badJsonLinesNameFileAndLine() throws IOException {
        Path f = file("x.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"no text field\"}\n");
        assertEquals(f + ":2: field 'text' is missing; expected a string", Messages.of(() -> TextDataset.jsonlText(f, GPT2)));
        Path g = file("y.jsonl", "{\"text\": 42}\n");
        assertEquals(g + ":1: field 'text' is 42; expected a string", Messages.of(() -> TextDataset.jsonlText(g, GPT2)));
        Path h = file("z.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"unterminated}\n");
        assertTrue(Messages.of(() -> TextDataset.jsonlText(h, GPT2)).startsWith(h + ":3: invalid JSON"));
        Path i = file("w.jsonl", "[\"text\"]\n");
        assertEquals(i + ":1: the line holds a JSON array; expected an object", Messages.of(() -> TextDataset.jsonlText(i, GPT2)));
        Path j = file("v.jsonl", "{\"prompt\": \"a\"}\n");
        assertEquals(j + ":1: field 'completion' is missing; expected a string",
                Messages.of(() -> TextDataset.promptCompletion(j, GPT2)));
        Path k = file("u.jsonl", "{\"prompt\": \"a\", \"completion\": \"\"}\n");
        assertTrue(Messages.of(() -> TextDataset.promptCompletion(k, GPT2)).contains(":1: field 'completion' is empty"));
    }

    @Test
    void anExampleLongerThanAWindowNamesItsLine() throws IOException {
        Path f = file("long.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n"
                + "{\"prompt\": \"a long prompt\", \"completion\": \" with a long completion\"}\n");
        String m = Messages.of(() -> TextDataset.promptCompletion(f, GPT2).exampleWindows(4));
        assertTrue(m.startsWith(f + ":2: the example is 8 tokens; a window holds T + 1 = 5"), m);
    }

    @Test
    void aMissingFileIsNamed() {
        Path f = tmp.resolve("absent.txt");
        String m = Messages.of(() -> TextDataset.plainText(f, GPT2));
        assertTrue(m.contains("absent.txt") && m.contains("does not exist"), m);
    }

    /** A tokenizer of one id per character (code points below 128), end-of-text 0: not GPT-2's. */
    private static final Tokenizer ASCII = new Tokenizer() {
        @Override
        public int[] encode(String text) {
            return text.chars().toArray();
        }

        @Override
        public String decode(int[] ids) {
            return new String(ids, 0, ids.length);
        }

        @Override
        public int vocabularySize() {
            return 128;
        }

        @Override
        public int endOfText() {
            return 0;
        }
    };

    @Test
    void anyTokenizerCanBeGivenAndItsEndOfTextEndsAndPads() throws IOException {
        TextDataset d = TextDataset.plainText(file("abc.txt", "abc"), ASCII);
        assertArrayEquals(new int[] {'a', 'b', 'c', 0}, d.examples().getFirst().tokens());
        TokenWindows w = d.packedWindows(5);
        assertArrayEquals(new int[] {'a', 'b', 'c', 0, 0}, w.inputs(0), "padded with the tokenizer's end of text");
        Path f = file("pc.jsonl", "{\"prompt\": \"q\", \"completion\": \"a\"}\n");
        TokenWindows e = TextDataset.promptCompletion(f, ASCII).exampleWindows(4);
        assertArrayEquals(new int[] {'q', 'a', 0, 0}, e.inputs(0));
    }

    /** ASCII with bos = 1 added before every sequence, as a Llama tokenizer does. */
    private static final Tokenizer ASCII_BOS = new Tokenizer() {
        @Override
        public int[] encode(String text) {
            return ASCII.encode(text);
        }

        @Override
        public String decode(int[] ids) {
            return ASCII.decode(ids);
        }

        @Override
        public int vocabularySize() {
            return 128;
        }

        @Override
        public int endOfText() {
            return 0;
        }

        @Override
        public java.util.OptionalInt beginningOfText() {
            return java.util.OptionalInt.of(1);
        }

        @Override
        public boolean addsBeginningOfText() {
            return true;
        }
    };

    @Test
    void aTokenizerThatAddsBosStartsEveryDocumentAndPromptWithIt() throws IOException {
        TextDataset d = TextDataset.plainText(file("abc2.txt", "abc"), ASCII_BOS);
        assertArrayEquals(new int[] {1, 'a', 'b', 'c', 0}, d.examples().getFirst().tokens());
        Path f = file("pc2.jsonl", "{\"prompt\": \"q\", \"completion\": \"a\"}\n");
        TokenWindows e = TextDataset.promptCompletion(f, ASCII_BOS).exampleWindows(4);
        assertArrayEquals(new int[] {1, 'q', 'a', 0}, e.inputs(0));
        assertArrayEquals(new int[] {TokenWindows.IGNORE, 'a', 0, TokenWindows.IGNORE}, e.targets(0),
                "bos and the prompt are masked; the completion and its end are learned");
    }
}
