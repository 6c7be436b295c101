package dev.nola.cli;

import dev.nola.io.Echo;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
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
        subcommands = {QuickstartCommand.class, ToyCommand.class, DevicesCommand.class, BasisCommand.class, MixCommand.class,
                ParamsCommand.class, InspectCommand.class, ExportLoraCommand.class, ScoreCommand.class,
                FinetuneCommand.class, EvalCommand.class, GenerateCommand.class, MergeCommand.class,
                PretrainCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    /** The device string, accepted before or after the subcommand: {@code nola --device cpu basis …}. */
    @Option(names = "--device", scope = ScopeType.INHERIT, paramLabel = "DEVICE",
            description = "Device: reference, cpu, opencl[:P:D], tornado[:B:D] or auto. Default: $NOLA_DEVICE, else the config file, else auto.")
    String device;

    /** The command line as given, for messages that repeat it (how to resume). */
    String[] args;

    /** Where {@code finetune --spark} computes its micro-batches (the nola-spark module), or null without it. */
    dev.nola.cli.run.Distribution distribution;

    /** Exit status for bad input. */
    public static final int BAD_INPUT = 2;

    /** The device option's value, or null when not given; an empty value is refused, not taken as "not given". */
    String device() {
        if (device != null && device.isBlank()) {
            throw new IllegalArgumentException("--device is " + Echo.quote(device)
                    + "; expected reference, cpu, opencl[:P:D], tornado[:B:D] or auto");
        }
        return device;
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs the command line and returns the exit status; output goes to {@code out}, errors to
     * {@code err}. Every error is one line: values are escaped ({@link Echo#line}) so a hostile file
     * name cannot add lines, and no Java exception class is named except for an internal error.
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(args, out, err, null);
    }

    /**
     * As {@link #run(String[], PrintWriter, PrintWriter)}, with {@code finetune}'s micro-batches computed by
     * {@code distribution} (the nola-spark module's entry point passes its Spark run here).
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err, dev.nola.cli.run.Distribution distribution) {
        // charts are drawn off-screen; no display is needed or wanted
        System.setProperty("java.awt.headless", "true");
        Main main = new Main();
        main.args = args.clone();
        main.distribution = distribution;
        CommandLine cl = commandLine(main);
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("nola: " + Echo.line(ex.getMessage()) + " (see 'nola " + commandPath(ex.getCommandLine()) + "--help')");
            return BAD_INPUT;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof IllegalArgumentException || ex instanceof IllegalStateException) {
                err.println("nola: " + Echo.line(ex.getMessage()));
                return BAD_INPUT;
            }
            if (ex instanceof dev.nola.models.train.Trainer.TrainingStopped) {
                err.println("nola: " + Echo.line(ex.getMessage()));
                return 1;
            }
            if (ex instanceof UncheckedIOException) {
                err.println("nola: " + Echo.line(ex.getMessage()));
                return 1;
            }
            err.println("nola: internal error, please report it: " + Echo.line(String.valueOf(ex)));
            return 1;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // file-driven allocations are sized first (SizeBudget); this is the work itself outgrowing -Xmx
            err.println("nola: out of memory (" + Echo.bytes(Runtime.getRuntime().maxMemory())
                    + " of Java heap); give java a larger -Xmx, e.g. NOLA_JAVA_OPTS=-Xmx8g bin/nola ...");
            return 1;
        }
    }

    /** The command line of {@code main}, with the converters every command's options need. */
    static CommandLine commandLine(Main main) {
        CommandLine cl = new CommandLine(main);
        cl.registerConverter(Path.class, Main::path);
        return cl;
    }

    /** Path arguments: an empty one is called empty (an empty path would silently mean "."). */
    private static Path path(String s) {
        if (s.isEmpty()) {
            throw new CommandLine.TypeConversionException("the value is empty; expected a path");
        }
        try {
            return Path.of(s);
        } catch (InvalidPathException e) {
            throw new CommandLine.TypeConversionException(Echo.quote(s) + " is not a valid path: " + Echo.line(e.getReason()));
        }
    }

    private static String commandPath(CommandLine c) {
        StringBuilder sb = new StringBuilder();
        for (CommandLine p = c; p != null && p.getParent() != null; p = p.getParent()) {
            sb.insert(0, p.getCommandName() + " ");
        }
        return sb.toString();
    }
}
