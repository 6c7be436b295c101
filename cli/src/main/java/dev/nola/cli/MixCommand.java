package dev.nola.cli;

import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola mix}: prints a mixed factor Σ cᵢ·basisᵢ (basis matrices 0..k-1 of a stream), one
 * {@link Float#toString} value per line: the number an adapter regenerates from its seed and
 * coefficients, for checking across devices and languages.
 */
@Command(name = "mix", mixinStandardHelpOptions = true, description = {
        "Print a mixed factor sum_i c_i * basis_i regenerated from a seed, one value per line.",
        "Elements 0..count-1 of sum_i c_i * basis_i (basis matrices 0..k-1 of the stream),",
        "accumulated in ascending i with one fused multiply-add per term, one value per line (Float.toString)."})
final class MixCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--seed", required = true, description = "Seed, an unsigned 64-bit decimal.")
    String seed;

    @Option(names = "--stream", required = true, description = "Stream id, an unsigned 32-bit decimal.")
    String stream;

    @Option(names = "--count", required = true, description = "Elements of the factor (rows*cols, > 0).")
    int count;

    @Option(names = "--scale", defaultValue = "1", description = "Basis scale (finite). Default: ${DEFAULT-VALUE}.")
    float scale;

    @Option(names = "--coefficients", required = true, split = ",", description = "The coefficients c_0,c_1,... (finite).")
    float[] coefficients;

    @Override
    public Integer call() {
        long s = BasisCommand.parseUnsigned("--seed", seed, 64);
        int t = (int) BasisCommand.parseUnsigned("--stream", stream, 32);
        if (count <= 0) {
            throw new IllegalArgumentException("--count must be > 0, got " + count);
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("--scale must be finite, got " + scale);
        }
        for (int i = 0; i < coefficients.length; i++) {
            if (!Float.isFinite(coefficients[i])) {
                throw new IllegalArgumentException("--coefficients[" + i + "] must be finite, got " + coefficients[i]);
            }
        }
        float[] values;
        try (Device dev = Backends.open(RuntimeSettings.resolve(main.device()));
             Tensor c = dev.upload(coefficients, coefficients.length); Tensor out = dev.allocate(count)) {
            dev.nola().mixGenerated(c, new BasisStream(s, t, BasisStream.DOMAIN_BASIS, scale), null, out);
            values = dev.read(out);
        }
        BasisCommand.printValues(spec.commandLine().getOut(), values);
        return 0;
    }
}
