package dev.nola.cli;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.PeftLoraExport;
import dev.nola.adapter.io.SavedNola;
import dev.nola.config.RuntimeSettings;
import dev.nola.io.Echo;
import dev.nola.io.OutputPaths;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.gpt2.Gpt2PeftExport;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.lm.HfConfig;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.CausalLmSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code nola export-lora DIR OUT}: regenerates a NOLA adapter's factors on a device and writes them
 * as a standard PEFT LoRA adapter that other LoRA tooling loads.
 *
 * <p>Without {@code --model}, every adapter becomes one LoRA module under its saved name
 * ({@code base_model.model.<name>}, {@code target_modules} the config's modules). With
 * {@code --model GPT2DIR} the adapter is a GPT-2's ({@code h.{i}.attn.q} / {@code .v}, [C, C] with C
 * and n_layer from GPT2DIR's config.json) and is written for Hugging Face's {@code GPT2LMHeadModel}
 * as it is: q and v of a layer as one rank-2r LoRA on the fused {@code c_attn}
 * ({@link Gpt2PeftExport}). Either way OUT is checked first: never DIR or GPT2DIR, inside or around
 * them, and an existing OUT only when a previous export wrote it.
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

    @Option(names = "--model", paramLabel = "GPT2DIR", description = "The Hugging Face GPT-2 directory the adapter was trained "
            + "on (its config.json gives n_embd and n_layer): write q and v as one LoRA on GPT-2's fused c_attn, which "
            + "transformers' GPT2LMHeadModel loads. Default: one LoRA module per saved adapter name.")
    Path model;

    /** Saved names of a GPT-2's attention adapters: {@code h.{i}.attn.q} or {@code .v}. */
    private static final Pattern GPT2_QV = Pattern.compile("h\\.(\\d{1,9})\\.attn\\.[qv]");

    @Override
    public Integer call() {
        String device = main.device(); // refuses an empty --device before any work
        if (baseModel != null && baseModel.isBlank()) {
            throw new IllegalArgumentException("--base-model is " + Echo.quote(baseModel) + "; give a model name or leave the option out");
        }
        if (model == null) {
            OutputPaths.requireApart("OUT", target, dir);
        } else {
            OutputPaths.requireApart("OUT", target, dir, model);
        }
        OutputPaths.requireReplaceable(target, PeftLoraExport.OUTPUT); // checked before the work, and again when writing
        HfConfig config = model == null ? null : gpt2Config(model);
        CausalLmSpec lm = config == null ? null : config.spec();
        SavedNola saved = NolaAdapterFiles.load(dir);
        Map<String, AdapterSite> sites = lm == null ? Map.of() : lm.model().sites();
        if (lm != null) {
            for (SavedNola.Layer layer : saved.layers()) {
                AdapterSite site = sites.get(layer.name());
                if (site == null || !site.module().equals("q") && !site.module().equals("v")) {
                    throw new IllegalArgumentException(Echo.path(dir) + ": adapter " + Echo.quote(layer.name()) + " is not a q or v "
                            + "adapter of " + Echo.path(model) + " (" + config.fieldsFor(layer.name()) + "); --model writes h.{i}.attn.q "
                            + "and h.{i}.attn.v onto c_attn (leave --model out to export every adapter under its own name)");
                }
                saved.requireShape(layer.name(), site.in(), site.out()); // before any factor is generated
            }
        }
        try (Device dev = Backends.open(RuntimeSettings.resolve(device))) {
            Map<String, NolaAdapter> adapters = saved.instantiate(dev, Echo.path(dir));
            try {
                if (lm != null) {
                    Gpt2PeftExport.write(target, adapters, lm, baseModel);
                } else {
                    PeftLoraExport.write(target, adapters, saved.config().targetModules(), baseModel);
                }
            } finally {
                adapters.values().forEach(NolaAdapter::close);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (lm != null) {
            long layers = saved.layers().stream().map(l -> sites.get(l.name()).layer()).distinct().count();
            out.printf("wrote %s: PEFT LoRA on GPT-2's c_attn, r=%d (q and v at r=%d each, k zero), %d layers%n", Echo.path(target),
                    2 * saved.config().rank(), saved.config().rank(), layers);
        } else {
            out.printf("wrote %s: PEFT LoRA, r=%d, %d layers%n", Echo.path(target), saved.config().rank(), saved.layers().size());
            if (!saved.layers().isEmpty() && saved.layers().stream().allMatch(l -> GPT2_QV.matcher(l.name()).matches())) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("note: these look like GPT-2 adapters (h.{i}.attn.q|v); Hugging Face's GPT-2 has no q or v module to "
                        + "load them on; add --model GPT2DIR to write them on its fused c_attn");
                err.flush();
            }
        }
        out.flush();
        return 0;
    }

    /** DIR's config.json (read as any architecture) when it is a GPT-2's; another architecture is refused in one line. */
    private static HfConfig gpt2Config(Path modelDir) {
        HfConfig config = HfCheckpoint.readConfig(modelDir);
        if (!(config instanceof Gpt2Config)) {
            throw new IllegalArgumentException("--model " + Echo.path(modelDir) + " is a " + config.displayName()
                    + "; expected a GPT-2, whose fused c_attn this export writes (leave --model out to export every adapter"
                    + " under its own name)");
        }
        return config;
    }
}
