package dev.nola.models.gpt2;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.nola.models.lm.HfCheckpoint;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Test fixture: writes a tiny GPT-2 checkpoint with random weights the way Hugging Face lays one out
 * (config.json + model.safetensors, HF key names, Conv1D [in, out] weights), independently of
 * {@link HfCheckpoint}: the safetensors bytes are assembled here by hand so the loader is checked
 * against the format, not against its own writer. Knobs produce the variants found in the wild
 * (prefix, mask buffers, a tied lm_head, F16/BF16, two shards named by
 * {@code model.safetensors.index.json}) and broken files (a tensor left out, misshaped, extra, or a
 * config that disagrees with the weights).
 */
final class TinyGpt2 {

    /** The prefix GPT2LMHeadModel saves the body's keys under. */
    static final String PREFIX = "transformer.";

    /** C = 8, 2 heads, 2 layers, 16 positions, 32 tokens. */
    static final Gpt2Config CONFIG = new Gpt2Config(8, 2, 2, 16, 32, 1e-5f, "gelu_new");

    enum Head { NONE, TIED, UNTIED }

    private Gpt2Config config = CONFIG;
    private String configJson;
    private long seed = 1;
    private boolean prefix;
    private boolean maskBuffers;
    private Head head = Head.NONE;
    private String dtype = "F32";
    private final Map<String, int[]> reshaped = new LinkedHashMap<>();
    private final Map<String, String> retyped = new LinkedHashMap<>();
    private final Map<String, int[]> extra = new LinkedHashMap<>();
    private String omitted;
    private boolean sharded;

    TinyGpt2 config(Gpt2Config c) {
        config = c;
        return this;
    }

    /** Writes this text as config.json instead of the one derived from the config. */
    TinyGpt2 configJson(String json) {
        configJson = json;
        return this;
    }

    TinyGpt2 seed(long s) {
        seed = s;
        return this;
    }

    TinyGpt2 prefix(boolean p) {
        prefix = p;
        return this;
    }

    TinyGpt2 maskBuffers(boolean m) {
        maskBuffers = m;
        return this;
    }

    TinyGpt2 head(Head h) {
        head = h;
        return this;
    }

    /** F32, F16 or BF16 for every weight. */
    TinyGpt2 dtype(String d) {
        dtype = d;
        return this;
    }

    /**
     * Writes two shards, {@link #SHARD_1} (the first half of the tensors in table order) and
     * {@link #SHARD_2} (the rest, the buffers, the head and extras), and the index naming them, as
     * Hugging Face's {@code save_pretrained(max_shard_size = …)} does, instead of one model.safetensors.
     */
    TinyGpt2 sharded(boolean s) {
        sharded = s;
        return this;
    }

    static final String SHARD_1 = "model-00001-of-00002.safetensors";
    static final String SHARD_2 = "model-00002-of-00002.safetensors";

    TinyGpt2 omit(String name) {
        omitted = name;
        return this;
    }

    TinyGpt2 reshape(String name, int... shape) {
        reshaped.put(name, shape);
        return this;
    }

    TinyGpt2 retype(String name, String type) {
        retyped.put(name, type);
        return this;
    }

    TinyGpt2 extra(String name, int... shape) {
        extra.put(name, shape);
        return this;
    }

