package dev.nola.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code nola} command. Exit status: 0 on success, 1 when the work itself failed, 2 for bad
 * input (a usage error, or an argument a library call rejected), which is reported as one line.
 */
@Command(name = "nola", mixinStandardHelpOptions = true, version = "nola 0.1.0",
        description = "NOLA adapters: LoRA factors as mixtures of seeded random bases, on any accelerator.",
        subcommands = {QuickstartCommand.class, DevicesCommand.class, BasisCommand.class, MixCommand.class,
                ParamsCommand.class, InspectCommand.class, ExportLoraCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    /** The device string, accepted before or after the subcommand: {@code nola --device cpu basis …}. */
    @Option(names = "--device", scope = ScopeType.INHERIT, paramLabel = "DEVICE",
            description = "Device: reference, cpu, opencl[:P:D], tornado[:B:D] or auto. Default: $NOLA_DEVICE, else the config file, else auto.")
    String device;

    /** Exit status for bad input. */
    public static final int BAD_INPUT = 2;

    /** The device option's value, or null when not given. */
    String device() {
        return device;
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line and returns the exit status; output goes to {@code out}, errors to {@code err}. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("nola: " + ex.getMessage() + " (see 'nola " + commandPath(ex.getCommandLine()) + "--help')");
            return BAD_INPUT;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof IllegalArgumentException || ex instanceof IllegalStateException) {
                err.println("nola: " + ex.getMessage());
                return BAD_INPUT;
            }
            err.println("nola: " + ex);
            return 1;
        });
        return cl.execute(args);
    }

    private static String commandPath(CommandLine c) {
        StringBuilder sb = new StringBuilder();
        for (CommandLine p = c; p != null && p.getParent() != null; p = p.getParent()) {
            sb.insert(0, p.getCommandName() + " ");
        }
        return sb.toString();
    }
}
