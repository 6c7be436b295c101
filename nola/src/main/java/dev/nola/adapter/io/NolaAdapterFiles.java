package dev.nola.adapter.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.StreamId;
import dev.nola.adapter.quant.CoefficientQuantizer;
import dev.nola.adapter.quant.QuantizedVector;
import dev.nola.io.AtomicFiles;
import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.InvalidFileException;
import dev.nola.io.OutputPaths;
import dev.nola.io.UntrustedJson;
import dev.nola.kernels.Philox;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The NOLA adapter directory, format version {@value #FORMAT_VERSION}: {@code adapter_config.json}
 * (format and version, the generator's name and version, seed, rank, k, l, alpha, scheme, basis mode,
 * sharing, target modules, coefficient bits, and per layer its name, in, out, both stream ids and the
 * basis scales) and {@code adapter_model.safetensors} with, per layer, {@code <name>.nola_alpha} [k]
 * and {@code <name>.nola_beta} [l] as F32 — or, when coefficient bits are 2..8, the packed codes
 * {@code <name>.nola_alpha.codes} (U8) and the step {@code <name>.nola_alpha.step} (F32 [1]), and
 * likewise for beta.
 *
 * <p>Saving is atomic (see {@link AtomicFiles}); a quantized config stores the quantized
 * coefficients (post-training quantization). Loading treats both files as untrusted and refuses an
 * unknown format or generator version, a scale this build would not compute, a shape mismatch, a
 * missing or extra tensor, or a non-finite coefficient, with an {@link InvalidFileException} that
 * names the file and the field.
 */
public final class NolaAdapterFiles {

    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    public static final String FORMAT = "nola-adapter";
    public static final int FORMAT_VERSION = 1;
    /** What saving writes; an existing directory is replaced only when it is a NOLA adapter. */
    public static final OutputPaths.Kind OUTPUT = new OutputPaths.Kind("a NOLA adapter", Set.of(CONFIG_FILE, WEIGHTS_FILE),
            dir -> OutputPaths.configSays(dir, CONFIG_FILE, "format", FORMAT));
    /** The largest config file read, in bytes. */
    public static final long MAX_CONFIG_BYTES = 16L << 20;

    private NolaAdapterFiles() {
    }

    /** Saves live adapters (sharing one config), atomically replacing {@code dir}. */
    public static void save(Path dir, Map<String, NolaAdapter> adapters) {
        save(dir, SavedNola.of(adapters), AtomicFiles.NONE);
    }

    /** Saves an adapter set, atomically replacing {@code dir}. */
    public static void save(Path dir, SavedNola saved) {
        save(dir, saved, AtomicFiles.NONE);
    }

    static void save(Path dir, SavedNola saved, AtomicFiles.Stage stage) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(CONFIG_FILE, configJson(saved));
        files.put(WEIGHTS_FILE, weights(saved));
        AtomicFiles.writeDirectory(dir, OUTPUT, files, stage);
    }

    /** The bytes of the safetensors file for an adapter set. */
    public static byte[] weights(SavedNola saved) {
        NolaConfig c = saved.config();
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (SavedNola.Layer l : saved.layers()) {
            checkName(l.name());
            put(w, l.name() + ".nola_alpha", l.alpha(), c.coefficientBits());
            put(w, l.name() + ".nola_beta", l.beta(), c.coefficientBits());
        }
        return w.toBytes(Map.of("format", FORMAT, "format_version", Integer.toString(FORMAT_VERSION)));
    }

    private static void put(SafeTensorsWriter w, String name, float[] v, int bits) {
        if (bits == NolaConfig.FLOAT_BITS) {
            w.f32(name, new int[] {v.length}, v);
        } else {
            QuantizedVector q = CoefficientQuantizer.quantize(v, bits);
            w.u8(name + ".codes", CoefficientQuantizer.pack(q));
            w.f32(name + ".step", new int[] {1}, new float[] {q.step()});
        }
    }

    private static void checkName(String name) {
        Names.MODULE.require("layer", name);
    }

    /** The bytes of adapter_config.json for an adapter set. */
    public static byte[] configJson(SavedNola saved) {
        NolaConfig c = saved.config();
        ObjectNode root = UntrustedJson.MAPPER.createObjectNode();
        root.put("format", FORMAT);
        root.put("format_version", FORMAT_VERSION);
        root.put("peft_type", "NOLA");
        ObjectNode g = root.putObject("generator");
        g.put("name", Philox.GENERATOR_NAME);
        g.put("version", Philox.GENERATOR_VERSION);
        root.put("seed", Long.toUnsignedString(c.seed()));
        root.put("r", c.rank());
        root.put("k", c.basisA());
        root.put("l", c.basisB());
        root.put("alpha", c.alpha());
        root.put("scale", c.scale());
        root.put("init", c.init().name());
        root.put("basis_mode", c.basisMode().name());
        root.put("shared_bases", c.sharedBases());
        ArrayNode tm = root.putArray("target_modules");
        c.targetModules().forEach(m -> tm.add(Names.MODULE.require("target", m)));
        root.put("coefficient_bits", c.coefficientBits());
        root.put("quantization_aware", c.quantizationAware());
        ArrayNode layers = root.putArray("layers");
        for (SavedNola.Layer l : saved.layers()) {
            checkName(l.name());
            Scales s = Scales.of(c, l.in(), l.out());
            ObjectNode n = layers.addObject();
            n.put("name", l.name());
            n.put("in", l.in());
            n.put("out", l.out());
            n.put("stream_a", Integer.toUnsignedLong(l.idA().packed()));
            n.put("stream_b", Integer.toUnsignedLong(l.idB().packed()));
            n.put("basis_scale_a", s.a());
            n.put("basis_scale_b", s.b());
            if (c.init() == NolaConfig.InitScheme.OFFSET) {
                n.put("offset_scale", s.offset());
            }
        }
        try {
            return UntrustedJson.MAPPER.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + CONFIG_FILE, e);
        }
    }

    /** The scales this build computes for a layer (used to refuse files made under other rules). */
    record Scales(float a, float b, float offset) {
        static Scales of(NolaConfig c, int in, int out) {
            boolean off = c.init() == NolaConfig.InitScheme.OFFSET;
            float a = (float) (1.0 / Math.sqrt(off ? c.basisA() : (double) c.rank() * in));
            float b = (float) (1.0 / Math.sqrt(off ? c.basisB() : (double) out * c.rank()));
            return new Scales(a, b, off ? (float) (1.0 / Math.sqrt(in)) : 0f);
        }
    }

    /**
     * Loads an adapter directory (untrusted). A path that is not a directory, or files that are not
     * regular files, are described as what they are (missing, a FIFO, a link loop, permission denied).
     */
    public static SavedNola load(Path dir) {
        InputFiles.requireDirectory(dir, "a NOLA adapter directory (" + CONFIG_FILE + " and " + WEIGHTS_FILE + ")");
        Path cfg = dir.resolve(CONFIG_FILE);
        Path wts = dir.resolve(WEIGHTS_FILE);
        for (Path p : List.of(cfg, wts)) {
            InputFiles.Kind k = InputFiles.kind(p);
            if (k != InputFiles.Kind.REGULAR_FILE) {
                throw new InvalidFileException(Echo.path(dir) + " is not a NOLA adapter directory: " + p.getFileName()
                        + " " + k.phrase() + "; expected a regular file");
            }
        }
        byte[] json = InputFiles.readAll(cfg, MAX_CONFIG_BYTES, 1);
        try (SafeTensorsReader r = SafeTensorsReader.open(wts)) {
            return parse(json, Echo.path(cfg), r);
        }
    }

    /** Parses an adapter held in memory (untrusted); {@code where} names it in messages. */
    public static SavedNola parse(byte[] configJson, byte[] weights, String where) {
        if (configJson.length > MAX_CONFIG_BYTES) {
            throw new InvalidFileException(where + "/" + CONFIG_FILE + " is " + Echo.bytes(configJson.length)
                    + ", above the limit of " + Echo.bytes(MAX_CONFIG_BYTES));
        }
        try (SafeTensorsReader r = SafeTensorsReader.fromBytes(weights, where + "/" + WEIGHTS_FILE)) {
            return parse(configJson, where + "/" + CONFIG_FILE, r);
        }
    }

    private static SavedNola parse(byte[] json, String cfgName, SafeTensorsReader weights) {
        ConfigReader cr = new ConfigReader(UntrustedJson.parse(json, cfgName), cfgName);
        NolaConfig config = cr.config();
        List<SavedNola.Layer> layers = new ArrayList<>();
        Set<String> expected = new HashSet<>();
        for (ConfigReader.LayerEntry e : cr.layers(config)) {
            float[] alpha = coefficients(weights, e.name() + ".nola_alpha", config.basisA(), config.coefficientBits(), expected);
            float[] beta = coefficients(weights, e.name() + ".nola_beta", config.basisB(), config.coefficientBits(), expected);
            layers.add(new SavedNola.Layer(e.name(), e.in(), e.out(), e.idA(), e.idB(), alpha, beta));
        }
        for (String t : weights.tensors().keySet()) {
            if (!expected.contains(t)) {
                throw new InvalidFileException(weights.source() + ": tensor " + Echo.quote(t)
                        + " belongs to no layer of " + CONFIG_FILE);
            }
        }
        return new SavedNola(config, layers);
    }

    private static float[] coefficients(SafeTensorsReader r, String name, int count, int bits, Set<String> expected) {
        float[] v;
        if (bits == NolaConfig.FLOAT_BITS) {
            expected.add(name);
            TensorInfo t = r.tensor(name);
            requireShape(r, t, DType.F32, count);
            v = r.readFloats(name);
        } else {
            expected.add(name + ".codes");
            expected.add(name + ".step");
            TensorInfo codes = r.tensor(name + ".codes");
            requireShape(r, codes, DType.U8, CoefficientQuantizer.packedLength(count, bits));
            requireShape(r, r.tensor(name + ".step"), DType.F32, 1);
            float step = r.readFloats(name + ".step")[0];
            if (!Float.isFinite(step) || step < 0) {
                throw new InvalidFileException(r.source() + ": tensor '" + name + ".step' is " + step
                        + "; expected a finite value >= 0");
            }
            try {
                v = CoefficientQuantizer.unpack(r.readBytes(name + ".codes"), count, bits, step).values();
            } catch (IllegalArgumentException e) {
                throw new InvalidFileException(r.source() + ": tensor '" + name + ".codes': " + e.getMessage());
            }
        }
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new InvalidFileException(r.source() + ": tensor '" + name + "' element " + i + " is " + v[i]
                        + "; coefficients must be finite");
            }
        }
        return v;
    }

    private static void requireShape(SafeTensorsReader r, TensorInfo t, DType dtype, int count) {
        int[] s = t.shape();
        if (t.dtype() != dtype || s.length != 1 || s[0] != count) {
            throw new InvalidFileException(r.source() + ": tensor '" + t.name() + "' is " + t.dtype() + " "
                    + java.util.Arrays.toString(s) + ", expected " + dtype + " [" + count + "] (from " + CONFIG_FILE + ")");
        }
    }
}
