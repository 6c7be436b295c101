package dev.nola.cli;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.io.Echo;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.OutputPaths;
import dev.nola.adapter.io.PeftLoraExport;
import dev.nola.adapter.io.SavedNola;
import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola export-lora DIR OUT}: regenerates a NOLA adapter's factors on a device and writes them
 * as a standard PEFT LoRA adapter that other LoRA tooling loads.
 */
@Command(name = "export-lora", mixinStandardHelpOptions = true, description = "Write a NOLA adapter's mixed A and B as a standard PEFT LoRA adapter directory.")
final class ExportLoraCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Parameters(index = "0", paramLabel = "DIR", description = "The NOLA adapter directory.")
    Path dir;

    @Parameters(index = "1", paramLabel = "OUT", description = "The PEFT LoRA directory to write: a new path, or one that a "
            + "previous export wrote (then replaced atomically). Never DIR, inside DIR or around it.")
    Path target;

    @Option(names = "--base-model", description = "base_model_name_or_path recorded in the PEFT config. Default: none.")
    String baseModel;

    @Override
    public Integer call() {
        String device = main.device(); // refuses an empty --device before any work
        if (baseModel != null && baseModel.isBlank()) {
            throw new IllegalArgumentException("--base-model is " + Echo.quote(baseModel) + "; give a model name or leave the option out");
        }
        OutputPaths.requireApart("OUT", target, dir);
        OutputPaths.requireReplaceable(target, PeftLoraExport.OUTPUT); // checked before the work, and again when writing
        SavedNola saved = NolaAdapterFiles.load(dir);
        try (Device dev = Backends.open(RuntimeSettings.resolve(device))) {
            Map<String, NolaAdapter> adapters = saved.instantiate(dev, Echo.path(dir));
            try {
                PeftLoraExport.write(target, adapters, saved.config().targetModules(), baseModel);
            } finally {
                adapters.values().forEach(NolaAdapter::close);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("wrote %s: PEFT LoRA, r=%d, %d layers%n", Echo.path(target), saved.config().rank(), saved.layers().size());
        out.flush();
        return 0;
    }
}
