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
import dev.nola.models.spec.Layout;
import dev.nola.models.spec.LinearSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
 * {@code --model MODELDIR} every adapter must be one of that model's adapter sites (by saved name, of
 * its shape, from MODELDIR's config.json) and is written for the Hugging Face model as it is: on a
 * GPT-2 ({@code h.{i}.attn.q} / {@code .v}) q and v of a layer as one rank-2r LoRA on the fused
 * Conv1D {@code c_attn} ({@link Gpt2PeftExport}); on an architecture whose sites are whole
 * {@code nn.Linear} weights (LLaMA, Mistral, Qwen2: {@code model.layers.{i}.self_attn.q_proj}) one LoRA
 * module per site under its name, {@code target_modules} the sites' module words ({@code q_proj}),
 * no fan_in_fan_out ({@link PeftLoraExport}). Either way OUT is checked first: never DIR or MODELDIR,
 * inside or around them, and an existing OUT only when a previous export wrote it.
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

    @Option(names = "--model", paramLabel = "MODELDIR", description = "The Hugging Face model directory the adapter was trained "
            + "on (its config.json gives the shapes): write the adapter as PEFT loads it onto that model as it is (GPT-2: q and "
            + "v as one LoRA on the fused c_attn; LLaMA, Mistral, Qwen2: one LoRA per q_proj, v_proj, … module). Default: one "
            + "LoRA module per saved adapter name.")
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
        HfConfig config = model == null ? null : HfCheckpoint.readConfig(model);
        CausalLmSpec lm = config == null ? null : config.spec();
        boolean gpt2 = config instanceof Gpt2Config;
        SavedNola saved = NolaAdapterFiles.load(dir);
        Map<String, AdapterSite> sites = lm == null ? Map.of() : lm.model().sites();
        List<String> modules = new ArrayList<>();
        if (lm != null && !gpt2) {
            for (SavedNola.Layer layer : saved.layers()) {
                AdapterSite site = sites.get(layer.name());
                if (site == null) {
                    throw new IllegalArgumentException(Echo.path(dir) + ": adapter " + Echo.quote(layer.name()) + " is no adapter site of "
                            + Echo.path(model) + " (a " + config.displayName() + "); expected names like "
                            + sites.keySet().iterator().next());
                }
                LinearSpec l = site.linear();
                if (l.layout() != Layout.LINEAR || l.offset() != 0 || l.stored() != l.out()) {
                    throw new IllegalArgumentException(Echo.path(dir) + ": adapter " + Echo.quote(layer.name()) + " sits on a slice of "
                            + "the fused weight " + l.weight() + " of " + Echo.path(model) + "; PEFT has no module to load it on");
                }
                saved.requireShape(layer.name(), site.in(), site.out()); // before any factor is generated
                if (!modules.contains(site.module())) {
                    modules.add(site.module());
                }
            }
        }
        if (gpt2) {
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
                if (gpt2) {
                    Gpt2PeftExport.write(target, adapters, lm, baseModel);
                } else if (lm != null) {
                    PeftLoraExport.write(target, adapters, modules, baseModel);
                } else {
                    PeftLoraExport.write(target, adapters, saved.config().targetModules(), baseModel);
                }
            } finally {
                adapters.values().forEach(NolaAdapter::close);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (gpt2) {
            long layers = saved.layers().stream().map(l -> sites.get(l.name()).layer()).distinct().count();
            out.printf("wrote %s: PEFT LoRA on GPT-2's c_attn, r=%d (q and v at r=%d each, k zero), %d layers%n", Echo.path(target),
                    2 * saved.config().rank(), saved.config().rank(), layers);
        } else if (lm != null) {
            out.printf("wrote %s: PEFT LoRA for %s, r=%d, target_modules %s, %d modules%n", Echo.path(target), config.displayName(),
                    saved.config().rank(), modules, saved.layers().size());
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
}
