package dev.nola.models.gpt2;

import dev.nola.adapter.io.DType;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.adapter.io.TensorInfo;
import dev.nola.io.AtomicFiles;
import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.InvalidFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A GPT-2 checkpoint in the Hugging Face format, held as host float32 arrays: a directory with
 * {@code config.json} ({@link Gpt2Config}) and {@code model.safetensors}.
 *
 * <p>Tensors, by their Hugging Face names (C = n_embd, V = vocab_size, P = n_positions):
 * {@code wte.weight} [V, C] (token embedding, and the output head: the head is tied to it),
 * {@code wpe.weight} [P, C] (position embedding), the blocks {@code h.{i}.*} (see {@link Gpt2Block};
 * projections in Conv1D layout [in, out]) and {@code ln_f.{weight,bias}} [C]. All row-major.
 *
 * <p>Loading accepts keys with or without the {@code transformer.} prefix (files saved from
 * {@code GPT2LMHeadModel} carry it, the hub's {@code gpt2} files do not); ignores the causal-mask
 * buffers {@code h.{i}.attn.bias} and {@code h.{i}.attn.masked_bias}; accepts {@code lm_head.weight}
 * only when it is [V, C] and equal to {@code wte.weight} (tied); converts F16 and BF16 to float32 and
 * refuses every other dtype (F64, integers, BOOL). Every tensor's shape is checked against the
 * config before its data is read. Any problem is one line naming the file and the tensor or field.
 *
 * <p>Writing produces the same format (keys without prefix, F32, {@code __metadata__} format "pt"),
 * the directory replaced atomically. The arrays are the checkpoint's own, not copies: a trainer may
 * update them in place and write the checkpoint again.
 */
public final class Gpt2Checkpoint {

    /** The configuration file's name in a checkpoint directory. */
    public static final String CONFIG_FILE = "config.json";
    /** The weights file's name in a checkpoint directory. */
    public static final String WEIGHTS_FILE = "model.safetensors";
    /** The key prefix of files saved from {@code GPT2LMHeadModel}. */
    public static final String PREFIX = "transformer.";
    /** The dtypes read (converted to float32); the writer writes F32. */
    public static final Set<DType> READ_DTYPES = Collections.unmodifiableSet(EnumSet.of(DType.F32, DType.F16, DType.BF16));

    private static final Pattern LAYER_KEY = Pattern.compile("h\\.(\\d{1,9})\\.(.+)");
    private static final String HEAD = "lm_head.weight";

    private final Gpt2Config config;
    private final Map<String, float[]> tensors;
    private final List<Gpt2Block> blocks;

    private Gpt2Checkpoint(Gpt2Config config, Map<String, float[]> tensors) {
        this.config = config;
        this.tensors = Collections.unmodifiableMap(tensors);
        List<Gpt2Block> b = new ArrayList<>();
        for (int i = 0; i < config.layers(); i++) {
            String p = "h." + i + ".";
            b.add(new Gpt2Block(norm(p + "ln_1"), projection(p + "attn.c_attn"), projection(p + "attn.c_proj"),
                    norm(p + "ln_2"), projection(p + "mlp.c_fc"), projection(p + "mlp.c_proj")));
        }
        this.blocks = List.copyOf(b);
    }

    private LayerNorm norm(String name) {
        return new LayerNorm(tensors.get(name + ".weight"), tensors.get(name + ".bias"));
    }

    private Projection projection(String name) {
        int[] s = shapes(config).get(name + ".weight");
        return new Projection(s[0], s[1], tensors.get(name + ".weight"), tensors.get(name + ".bias"));
    }

    /**
     * The tensors of a checkpoint of this shape, by Hugging Face name (no prefix), in the file's
     * order: wte, wpe, the blocks, ln_f. A new map each call.
     */
    public static Map<String, int[]> shapes(Gpt2Config config) {
        int c = config.embeddingSize();
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("wte.weight", new int[] {config.vocabularySize(), c});
        m.put("wpe.weight", new int[] {config.positions(), c});
        for (int i = 0; i < config.layers(); i++) {
            String p = "h." + i + ".";
            m.put(p + "ln_1.weight", new int[] {c});
            m.put(p + "ln_1.bias", new int[] {c});
            m.put(p + "attn.c_attn.weight", new int[] {c, 3 * c});
            m.put(p + "attn.c_attn.bias", new int[] {3 * c});
            m.put(p + "attn.c_proj.weight", new int[] {c, c});
            m.put(p + "attn.c_proj.bias", new int[] {c});
            m.put(p + "ln_2.weight", new int[] {c});
            m.put(p + "ln_2.bias", new int[] {c});
            m.put(p + "mlp.c_fc.weight", new int[] {c, 4 * c});
            m.put(p + "mlp.c_fc.bias", new int[] {4 * c});
            m.put(p + "mlp.c_proj.weight", new int[] {4 * c, c});
            m.put(p + "mlp.c_proj.bias", new int[] {c});
        }
        m.put("ln_f.weight", new int[] {c});
        m.put("ln_f.bias", new int[] {c});
        return m;
    }

    /** A checkpoint of zeros of this shape (layer norm gains too), for a trainer to fill in place. */
    public static Gpt2Checkpoint zeros(Gpt2Config config) {
        Map<String, float[]> t = new LinkedHashMap<>();
        shapes(config).forEach((name, shape) -> t.put(name, new float[Math.toIntExact(elements(shape))]));
        return new Gpt2Checkpoint(config, t);
    }

    /**
     * A checkpoint over the given arrays (not copied), one per name of {@link #shapes}, Conv1D layout.
     * A missing, extra or wrongly sized array is an error naming it.
     */
    public static Gpt2Checkpoint of(Gpt2Config config, Map<String, float[]> tensors) {
        Map<String, int[]> expected = shapes(config);
        for (String name : tensors.keySet()) {
            if (!expected.containsKey(name)) {
                throw new IllegalArgumentException("tensor " + Echo.quote(name) + " is not part of a GPT-2 of n_layer = "
                        + config.layers() + "; expected the names of Gpt2Checkpoint.shapes");
            }
        }
        Map<String, float[]> t = new LinkedHashMap<>();
        expected.forEach((name, shape) -> {
            float[] v = tensors.get(name);
            if (v == null) {
                throw new IllegalArgumentException("tensor '" + name + "' is missing; expected " + Arrays.toString(shape));
            }
            if (v.length != elements(shape)) {
                throw new IllegalArgumentException("tensor '" + name + "' has " + v.length + " floats; expected "
                        + Arrays.toString(shape) + " = " + elements(shape));
            }
            t.put(name, v);
        });
        return new Gpt2Checkpoint(config, t);
    }

    /** Loads {@code dir/config.json} and {@code dir/model.safetensors}, checked as described above. */
    public static Gpt2Checkpoint load(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new InvalidFileException(dir + ": not a directory; expected a checkpoint directory holding "
                    + CONFIG_FILE + " and " + WEIGHTS_FILE);
        }
        Path configFile = dir.resolve(CONFIG_FILE);
        Gpt2Config config = Gpt2Config.read(configFile);
        Path weights = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            throw new InvalidFileException(weights + ": no such file; expected the checkpoint's weights beside "
                    + CONFIG_FILE);
        }
        try (SafeTensorsReader reader = SafeTensorsReader.open(weights)) {
            return new Loader(config, configFile, reader).load();
        }
    }

    /** Matches the file's tensors to the config and reads them; one instance per load. */
    private record Loader(Gpt2Config config, Path configFile, SafeTensorsReader reader) {

        Gpt2Checkpoint load() {
            Map<String, int[]> expected = shapes(config);
            Map<String, TensorInfo> found = new LinkedHashMap<>();
            TensorInfo head = null;
            for (TensorInfo info : reader.tensors().values()) {
                String name = info.name().startsWith(PREFIX) ? info.name().substring(PREFIX.length()) : info.name();
                if (isMaskBuffer(name)) {
                    continue;
                }
                if (info.name().equals(HEAD)) {
                    head = info;
                    continue;
                }
                if (!expected.containsKey(name)) {
                    throw unexpected(info.name(), name);
                }
                TensorInfo twin = found.put(name, info);
                if (twin != null) {
                    throw bad("holds '" + twin.name() + "' and '" + info.name() + "', the same tensor with and without the '"
                            + PREFIX + "' prefix; expected one");
                }
            }
            Map<String, float[]> values = new LinkedHashMap<>();
            for (Map.Entry<String, int[]> e : expected.entrySet()) {
                TensorInfo info = found.get(e.getKey());
                if (info == null) {
                    throw bad("tensor '" + e.getKey() + "' is missing; " + configFile + " (" + fieldsFor(e.getKey())
                            + ") expects it with shape " + Arrays.toString(e.getValue()));
                }
                check(info, e.getKey(), e.getValue());
            }
            for (Map.Entry<String, int[]> e : expected.entrySet()) {
                values.put(e.getKey(), reader.readFloats(found.get(e.getKey()).name()));
            }
            if (head != null) {
                checkTiedHead(head, expected.get("wte.weight"), values.get("wte.weight"));
            }
            return new Gpt2Checkpoint(config, values);
        }

        private static boolean isMaskBuffer(String name) {
            Matcher m = LAYER_KEY.matcher(name);
            return m.matches() && (m.group(2).equals("attn.bias") || m.group(2).equals("attn.masked_bias"));
        }

        private InvalidFileException unexpected(String key, String name) {
            Matcher m = LAYER_KEY.matcher(name);
            if (m.matches() && Long.parseLong(m.group(1)) >= config.layers()) {
                return bad("tensor " + Echo.quote(key) + " belongs to layer " + m.group(1) + ", but " + configFile
                        + " says n_layer = " + config.layers() + "; expected layers 0.." + (config.layers() - 1));
            }
            return bad("tensor " + Echo.quote(key) + " is not part of GPT-2; expected wte, wpe, h.{0.."
                    + (config.layers() - 1) + "}.*, ln_f, optionally lm_head.weight and the attn.bias mask buffers");
        }

        private void check(TensorInfo info, String name, int[] shape) {
            if (!Arrays.equals(info.shape(), shape)) {
                throw bad("tensor '" + info.name() + "' has shape " + Arrays.toString(info.shape()) + ", but " + configFile
                        + " (" + fieldsFor(name) + ") expects " + Arrays.toString(shape));
            }
            if (!READ_DTYPES.contains(info.dtype())) {
                throw bad("tensor '" + info.name() + "' is " + info.dtype() + "; expected one of " + READ_DTYPES);
            }
        }

        private String fieldsFor(String name) {
            String c = "n_embd = " + config.embeddingSize();
            if (name.equals("wte.weight")) {
                return "vocab_size = " + config.vocabularySize() + ", " + c;
            }
            if (name.equals("wpe.weight")) {
                return "n_positions = " + config.positions() + ", " + c;
            }
            return name.startsWith("h.") ? "n_layer = " + config.layers() + ", " + c : c;
        }

        private void checkTiedHead(TensorInfo head, int[] shape, float[] wte) {
            check(head, "wte.weight", shape);
            float[] h = reader.readFloats(head.name());
            for (int i = 0; i < h.length; i++) {
                if (Float.floatToIntBits(h[i]) != Float.floatToIntBits(wte[i])) {
                    throw bad("tensor '" + HEAD + "' differs from wte.weight at element " + i + " (" + h[i] + " vs " + wte[i]
                            + "); expected the head tied to wte, as GPT-2's is");
                }
            }
        }

        private InvalidFileException bad(String what) {
            return new InvalidFileException(reader.source() + ": " + what);
        }
    }

    /**
     * Writes {@code dir/config.json} and {@code dir/model.safetensors} (F32, keys without prefix,
     * {@code __metadata__} {"format": "pt"}, no mask buffers, no lm_head) and replaces the directory
     * atomically. An existing directory may hold only these two files. Values must be finite. The
     * safetensors file is built in memory, so it is limited to 2³¹ − 9 bytes (about 536M parameters).
     */
    public void write(Path dir) {
        AtomicFiles.writeDirectory(dir, files(dir.toString()));
    }

    /**
     * The checkpoint's files ({@link #CONFIG_FILE}, {@link #WEIGHTS_FILE}) as bytes, for a caller that
     * writes them together with others in one atomic directory.
     *
     * @param dir the destination, for messages
     */
    public Map<String, byte[]> files(String dir) {
        long bytes = 4 * config.parameterCount();
        if (bytes > InputFiles.MAX_ARRAY_BYTES - (1 << 20)) {
            throw new IllegalArgumentException("checkpoint for " + dir + " holds " + config.parameterCount()
                    + " parameters (" + bytes + " bytes); this writer builds the file in one array and takes at most "
                    + (InputFiles.MAX_ARRAY_BYTES - (1 << 20)) + " bytes");
        }
        SafeTensorsWriter w = new SafeTensorsWriter();
        Map<String, int[]> shapes = shapes(config);
        tensors.forEach((name, values) -> w.f32(name, shapes.get(name), values));
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(WEIGHTS_FILE, w.toBytes(Map.of("format", "pt")));
        files.put(CONFIG_FILE, config.toJson());
        return files;
    }

    /** The configuration. */
    public Gpt2Config config() {
        return config;
    }

    /** Every tensor by Hugging Face name (no prefix), in file order; the arrays themselves, not copies. */
    public Map<String, float[]> tensors() {
        return tensors;
    }

    /** {@code wte.weight} [V, C]: row t is token t's embedding; also the output head (logits = x·wteᵀ). */
    public float[] tokenEmbedding() {
        return tensors.get("wte.weight");
    }

    /** {@code wpe.weight} [P, C]: row p is position p's embedding. */
    public float[] positionEmbedding() {
        return tensors.get("wpe.weight");
    }

    /** Block {@code i} of n_layer. */
    public Gpt2Block block(int i) {
        if (i < 0 || i >= blocks.size()) {
            throw new IllegalArgumentException("block " + i + " does not exist; expected 0.." + (blocks.size() - 1));
        }
        return blocks.get(i);
    }

    /** The blocks, in order. */
    public List<Gpt2Block> blocks() {
        return blocks;
    }

    /** {@code ln_f.{weight,bias}} [C], the layer norm before the head. */
    public LayerNorm finalNorm() {
        return norm("ln_f");
    }

    private static long elements(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }
}
