package dev.nola.models.lm;

import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.InvalidFileException;
import dev.nola.io.UntrustedJson;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.gpt2.Gpt2Tokenizer;
import dev.nola.models.text.HfTokenizer;
import dev.nola.models.text.Tokenizer;
import java.nio.file.Path;
import java.util.Objects;

/** The tokenizer of a Hugging Face model directory, chosen by what the directory holds and its config. */
public final class Tokenizers {

    private Tokenizers() {
    }

    /**
     * {@code dir}'s tokenizer, the one place a model's tokenizer is chosen: the one a project base's
     * {@code manifest.json} names ({@value #GPT2_BPE}: GPT-2's built-in BPE, {@link Gpt2Tokenizer}); else
     * its {@value HfTokenizer#TOKENIZER_FILE} where there is one (anything at that name that is not a
     * regular file is refused as what it is); else, for a GPT-2 config, GPT-2's built-in BPE; else an
     * error (a LLaMA-family model never silently gets GPT-2's tokenizer).
     *
     * @throws InvalidFileException {@code dir} is not a directory, its tokenizer files are invalid, or a
     *                              non-GPT-2 model has no {@code tokenizer.json} (one line naming the directory)
     */
    /** The field of a base's {@code manifest.json} naming a tokenizer that ships with nola. */
    public static final String MANIFEST_KEY = "tokenizer";
    /** The name, in that field, of GPT-2's byte-level BPE ({@code r50k_base}, {@link Gpt2Tokenizer}). */
    public static final String GPT2_BPE = "gpt2-r50k";

    /** The files of a Hugging Face model directory that hold its tokenizer. */
    public static final java.util.List<String> TOKENIZER_FILES = java.util.List.of(HfTokenizer.TOKENIZER_FILE,
            HfTokenizer.CONFIG_FILE, "special_tokens_map.json");

    /**
     * What carries {@code dir}'s tokenizer to a checkpoint written from it (a merged model): its
     * tokenizer files, each a regular file inside {@code dir} (links out refused), read under the size
     * limits; and for a project base whose manifest names a tokenizer nola ships, a
     * {@code manifest.json} naming it. Name → bytes; empty when the tokenizer is GPT-2's built-in one.
     */
    public static java.util.Map<String, byte[]> filesFor(Path dir) {
        java.util.Map<String, byte[]> files = new java.util.LinkedHashMap<>();
        for (String name : TOKENIZER_FILES) {
            Path f = dir.resolve(name);
            if (InputFiles.kind(f) == InputFiles.Kind.MISSING) {
                continue;
            }
            HfCheckpoint.requireInside(dir, f);
            files.put(name, InputFiles.readAll(f, HfTokenizer.MAX_TOKENIZER_BYTES, 1));
        }
        if (named(dir) != null) {
            files.put("manifest.json", ("{\"" + MANIFEST_KEY + "\": \"" + GPT2_BPE + "\"}\n")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return files;
    }

    /**
     * The tokenizer a base's {@code manifest.json} names ({@value #MANIFEST_KEY}), or null when the
     * directory has no manifest or the manifest names none; a name nola does not ship is one line.
     */
    static Tokenizer named(Path dir) {
        Path manifest = dir.resolve("manifest.json");
        HfCheckpoint.requireInside(dir, manifest);
        if (InputFiles.kind(manifest) != InputFiles.Kind.REGULAR_FILE) {
            return null;
        }
        var root = UntrustedJson.parse(InputFiles.readAll(manifest, 1 << 20, UntrustedJson.HEAP_PER_BYTE), manifest.toString());
        var name = root.get(MANIFEST_KEY);
        if (name == null || name.isNull()) {
            return null;
        }
        if (name.isTextual() && name.textValue().equals(GPT2_BPE)) {
            return Gpt2Tokenizer.get();
        }
        throw new InvalidFileException(Echo.path(manifest) + ": field '" + MANIFEST_KEY + "' is " + Echo.value(name.toString())
                + "; expected \"" + GPT2_BPE + "\" (the tokenizers nola ships) or no such field");
    }

    public static Tokenizer forModel(Path dir, HfConfig config) {
        Objects.requireNonNull(config, "config");
        InputFiles.requireDirectory(dir, "a model directory");
        Tokenizer shipped = named(dir);
        if (shipped != null) {
            return fits(shipped, Echo.path(dir.resolve("manifest.json")) + ": field '" + MANIFEST_KEY + "' names " + GPT2_BPE
                    + ", which", dir, config);
        }
        Path file = dir.resolve(HfTokenizer.TOKENIZER_FILE);
        if (InputFiles.kind(file) != InputFiles.Kind.MISSING) {
            HfTokenizer t = HfTokenizer.load(dir);
            return fits(t, t.source() + ": the tokenizer", dir, config);
        }
        if (config instanceof Gpt2Config) {
            return fits(Gpt2Tokenizer.get(), Echo.path(dir) + " has no " + HfTokenizer.TOKENIZER_FILE + "; GPT-2's tokenizer",
                    dir, config);
        }
        throw new InvalidFileException(Echo.path(dir) + " has no " + HfTokenizer.TOKENIZER_FILE + "; expected the "
                + config.displayName() + " model's Hugging Face tokenizer (with " + HfTokenizer.CONFIG_FILE
                + ") there: only GPT-2 has a tokenizer built in");
    }

    /**
     * {@code t}, unless it has ids the model's embedding has no row for: a token id at or past the
     * config's {@code vocab_size} is one line naming where the tokenizer came from ({@code what}) and the field.
     */
    private static Tokenizer fits(Tokenizer t, String what, Path dir, HfConfig config) {
        int rows = config.spec().vocabulary();
        if (t.vocabularySize() > rows) {
            throw new InvalidFileException(what + " has " + t.vocabularySize() + " token ids (up to " + (t.vocabularySize() - 1) + "), but "
                    + Echo.path(dir.resolve(HfCheckpoint.CONFIG_FILE)) + " has vocab_size " + rows
                    + "; expected every token id below vocab_size (the model has no embedding row for the others)");
        }
        return t;
    }
}
