package dev.nola.cli;

import dev.nola.cli.run.ModelSource;
import dev.nola.cli.run.Progress;
import dev.nola.config.RuntimeSettings;
import dev.nola.io.Echo;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.bases.SmallBases;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola pretrain BASE}: builds one of the project's small bases ({@code gpt2-fortunes} and
 * {@code llama-fortunes} from Debian's fortunes, {@code vit-fashion} from Fashion-MNIST classes 0–4) into the cache
 * ({@code $NOLA_CACHE}, default {@code ~/.cache/nola}), or says where the cached one is.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Build (or find in the cache) one of the project's small bases: gpt2-fortunes, llama-fortunes or vit-fashion.")
final class PretrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Parameters(index = "0", paramLabel = "BASE", description = "gpt2-fortunes, llama-fortunes or vit-fashion.")
    String base;

    @Option(names = "--steps", defaultValue = "0", paramLabel = "N",
            description = "Pretraining steps (0: the recipe's, 400 for gpt2-fortunes and llama-fortunes, 1500 for vit-fashion); other counts are cached apart.")
    long steps;

    @Mixin
    RunOptions.Output output;

    @Override
    public Integer call() {
        if (!ModelSource.isBaseName(base)) {
            throw new IllegalArgumentException("BASE " + Echo.quote(base) + " is not a base; expected gpt2-fortunes, llama-fortunes or vit-fashion");
        }
        if (steps < 0) {
            throw new IllegalArgumentException("--steps is " + steps + "; expected > 0, or 0 for the recipe's");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Device d = Backends.open(RuntimeSettings.resolve(main.device()))) {
            Progress p = new Progress(output.mode(), spec.commandLine().getErr(), "pretrain " + base,
                    base.equals(ModelSource.VIT_FASHION) ? "images" : "tokens");
            ModelSource src = ModelSource.resolve(base, d, steps, p);
            p.close();
            var manifest = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(java.nio.file.Files.readAllBytes(src.dir().resolve("manifest.json")));
            if (output.json) {
                manifest.put("dir", src.dir().toString());
                out.println(manifest.toString());
            } else {
                out.println(base + ": " + src.dir());
                out.printf("  %d steps, held-out loss %.4f%s, built in %.0f s%n", manifest.path("steps").asLong(),
                        manifest.path("held_out_loss").asDouble(), manifest.has("held_out_accuracy")
                                ? String.format(", accuracy %.2f%%", 100 * manifest.path("held_out_accuracy").asDouble()) : "",
                        manifest.path("seconds").asDouble());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read the base's manifest: " + e.getMessage(), e);
        }
        out.flush();
        return 0;
    }

    static String cache() {
        return SmallBases.cacheDir().toString();
    }
}
