package dev.nola.adapter.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.io.Echo;
import dev.nola.io.TooLargeException;
import dev.nola.io.UntrustedJson;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds a safetensors file in memory: tensors are laid out contiguously in the order added, the
 * header is padded with spaces to a multiple of 8 bytes so the data section is aligned. Tensor names
 * follow {@link Names#TENSOR} (the rule {@link SafeTensorsReader} applies). Sizes are counted in
 * {@code long}: a tensor or a file larger than one Java array is refused by name, never wrapped.
 */
public final class SafeTensorsWriter {

    private record Entry(String name, DType dtype, int[] shape, byte[] data) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    /** Adds a F32 tensor; values must be finite and as many as the shape holds. */
    public SafeTensorsWriter f32(String name, int[] shape, float[] values) {
        Names.TENSOR.require("tensor", name);
        long n = elements(name, shape);
        if (values.length != n) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + java.util.Arrays.toString(shape)
                    + " (" + n + " elements) but " + values.length + " values");
        }
        long bytes = (long) values.length * Float.BYTES;
        if (bytes > SafeTensorsReader.MAX_ARRAY) {
            throw new TooLargeException("tensor '" + name + "' of shape " + java.util.Arrays.toString(shape) + " is "
                    + Echo.bytes(bytes) + "; a file built in memory holds at most " + Echo.bytes(SafeTensorsReader.MAX_ARRAY));
        }
        ByteBuffer b = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new IllegalArgumentException("tensor '" + name + "' value " + i + " is " + values[i]
                        + "; only finite values are written");
            }
            b.putFloat(values[i]);
        }
        return add(new Entry(name, DType.F32, shape.clone(), b.array()));
    }

    /**
     * Adds a BF16 tensor: each finite float32 rounded to bfloat16 (the top 16 bits of a float32) to
     * nearest, ties to even, as PyTorch's {@code .bfloat16()} does. A value that rounds to infinity
     * (|x| above about 3.3961e38) is refused.
     */
    public SafeTensorsWriter bf16(String name, int[] shape, float[] values) {
        return half(name, shape, values, DType.BF16);
    }

    /**
     * Adds an F16 tensor: each finite float32 rounded to IEEE half precision to nearest, ties to even
     * (subnormals kept), as PyTorch's {@code .half()} does. A value that rounds to infinity (|x| ≥ 65520)
     * is refused.
     */
    public SafeTensorsWriter f16(String name, int[] shape, float[] values) {
        return half(name, shape, values, DType.F16);
    }

    /**
     * Adds a tensor in one of the float dtypes a checkpoint stores: {@link DType#F32}, {@link DType#F16}
     * or {@link DType#BF16}.
     */
    public SafeTensorsWriter floats(String name, DType dtype, int[] shape, float[] values) {
        return switch (dtype) {
            case F32 -> f32(name, shape, values);
            case F16, BF16 -> half(name, shape, values, dtype);
            default -> throw new IllegalArgumentException("tensor '" + name + "': cannot write floats as " + dtype
                    + "; expected F32, F16 or BF16");
        };
    }

    /** The bfloat16 bits of a float32, rounded to nearest, ties to even (a NaN stays a quiet NaN). */
    public static short bf16Bits(float f) {
        return dev.nola.kernels.BFloat16.round(f);
    }

    /** The IEEE half-precision bits of a float32, rounded to nearest, ties to even. */
    public static short f16Bits(float f) {
        return Float.floatToFloat16(f);
    }

    private SafeTensorsWriter half(String name, int[] shape, float[] values, DType dtype) {
        Names.TENSOR.require("tensor", name);
        long n = elements(name, shape);
        if (values.length != n) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + java.util.Arrays.toString(shape)
                    + " (" + n + " elements) but " + values.length + " values");
        }
        long bytes = (long) values.length * 2;
        if (bytes > SafeTensorsReader.MAX_ARRAY) {
            throw new TooLargeException("tensor '" + name + "' of shape " + java.util.Arrays.toString(shape) + " is "
                    + Echo.bytes(bytes) + "; a file built in memory holds at most " + Echo.bytes(SafeTensorsReader.MAX_ARRAY));
        }
        ByteBuffer b = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("tensor '" + name + "' value " + i + " is " + v + "; only finite values are written");
            }
            short h = dtype == DType.BF16 ? bf16Bits(v) : f16Bits(v);
            float back = dtype == DType.BF16 ? Float.intBitsToFloat(h << 16) : Float.float16ToFloat(h);
            if (Float.isInfinite(back)) {
                throw new IllegalArgumentException("tensor '" + name + "' value " + i + " is " + v + ", which is infinite as "
                        + dtype + "; only values that stay finite are written");
            }
            b.putShort(h);
        }
        return add(new Entry(name, dtype, shape.clone(), b.array()));
    }

    /** Adds a U8 tensor of shape [bytes.length]. */
    public SafeTensorsWriter u8(String name, byte[] bytes) {
        int[] shape = {bytes.length};
        return add(new Entry(name, DType.U8, shape, bytes.clone()));
    }

    private SafeTensorsWriter add(Entry e) {
        Names.TENSOR.require("tensor", e.name());
        if (!names.add(e.name())) {
            throw new IllegalArgumentException("tensor '" + e.name() + "' was added twice");
        }
        entries.add(e);
        return this;
    }

    private static long elements(String name, int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has a negative extent in "
                        + java.util.Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * The file's bytes, with the given {@code __metadata__} (omitted when empty). Its keys are written
     * sorted, whatever the map's iteration order ({@code Map.of}'s changes from one JVM to the next), so
     * the same tensors and metadata give the same bytes in every run, resumed or not.
     */
    public byte[] toBytes(Map<String, String> metadata) {
        ObjectNode header = UntrustedJson.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            new java.util.TreeMap<>(metadata).forEach(m::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", e.dtype().name());
            ArrayNode s = t.putArray("shape");
            for (int d : e.shape()) {
                s.add(d);
            }
            ArrayNode o = t.putArray("data_offsets");
            o.add(offset);
            offset += e.data().length;
            o.add(offset);
        }
        byte[] json;
        try {
            json = UntrustedJson.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a safetensors header", e);
        }
        int padded = (json.length + 7) / 8 * 8;
        long size = 8 + padded + offset;
        if (size > SafeTensorsReader.MAX_ARRAY) {
            throw new TooLargeException("a safetensors file of " + entries.size() + " tensors would be " + Echo.bytes(size)
                    + "; a file built in memory holds at most " + Echo.bytes(SafeTensorsReader.MAX_ARRAY));
        }
        ByteBuffer out = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (Entry e : entries) {
            out.put(e.data());
        }
        return out.array();
    }
}
