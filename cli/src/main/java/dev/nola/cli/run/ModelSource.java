package dev.nola.cli.run;

import dev.nola.io.Echo;
import dev.nola.kernels.Device;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.gpt2.Gpt2Checkpoint;
import dev.nola.models.image.ImageSet;
import dev.nola.models.train.TrainingListener;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What {@code --model} names: one of the project's small bases ({@code gpt2-fortunes},
 * {@code vit-fashion}; built and cached on first use) or a directory — a Hugging Face GPT-2
 * checkpoint ({@code config.json} + {@code model.safetensors}) or a ViT base as the project saves it
 * ({@code vit.safetensors} + {@code manifest.json}).
 *
 * @param kind which model family
 * @param dir  the directory holding the weights
 * @param name how the report names it
 */
public record ModelSource(Kind kind, Path dir, String name) {

    /** The model families the CLI fine-tunes. */
    public enum Kind {
        GPT2,
        VIT
    }

    /** The name of the project's GPT-2 base. */
    public static final String GPT2_FORTUNES = "gpt2-fortunes";
    /** The name of the project's ViT base. */
    public static final String VIT_FASHION = "vit-fashion";
    /** Where Debian's {@code fortunes} package puts its files. */
    public static final Path DEBIAN_FORTUNES = Path.of("/usr/share/games/fortunes");

    /** Whether {@code spec} names a small base rather than a directory. */
    public static boolean isBaseName(String spec) {
        return spec.equals(GPT2_FORTUNES) || spec.equals(VIT_FASHION);
    }

    /**
     * Resolves a model option; a base name builds the base when it is not cached (progress through
     * {@code listener}), on {@code device}.
     *
     * @param baseSteps pretraining steps of a base built now (0 for the default)
     */
    public static ModelSource resolve(String spec, Device device, long baseSteps, TrainingListener listener) {
        if (spec.equals(GPT2_FORTUNES)) {
            SmallBases.Built b = SmallBases.gpt2Fortunes(device, SmallBases.cacheDir(), DEBIAN_FORTUNES,
                    baseSteps > 0 ? baseSteps : SmallBases.GPT2_STEPS, listener);
            return new ModelSource(Kind.GPT2, b.dir(), spec);
        }
        if (spec.equals(VIT_FASHION)) {
            SmallBases.Built b = SmallBases.vitFashion(device, SmallBases.cacheDir(), ImageSet.DEBIAN_FASHION_MNIST,
                    baseSteps > 0 ? baseSteps : SmallBases.VIT_STEPS, listener);
            return new ModelSource(Kind.VIT, b.dir(), spec);
        }
        return directory(spec);
    }

    /** A model directory (no base names). */
    public static ModelSource directory(String spec) {
        Path dir = Path.of(spec);
        if (Files.isRegularFile(dir.resolve(Gpt2Checkpoint.CONFIG_FILE)) && Files.isRegularFile(dir.resolve(Gpt2Checkpoint.WEIGHTS_FILE))) {
            return new ModelSource(Kind.GPT2, dir, dir.getFileName() == null ? spec : dir.getFileName().toString());
        }
        if (Files.isRegularFile(dir.resolve(VIT_WEIGHTS)) && Files.isRegularFile(dir.resolve("manifest.json"))) {
            return new ModelSource(Kind.VIT, dir, dir.getFileName() == null ? spec : dir.getFileName().toString());
        }
        String what = Files.isDirectory(dir) ? "a directory without config.json + model.safetensors (GPT-2) or "
                + VIT_WEIGHTS + " + manifest.json (ViT)" : Files.exists(dir) ? "not a directory" : "missing";
        throw new IllegalArgumentException("--model " + Echo.quote(spec) + " is " + what + "; expected " + GPT2_FORTUNES
                + ", " + VIT_FASHION + " or a model directory");
    }

    /** The ViT base's weights file. */
    public static final String VIT_WEIGHTS = "vit.safetensors";
}
