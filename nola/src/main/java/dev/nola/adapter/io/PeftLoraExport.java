package dev.nola.adapter.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.adapter.Adapter;
import dev.nola.io.AtomicFiles;
import dev.nola.io.Echo;
import dev.nola.io.OutputPaths;
import dev.nola.io.SizeBudget;
import dev.nola.io.TooLargeException;
import dev.nola.io.UntrustedJson;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes adapters (NOLA or LoRA) as a standard HF PEFT LoRA adapter directory: the mixed factors
 * become {@code base_model.model.<name>.lora_A.weight} [r, in] and {@code …lora_B.weight} [out, r]
 * (F32), and {@code adapter_config.json} carries {@code peft_type} LORA, {@code r},
 * {@code lora_alpha} = s·r (so PEFT's scaling lora_alpha/r equals the adapter's s) and
 * {@code target_modules}. Every adapter must share r and s. Written atomically; the heap the file
 * needs (the factors read back, then the file's bytes) is checked before any factor is read.
 */
public final class PeftLoraExport {

    /** What an export writes; an existing directory is replaced only when it is a previous export. */
    public static final OutputPaths.Kind OUTPUT = new OutputPaths.Kind("a PEFT LoRA adapter",
            Set.of(NolaAdapterFiles.CONFIG_FILE, NolaAdapterFiles.WEIGHTS_FILE),
            dir -> OutputPaths.configSays(dir, NolaAdapterFiles.CONFIG_FILE, "peft_type", "LORA"));

    /** A generous bound on a tensor's entry in the safetensors header. */
    private static final long HEADER_BYTES_PER_TENSOR = 1024;

    private PeftLoraExport() {
    }

    /**
     * @param dir           the directory to write (replaced atomically)
     * @param adapters      module path → adapter, e.g. {@code transformer.h.0.attn.q_proj}
     * @param targetModules the module names PEFT should match, e.g. {@code ["q_proj", "v_proj"]}
     * @param baseModel     {@code base_model_name_or_path}, or null
     */
    public static void write(Path dir, Map<String, ? extends Adapter> adapters, List<String> targetModules, String baseModel) {
        AtomicFiles.writeDirectory(dir, OUTPUT, files(Echo.path(dir), adapters, targetModules, baseModel), AtomicFiles.NONE);
    }

    /**
     * Writes a PEFT LoRA directory whose files were built elsewhere (e.g. models' GPT-2 export onto the
     * fused {@code c_attn}) under the same rule as {@link #write}: atomically, and replacing only a
     * previous export ({@link #OUTPUT}). {@code files} must be exactly {@link #OUTPUT}'s file names.
     */
    public static void writeFiles(Path dir, Map<String, byte[]> files) {
        AtomicFiles.writeDirectory(dir, OUTPUT, files, AtomicFiles.NONE);
    }

    /** The directory's files (name → bytes); {@code source} names the export in messages. */
    static Map<String, byte[]> files(String source, Map<String, ? extends Adapter> adapters, List<String> targetModules,
                                     String baseModel) {
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("adapters is empty; nothing to export");
        }
        Adapter first = adapters.values().iterator().next();
        long data = 0;
        long largest = 0;
        for (Map.Entry<String, ? extends Adapter> e : adapters.entrySet()) {
            Names.MODULE.require("layer", e.getKey());
            Adapter a = e.getValue();
            if (a.rank() != first.rank() || a.scale() != first.scale()) {
                throw new IllegalArgumentException("adapter '" + e.getKey() + "' has r=" + a.rank() + ", s=" + a.scale()
                        + " but the first has r=" + first.rank() + ", s=" + first.scale() + "; a PEFT LoRA file has one r and alpha");
            }
            long floatsA = (long) a.rank() * a.inFeatures();
            long floatsB = (long) a.outFeatures() * a.rank();
            data = SizeBudget.plus(data, SizeBudget.times(floatsA + floatsB, Float.BYTES));
            largest = Math.max(largest, Math.max(floatsA, floatsB));
        }
        long file = SizeBudget.plus(data, HEADER_BYTES_PER_TENSOR * 2L * adapters.size());
        if (file > SafeTensorsReader.MAX_ARRAY) {
            throw new TooLargeException(source + ": the PEFT LoRA file of " + adapters.size() + " layers would be "
                    + Echo.bytes(file) + "; a file built in memory holds at most " + Echo.bytes(SafeTensorsReader.MAX_ARRAY));
        }
        SizeBudget.of(source).addBytes("the factors as F32 bytes", data).addBytes("the file", file)
                .addFloats("the largest factor read back", largest).requireOnHeap();
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (Map.Entry<String, ? extends Adapter> e : adapters.entrySet()) {
            Adapter a = e.getValue();
            String prefix = "base_model.model." + e.getKey();
            w.f32(prefix + ".lora_A.weight", new int[] {a.rank(), a.inFeatures()}, a.device().read(a.factorA()));
            w.f32(prefix + ".lora_B.weight", new int[] {a.outFeatures(), a.rank()}, a.device().read(a.factorB()));
        }
        ObjectNode c = UntrustedJson.MAPPER.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("r", first.rank());
        c.put("lora_alpha", (double) first.scale() * first.rank());
        ArrayNode tm = c.putArray("target_modules");
        targetModules.forEach(m -> tm.add(Names.MODULE.require("target", m)));
        c.put("lora_dropout", 0.0);
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("use_rslora", false);
        c.put("init_lora_weights", true);
        c.put("inference_mode", true);
        c.putNull("task_type");
        if (baseModel == null) {
            c.putNull("base_model_name_or_path");
        } else {
            c.put("base_model_name_or_path", baseModel);
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            files.put(NolaAdapterFiles.CONFIG_FILE, UntrustedJson.MAPPER.writeValueAsString(c).getBytes(StandardCharsets.UTF_8));
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException("cannot serialise the PEFT config", ex);
        }
        files.put(NolaAdapterFiles.WEIGHTS_FILE, w.toBytes(Map.of("format", "pt")));
        return files;
    }
}
