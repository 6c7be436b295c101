package dev.nola.cli;

import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SavedNola;
import dev.nola.io.Echo;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code nola inspect DIR}: what a NOLA adapter directory holds, after every check that loading makes. */
@Command(name = "inspect", mixinStandardHelpOptions = true, description = "Check a NOLA adapter directory and print its settings and layers.")
final class InspectCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "The adapter directory (adapter_config.json + adapter_model.safetensors).")
    Path dir;

    @Override
    public Integer call() {
        SavedNola saved = NolaAdapterFiles.load(dir);
        NolaConfig c = saved.config();
        PrintWriter out = spec.commandLine().getOut();
        out.printf("%s: NOLA adapter, %d layers, %d trainable numbers%n", Echo.path(dir), saved.layers().size(),
                (long) saved.layers().size() * (c.basisA() + c.basisB()));
        out.printf("  rank %d, k %d, l %d, alpha %s (scale %s), init %s, basis %s, %s bases, seed %s, coefficient bits %d%n",
                c.rank(), c.basisA(), c.basisB(), c.alpha(), c.scale(), c.init(), c.basisMode(),
                c.sharedBases() ? "shared" : "per-layer", Long.toUnsignedString(c.seed()), c.coefficientBits());
        out.printf("  device memory to regenerate it: %s%n", Echo.bytes(saved.devicePlan(Echo.path(dir)).totalBytes()));
        for (SavedNola.Layer l : saved.layers()) {
            out.printf("  %-24s [%d -> %d]  streams A %s, B %s%n", l.name(), l.in(), l.out(),
                    Integer.toUnsignedString(l.idA().packed()), Integer.toUnsignedString(l.idB().packed()));
        }
        out.flush();
        return 0;
    }
}
