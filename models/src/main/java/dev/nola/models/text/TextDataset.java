package dev.nola.models.text;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.io.Echo;
import dev.nola.io.InvalidFileException;
import dev.nola.io.UntrustedJson;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Tokenized text for a language model, read from one of three file formats (UTF-8, checked strictly):
 *
 * <ul>
 *   <li>{@link #plainText}: the whole file is one document;</li>
 *   <li>{@link #jsonlText}: one JSON object per line, the document in a string field ({@code "text"});</li>
 *   <li>{@link #promptCompletion}: one JSON object per line with a prompt and a completion string; the
 *       prompt's tokens are inputs whose prediction is masked from the loss.</li>
 * </ul>
 *
 * Text is tokenized by the {@link Tokenizer} given (GPT-2's for the project's models). Every example
 * ends with the tokenizer's end-of-text id ({@code <|endoftext|>} for GPT-2). Blank lines of a JSONL
 * file are skipped. Prompt and completion are tokenized separately, so the mask falls exactly on the
 * boundary. Any problem is one line naming the file and the line. Turn a data set into training windows with
 * {@link #packedWindows} (documents, concatenated) or {@link #exampleWindows} (pairs, one each).
 */
public final class TextDataset {

    /** The largest text file read: 1 GiB. */
    public static final long MAX_FILE_BYTES = 1L << 30;

    private final String source;
    private final List<TextExample> examples;
    private final int endOfText;

    private TextDataset(String source, List<TextExample> examples, Tokenizer tokenizer) {
        this.source = source;
        this.examples = List.copyOf(examples);
        this.endOfText = tokenizer.endOfText();
    }

    /** The whole of {@code file} as one document, tokenized by {@code tokenizer}. */
    public static TextDataset plainText(Path file, Tokenizer tokenizer) {
        String text = Utf8Text.read(file, MAX_FILE_BYTES);
        return new TextDataset(file.toString(), List.of(new TextExample(withEnd(tokenizer.encode(text), tokenizer), 0, 1)),
                tokenizer);
    }

    /**
     * The {@code fortune} format: every regular file of a directory (or one file), each holding entries
     * separated by lines of a single {@code %}; one document per entry. Index files ({@code .dat}) and
     * links are skipped, files in name order.
     */
    public static TextDataset fortunes(Path fileOrDir, Tokenizer tokenizer) {
        List<Path> files = new ArrayList<>();
        if (java.nio.file.Files.isDirectory(fileOrDir)) {
            try (var list = java.nio.file.Files.list(fileOrDir)) {
                list.filter(f -> java.nio.file.Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                        .filter(f -> !f.getFileName().toString().endsWith(".dat"))
                        .sorted().forEach(files::add);
            } catch (java.io.IOException e) {
                throw new InvalidFileException(fileOrDir + ": cannot be listed: " + e.getMessage());
            }
        } else {
            files.add(fileOrDir);
        }
        List<TextExample> out = new ArrayList<>();
        for (Path f : files) {
            String text = Utf8Text.read(f, MAX_FILE_BYTES);
            int line = 1;
            StringBuilder entry = new StringBuilder();
            int entryLine = 1;
            for (String l : text.split("\n", -1)) {
                if (l.equals("%")) {
                    if (!entry.toString().isBlank()) {
                        out.add(new TextExample(withEnd(tokenizer.encode(entry.toString()), tokenizer), 0, entryLine));
                    }
                    entry.setLength(0);
                    entryLine = line + 1;
                } else {
                    entry.append(l).append('\n');
                }
                line++;
            }
            if (!entry.toString().isBlank()) {
                out.add(new TextExample(withEnd(tokenizer.encode(entry.toString()), tokenizer), 0, entryLine));
            }
        }
        if (out.isEmpty()) {
            throw new InvalidFileException(fileOrDir + ": no fortunes (entries separated by lines of '%')");
        }
        return new TextDataset(fileOrDir.toString(), out, tokenizer);
    }

    /** One document per JSONL line, from the string field {@code field} of each object. */
    public static TextDataset jsonlText(Path file, String field, Tokenizer tokenizer) {
        List<TextExample> out = new ArrayList<>();
        forEachObject(file, (obj, line) -> out.add(
                new TextExample(withEnd(tokenizer.encode(string(obj, field, file, line)), tokenizer), 0, line)));
        return new TextDataset(file.toString(), out, tokenizer);
    }

    /** {@link #jsonlText(Path, String, Tokenizer)} with the field {@code "text"}. */
    public static TextDataset jsonlText(Path file, Tokenizer tokenizer) {
        return jsonlText(file, "text", tokenizer);
    }

    /**
     * One example per JSONL line: tokens of {@code promptField}, then of {@code completionField} (which
     * must not be empty), then the end-of-text id; only the completion and the end are learned.
     */
    public static TextDataset promptCompletion(Path file, String promptField, String completionField,
            Tokenizer tokenizer) {
        List<TextExample> out = new ArrayList<>();
        forEachObject(file, (obj, line) -> {
            int[] prompt = withStart(tokenizer.encode(string(obj, promptField, file, line)), tokenizer);
            String c = string(obj, completionField, file, line);
            if (c.isEmpty()) {
                throw new InvalidFileException(file + ":" + line + ": field '" + completionField
                        + "' is empty; expected a completion to learn");
            }
            int[] completion = tokenizer.encode(c);
            int[] all = Arrays.copyOf(prompt, prompt.length + completion.length + 1);
            System.arraycopy(completion, 0, all, prompt.length, completion.length);
            all[all.length - 1] = tokenizer.endOfText();
            out.add(new TextExample(all, prompt.length, line));
        });
        return new TextDataset(file.toString(), out, tokenizer);
    }

    /** {@link #promptCompletion(Path, String, String, Tokenizer)} with the fields {@code "prompt"} and {@code "completion"}. */
    public static TextDataset promptCompletion(Path file, Tokenizer tokenizer) {
        return promptCompletion(file, "prompt", "completion", tokenizer);
    }

    private interface ObjectHandler {
        void accept(JsonNode object, int line);
    }

    private static void forEachObject(Path file, ObjectHandler handler) {
        String text = Utf8Text.read(file, MAX_FILE_BYTES);
        int line = 0;
        int records = 0;
        int start = 0;
        while (start <= text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            line++;
            String l = text.substring(start, end);
            start = end + 1;
            if (l.isBlank()) {
                continue;
            }
            JsonNode n = UntrustedJson.parse(l.getBytes(StandardCharsets.UTF_8), file + ":" + line);
            if (!n.isObject()) {
                throw new InvalidFileException(file + ":" + line + ": the line holds a JSON "
                        + n.getNodeType().name().toLowerCase() + "; expected an object");
            }
            handler.accept(n, line);
            records++;
        }
        if (records == 0) {
            throw new InvalidFileException(file + ": no JSON lines; expected one JSON object per line");
        }
    }

    private static String string(JsonNode obj, String field, Path file, int line) {
        JsonNode v = obj.get(field);
        if (v == null || !v.isTextual()) {
            throw new InvalidFileException(file + ":" + line + ": field '" + field + "' is "
                    + (v == null ? "missing" : Echo.value(v.toString())) + "; expected a string");
        }
        return v.textValue();
    }

    /** A document as the model reads one: bos first where the tokenizer adds it, the end-of-text id last. */
    private static int[] withEnd(int[] tokens, Tokenizer tokenizer) {
        int[] start = withStart(tokens, tokenizer);
        int[] t = Arrays.copyOf(start, start.length + 1);
        t[start.length] = tokenizer.endOfText();
        return t;
    }

    /** bos first where the tokenizer adds it (LLaMA-family tokenizers; never GPT-2's). */
    private static int[] withStart(int[] tokens, Tokenizer tokenizer) {
        if (!tokenizer.addsBeginningOfText() || tokenizer.beginningOfText().isEmpty()) {
            return tokens;
        }
        int[] t = new int[tokens.length + 1];
        t[0] = tokenizer.beginningOfText().getAsInt();
        System.arraycopy(tokens, 0, t, 1, tokens.length);
        return t;
    }

    /** The file it was read from. */
    public String source() {
        return source;
    }

    /** The examples, in file order. */
    public List<TextExample> examples() {
        return examples;
    }

    /** The number of tokens over all examples. */
    public long tokenCount() {
        long n = 0;
        for (TextExample e : examples) {
            n += e.tokens().length;
        }
        return n;
    }

    /**
     * All examples concatenated into one stream, cut into windows of T + 1 tokens that overlap by one:
     * window w covers stream tokens [w·T, w·T + T]. The last window is padded with end-of-text
     * inputs and {@link TokenWindows#IGNORE} targets. For documents (plain text, JSONL text).
     */
    public TokenWindows packedWindows(int length) {
        checkLength(length);
        long total = tokenCount();
        long windows = Math.max(1, (total - 1 + length - 1) / length);
        TokenWindows.checkSize(windows, length, source);
        int[] stream = new int[(int) total];
        boolean[] learned = new boolean[(int) total];
        int at = 0;
        for (TextExample e : examples) {
            System.arraycopy(e.tokens(), 0, stream, at, e.tokens().length);
            Arrays.fill(learned, at + e.promptLength(), at + e.tokens().length, true);
            at += e.tokens().length;
        }
        int[] inputs = new int[(int) windows * length];
        int[] targets = new int[(int) windows * length];
        for (int w = 0; w < windows; w++) {
            for (int j = 0; j < length; j++) {
                long k = (long) w * length + j;
                int i = w * length + j;
                inputs[i] = k < total ? stream[(int) k] : endOfText;
                targets[i] = k + 1 < total && learned[(int) k + 1] ? stream[(int) k + 1] : TokenWindows.IGNORE;
            }
        }
        return new TokenWindows(inputs, targets, length);
    }

    /**
     * One window per example: its tokens, padded after the end with end-of-text inputs and
     * {@link TokenWindows#IGNORE} targets; prompt positions are IGNORE targets too. An example longer
     * than T + 1 tokens is an error naming its line. For prompt/completion pairs.
     */
    public TokenWindows exampleWindows(int length) {
        checkLength(length);
        TokenWindows.checkSize(examples.size(), length, source);
        int[] inputs = new int[examples.size() * length];
        int[] targets = new int[examples.size() * length];
        Arrays.fill(inputs, endOfText);
        Arrays.fill(targets, TokenWindows.IGNORE);
        for (int w = 0; w < examples.size(); w++) {
            TextExample e = examples.get(w);
            int[] t = e.tokens();
            if (t.length > length + 1) {
                throw new InvalidFileException(source + ":" + e.line() + ": the example is " + t.length
                        + " tokens; a window holds T + 1 = " + ((long) length + 1) + " (raise T or shorten the example)");
            }
            for (int j = 0; j < t.length - 1; j++) {
                inputs[w * length + j] = t[j];
                if (j + 1 >= e.promptLength()) {
                    targets[w * length + j] = t[j + 1];
                }
            }
        }
        return new TokenWindows(inputs, targets, length);
    }

    private static void checkLength(int length) {
        if (length < 1) {
            throw new IllegalArgumentException("window length T = " + length + "; expected ≥ 1");
        }
    }
}
