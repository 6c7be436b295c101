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
     * {@code dir}'s tokenizer: its {@value HfTokenizer#TOKENIZER_FILE} where there is one (anything at
     * that name that is not a regular file is refused as what it is); else, for a GPT-2 config or one of
     * the project's bases whose manifest names {@value #GPT2_BPE}, GPT-2's built-in BPE
     * ({@link Gpt2Tokenizer}, JTokkit r50k); else an error.
     *
     * @throws InvalidFileException {@code dir} is not a directory, its tokenizer files are invalid, or a
     *                              non-GPT-2 model has no {@code tokenizer.json} (one line naming the directory)
     */
    /** The value of {@code "tokenizer"} in a base's {@code manifest.json} that names GPT-2's BPE. */
    public static final String GPT2_BPE = "gpt2-r50k";

    /**
     * Whether the directory is one of the project's own bases that uses GPT-2's BPE (JTokkit r50k, which
     * ships with nola) without a {@code tokenizer.json}: its {@code manifest.json} says
     * {@code "tokenizer": "gpt2-r50k"}.
     */
    static boolean usesGpt2Bpe(Path dir) {
        Path manifest = dir.resolve("manifest.json");
        if (InputFiles.kind(manifest) != InputFiles.Kind.REGULAR_FILE) {
            return false;
        }
        var root = UntrustedJson.parse(InputFiles.readAll(manifest, 1 << 20, UntrustedJson.HEAP_PER_BYTE), manifest.toString());
        return GPT2_BPE.equals(root.path("tokenizer").asText(null));
    }

    public static Tokenizer forModel(Path dir, HfConfig config) {
        Objects.requireNonNull(config, "config");
        InputFiles.requireDirectory(dir, "a model directory");
        Path file = dir.resolve(HfTokenizer.TOKENIZER_FILE);
        if (InputFiles.kind(file) != InputFiles.Kind.MISSING) {
            return HfTokenizer.load(dir);
        }
        if (config instanceof Gpt2Config || usesGpt2Bpe(dir)) {
            return Gpt2Tokenizer.get();
        }
        throw new InvalidFileException(Echo.path(dir) + " has no " + HfTokenizer.TOKENIZER_FILE + "; expected the "
                + config.displayName() + " model's Hugging Face tokenizer (with " + HfTokenizer.CONFIG_FILE
                + ") there: only GPT-2 has a tokenizer built in");
    }
}
