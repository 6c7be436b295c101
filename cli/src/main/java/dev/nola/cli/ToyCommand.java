package dev.nola.cli;

import dev.nola.cli.demo.PlantedLowRankTask;
import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola toy}: trains NOLA, LoRA r = 1 and LoRA r = 4 adapters on a frozen random layer
 * whose targets carry a planted low-rank change (see {@link PlantedLowRankTask}) and prints the
 * final losses, in seconds on a laptop CPU.
 */
@Command(name = "toy", mixinStandardHelpOptions = true, description = {
        "Train NOLA, LoRA r=1 and LoRA r=4 adapters on a toy task and compare their final losses.",
        "First task: a frozen 64x64 layer whose targets carry a planted rank-4 change that NOLA's basis can express;"
                + " NOLA (96 numbers) against LoRA r=1 (128) and LoRA r=4 (512).",
        "Second task: a generic rank-4 change, which 96 numbers cannot express (NOLA's premise is that real"
                + " updates have few degrees of freedom)."})
final class ToyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Option(names = "--steps", description = "Training steps (> 0). Default: ${DEFAULT-VALUE}.", defaultValue = "400")
    int steps;

    @Option(names = "--nola-span-only", description = "Skip the second task (a generic rank-4 change NOLA cannot express).")
    boolean nolaSpanOnly;

    @Override
    public Integer call() {
        if (steps <= 0) {
            throw new IllegalArgumentException("--steps must be > 0, got " + steps);
        }
        PlantedLowRankTask.Settings d = PlantedLowRankTask.defaults();
        PlantedLowRankTask.Settings s = new PlantedLowRankTask.Settings(d.in(), d.out(), d.tokens(), d.nolaRank(),
                d.k(), d.l(), d.deltaRms(), d.noise(), steps, d.nolaLr(), d.loraLr(), d.seed(), d.change());
        PrintWriter out = spec.commandLine().getOut();
        try (Device dev = Backends.open(RuntimeSettings.resolve(main.device()))) {
            out.println("device: " + dev.id() + " (" + dev.info().name() + ")");
            long t0 = System.nanoTime();
            PlantedLowRankTask.Result r = PlantedLowRankTask.run(dev, s);
            out.print(r.summary());
            double gap = (r.nola().finalLoss() - r.loraR4().finalLoss()) / r.loraR4().finalLoss();
            out.printf("=> NOLA with %d numbers ends %.1f%% %s LoRA r=4 (%d numbers); LoRA r=1 (%d numbers) ends %.1fx higher%n",
                    r.nola().parameters(), Math.abs(gap) * 100, gap >= 0 ? "above" : "below", r.loraR4().parameters(),
                    r.loraR1().parameters(), r.loraR1().finalLoss() / r.loraR4().finalLoss());
            if (!nolaSpanOnly) {
                PlantedLowRankTask.Result g = PlantedLowRankTask.run(dev,
                        PlantedLowRankTask.withChange(s, PlantedLowRankTask.Change.GENERIC));
                out.print(g.summary());
                out.printf("=> a generic rank-4 change has %d degrees of freedom; NOLA's %d numbers cannot express it"
                                + " (final loss %.1fx LoRA r=4's)%n", (d.in() + d.out()) * d.nolaRank(),
                        g.nola().parameters(), g.nola().finalLoss() / g.loraR4().finalLoss());
            }
            out.printf("(%.1f s)%n", (System.nanoTime() - t0) / 1e9);
        }
        out.flush();
        return 0;
    }
}
