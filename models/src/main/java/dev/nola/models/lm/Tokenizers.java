package dev.nola.models.lm;

import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.InvalidFileException;
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
     * that name that is not a regular file is refused as what it is); else, for a GPT-2 config, GPT-2's
     * built-in BPE ({@link Gpt2Tokenizer}, JTokkit r50k); else an error.
     *
     * @throws InvalidFileException {@code dir} is not a directory, its tokenizer files are invalid, or a
     *                              non-GPT-2 model has no {@code tokenizer.json} (one line naming the directory)
     */
    public static Tokenizer forModel(Path dir, HfConfig config) {
        Objects.requireNonNull(config, "config");
        InputFiles.requireDirectory(dir, "a model directory");
        Path file = dir.resolve(HfTokenizer.TOKENIZER_FILE);
        if (InputFiles.kind(file) != InputFiles.Kind.MISSING) {
            return HfTokenizer.load(dir);
        }
        if (config instanceof Gpt2Config) {
            return Gpt2Tokenizer.get();
        }
        throw new InvalidFileException(Echo.path(dir) + " has no " + HfTokenizer.TOKENIZER_FILE + "; expected the "
                + config.displayName() + " model's Hugging Face tokenizer (with " + HfTokenizer.CONFIG_FILE
                + ") there: only GPT-2 has a tokenizer built in");
    }
}
