package dev.nola.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nola.cli.Main;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.image.ImageSet;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;

/** The tests' bases (the project's small ones, 3 pretraining steps), data and runs: in one process, or on Spark. */
final class Runs {

    static final Path FORTUNES = Path.of("/usr/share/games/fortunes");

    private Runs() {
    }

    /** A command's status and output. */
    record Result(int status, String out, String err) {
    }

    /** The fortunes GPT-2 at 3 pretraining steps (built once into the cache), copied to {@code dir}. */
    static Path gpt2(Path dir) {
        assumeTrue(Files.isDirectory(FORTUNES), "fortunes are missing; install them with: apt-get install fortunes");
        try (Device d = Backends.open("cpu")) {
            return copy(SmallBases.gpt2Fortunes(d, SmallBases.cacheDir(), FORTUNES, 3, null).dir(), dir);
        }
    }

    /** The Fashion-MNIST ViT at 3 pretraining steps, copied to {@code dir}. */
    static Path vit(Path dir) {
        assumeTrue(Files.isDirectory(ImageSet.DEBIAN_FASHION_MNIST),
                "Fashion-MNIST is missing; install it with: apt-get install dataset-fashion-mnist");
        try (Device d = Backends.open("cpu")) {
            return copy(SmallBases.vitFashion(d, SmallBases.cacheDir(), ImageSet.DEBIAN_FASHION_MNIST, 3, null).dir(), dir);
        }
    }

    /** One fortunes file (15 kB), as the training text. */
    static Path fortunesText() {
        return FORTUNES.resolve("debian");
    }

    /**
     * A finetune of {@code model} on the text (or, for a ViT, 8 images of each class) on the CPU: --k 8 --l 8, the
     * given steps and batch, then {@code extra}.
     */
    static List<String> finetune(Path model, Path out, boolean vit, int steps, int batch, String... extra) {
        List<String> a = new ArrayList<>(List.of("finetune", "--model", model.toString(), "--k", "8", "--l", "8",
                "--steps", String.valueOf(steps), "--batch", String.valueOf(batch), "--device", "cpu", "--out", out.toString(),
                "--checkpoint-every", "2"));
        if (vit) {
            a.addAll(List.of("--data", ImageSet.DEBIAN_FASHION_MNIST.toString(), "--shots", "8", "--held-out", "16"));
        } else {
            a.addAll(List.of("--data", fortunesText().toString(), "--format", "fortunes", "--held-out", "4"));
        }
        a.addAll(List.of(extra));
        return a;
    }

    /** The CLI in this process. */
    static Result local(List<String> args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int s = Main.run(args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(s, out.toString(), err.toString());
    }

    /** nola-spark with this process as the driver. */
    static Result spark(List<String> args, SparkConf conf, LongConsumer beforeStep) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int s = SparkFinetune.run(args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true), conf,
                beforeStep);
        return new Result(s, out.toString(), err.toString());
    }

    /** The adapter's coefficients file of a finished run. */
    static byte[] adapter(Path out) {
        try {
            return Files.readAllBytes(out.resolve("adapter/adapter_model.safetensors"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void ok(Result r) {
        assertEquals(0, r.status(), r.err());
    }

    private static Path copy(Path from, Path to) {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path q = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(q);
                } else {
                    Files.copy(p, q);
                }
            }
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
