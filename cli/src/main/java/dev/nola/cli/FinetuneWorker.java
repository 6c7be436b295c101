package dev.nola.cli;

import dev.nola.cli.run.Workload;
import dev.nola.kernels.Device;
import java.util.List;
import picocli.CommandLine;

/**
 * The worker's side of a distributed {@code nola finetune}: the workload a worker opens from the command line the
 * driver sends ({@link dev.nola.cli.run.Distribution.Job#workerArgs}), parsed by the same options as the command,
 * so that a worker's model, adapters, data and batches are the driver's.
 */
public final class FinetuneWorker {

    private FinetuneWorker() {
    }

    /**
     * Opens the workload of a {@code finetune} command line on {@code d}.
     *
     * @param args the command line, {@code finetune} and its options, the model a directory
     * @throws IllegalArgumentException the command line is not a finetune one, or its model or data cannot be read
     */
    public static Workload open(List<String> args, Device d) {
        CommandLine cl = Main.commandLine(new Main());
        CommandLine.ParseResult pr;
        try {
            pr = cl.parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException("the worker's finetune command line is refused: " + e.getMessage());
        }
        if (!pr.hasSubcommand() || !(pr.subcommand().commandSpec().userObject() instanceof FinetuneCommand f)) {
            throw new IllegalArgumentException("the worker's command line " + args + " is not a finetune one");
        }
        return f.openForWorker(d);
    }
}
