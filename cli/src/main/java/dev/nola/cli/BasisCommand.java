package dev.nola.cli;

import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code nola basis}: prints elements 0..N-1 of one basis matrix, one {@link Float#toString} value
 * per line, so users and other languages can check their generator against this one.
 */
@Command(name = "basis", mixinStandardHelpOptions = true, description = {
        "Print elements 0..count-1 of basis matrix --index of a seeded stream, one value per line (Float.toString).",
        "Element e is lane e%%4 of Philox4x32-10 at counter (e/4, index, stream, domain), key = seed (low word first),",
        "mapped to ((w>>>8) - 2^23) * 2^-23 and multiplied by --scale."})
final class BasisCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--seed", required = true, description = "Seed, an unsigned 64-bit decimal.")
    String seed;

    @Option(names = "--stream", required = true, description = "Stream id, an unsigned 32-bit decimal.")
    String stream;

    @Option(names = "--domain", defaultValue = "0", description = "Domain (0 = basis, 1 = frozen offset), an unsigned 32-bit decimal. Default: ${DEFAULT-VALUE}.")
    String domain;

    @Option(names = "--index", defaultValue = "0", description = "Basis matrix index (0 .. 2^31-1). Default: ${DEFAULT-VALUE}.")
    int index;

    @Option(names = "--count", required = true, description = "Number of elements to print (> 0).")
    int count;

    @Option(names = "--scale", defaultValue = "1", description = "Scale applied to every element (finite). Default: ${DEFAULT-VALUE}.")
    float scale;

    @picocli.CommandLine.ParentCommand
    Main main;

    @Override
    public Integer call() {
        long s = parseUnsigned("--seed", seed, 64);
        int t = (int) parseUnsigned("--stream", stream, 32);
        int d = (int) parseUnsigned("--domain", domain, 32);
        if (index < 0) {
            throw new IllegalArgumentException("--index must be >= 0, got " + index);
        }
        if (count <= 0) {
            throw new IllegalArgumentException("--count must be > 0, got " + count);
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("--scale must be finite, got " + scale);
        }
        RuntimeSettings settings = RuntimeSettings.resolve(main.device());
        float[] values;
        try (Device dev = Backends.open(settings); Tensor out = dev.allocate(count)) {
            dev.random().basis(new BasisStream(s, t, d, scale), index, 1, out);
            values = dev.read(out);
        }
        printValues(spec.commandLine().getOut(), values);
        return 0;
    }

    /** One {@link Float#toString} value per line: the form other implementations compare against. */
    static void printValues(PrintWriter out, float[] values) {
        StringBuilder sb = new StringBuilder(values.length * 12);
        for (float v : values) {
            sb.append(Float.toString(v)).append('\n');
        }
        out.print(sb);
        out.flush();
    }

    /** Parses an unsigned decimal of {@code bits} bits (32 or 64). */
    static long parseUnsigned(String name, String text, int bits) {
        try {
            if (text.startsWith("+") || text.startsWith("-")) {
                throw new NumberFormatException();
            }
            return bits == 64 ? Long.parseUnsignedLong(text) : Integer.toUnsignedLong(Integer.parseUnsignedInt(text));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an unsigned " + bits + "-bit decimal (0 .. "
                    + (bits == 64 ? "18446744073709551615" : "4294967295") + "), got '" + text + "'");
        }
    }
}
