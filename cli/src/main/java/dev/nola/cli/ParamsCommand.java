package dev.nola.cli;

import dev.nola.adapter.quant.CoefficientQuantizer;
import dev.nola.cli.report.ParameterReport;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nola params}: trainable parameters and bytes on disk for GPT-2 M and L with adapters on q and v. */
@Command(name = "params", mixinStandardHelpOptions = true, description = "Trainable parameters and adapter file sizes for GPT-2 medium/large, NOLA vs LoRA on q,v.")
final class ParamsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "-k", description = "NOLA basis count k = l (> 0). Default: ${DEFAULT-VALUE}.", defaultValue = "1000")
    int k;

    @Option(names = "-r", description = "NOLA rank (> 0). Default: ${DEFAULT-VALUE}.", defaultValue = "8")
    int rank;

    @Option(names = "--bits", description = "Coefficient bits for the quantized size (2..8). Default: ${DEFAULT-VALUE}.", defaultValue = "4")
    int bits;

    @Override
    public Integer call() {
        if (k <= 0) {
            throw new IllegalArgumentException("-k must be > 0, got " + k);
        }
        if (rank <= 0) {
            throw new IllegalArgumentException("-r must be > 0, got " + rank);
        }
        CoefficientQuantizer.levels(bits);
        PrintWriter out = spec.commandLine().getOut();
        out.print(ParameterReport.format(ParameterReport.gpt2(k, rank, bits)));
        out.flush();
        return 0;
    }
}