    /**
     * Writes the checkpoint into {@code dir} and returns the values a loader must produce: every
     * tensor by HF name (no prefix), after rounding through the stored dtype.
     */
    Map<String, float[]> write(Path dir) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        config.spec().model().weights().shapes().forEach((name, shape) -> {
            int[] s = reshaped.getOrDefault(name, shape);
            float[] v = new float[Math.toIntExact(count(s))];
            boolean gain = name.endsWith("ln_1.weight") || name.endsWith("ln_2.weight") || name.endsWith("ln_f.weight");
            for (int i = 0; i < v.length; i++) {
                v[i] = roundTrip((float) ((gain ? 1 : 0) + 0.02 * rnd.nextGaussian()));
            }
            values.put(name, v);
            shapes.put(name, s);
        });
        Raw first = new Raw();
        Raw raw = sharded ? new Raw() : first;
        Map<String, String> weightMap = new LinkedHashMap<>();
        String p = prefix ? PREFIX : "";
        int index = 0;
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            if (e.getKey().equals(omitted)) {
                continue;
            }
            if (sharded && index++ < values.size() / 2) {
                first.add(p + e.getKey(), retyped.getOrDefault(e.getKey(), dtype), shapes.get(e.getKey()), e.getValue());
                weightMap.put(p + e.getKey(), SHARD_1);
                continue;
            }
            weightMap.put(p + e.getKey(), SHARD_2);
            raw.add(p + e.getKey(), retyped.getOrDefault(e.getKey(), dtype), shapes.get(e.getKey()), e.getValue());
            if (maskBuffers && e.getKey().endsWith("attn.c_attn.bias")) {
                String layer = e.getKey().substring(0, e.getKey().length() - "c_attn.bias".length());
                int n = config.positions();
                float[] mask = new float[n * n];
                for (int r = 0; r < n; r++) {
                    for (int c = 0; c <= r; c++) {
                        mask[r * n + c] = 1;
                    }
                }
                raw.add(p + layer + "bias", "F32", new int[] {1, 1, n, n}, mask);
                raw.add(p + layer + "masked_bias", "F32", new int[] {}, new float[] {-1e4f});
            }
        }
        if (head != Head.NONE) {
            float[] h = values.get("wte.weight").clone();
            if (head == Head.UNTIED) {
                h[3] += 0.5f;
            }
            raw.add("lm_head.weight", dtype, shapes.get("wte.weight"), h);
        }
        extra.forEach((name, shape) -> raw.add(name, "F32", shape, new float[Math.toIntExact(count(shape))]));
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(HfCheckpoint.CONFIG_FILE),
                    configJson != null ? configJson : new String(config.toJson(), StandardCharsets.UTF_8));
            if (sharded) {
                Files.write(dir.resolve(SHARD_1), first.bytes());
                Files.write(dir.resolve(SHARD_2), raw.bytes());
                ObjectNode idx = new ObjectMapper().createObjectNode();
                idx.putObject("metadata").put("total_size", 4L * config.parameterCount());
                ObjectNode map = idx.putObject("weight_map");
                weightMap.forEach(map::put);
                Files.writeString(dir.resolve(HfCheckpoint.INDEX_FILE), idx.toPrettyString());
            } else {
                Files.write(dir.resolve(HfCheckpoint.WEIGHTS_FILE), raw.bytes());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return values;
    }

    private float roundTrip(float v) {
        return switch (dtype) {
            case "F16" -> Float.float16ToFloat(Float.floatToFloat16(v));
            case "BF16" -> Float.intBitsToFloat(bf16(v) << 16);
            default -> v;
        };
    }

    /** Round to nearest even on the upper 16 bits (finite inputs). */
    static int bf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        return (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16;
    }

    private static long count(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    /** A safetensors file assembled by hand: header JSON padded to 8 bytes, little-endian data. */
    static final class Raw {
        private final ObjectNode header = new ObjectMapper().createObjectNode();
        private final ByteArrayOutputStream data = new ByteArrayOutputStream();

        Raw add(String name, String dtype, int[] shape, float[] v) {
            int size = switch (dtype) {
                case "F32", "I32" -> 4;
                case "F16", "BF16" -> 2;
                default -> throw new IllegalArgumentException(dtype);
            };
            ByteBuffer b = ByteBuffer.allocate(v.length * size).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : v) {
                switch (dtype) {
                    case "F32" -> b.putFloat(x);
                    case "I32" -> b.putInt((int) x);
                    case "F16" -> b.putShort(Float.floatToFloat16(x));
                    default -> b.putShort((short) bf16(x));
                }
            }
            ObjectNode t = header.putObject(name);
            t.put("dtype", dtype);
            ArrayNode s = t.putArray("shape");
            for (int d : shape) {
                s.add(d);
            }
            t.putArray("data_offsets").add(data.size()).add(data.size() + b.capacity());
            data.writeBytes(b.array());
            return this;
        }

        byte[] bytes() {
            byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
            int padded = (json.length + 7) & ~7;
            ByteBuffer out = ByteBuffer.allocate(8 + padded + data.size()).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(padded).put(json);
            for (int i = json.length; i < padded; i++) {
                out.put((byte) ' ');
            }
            return out.put(data.toByteArray()).array();
        }
    }
}
