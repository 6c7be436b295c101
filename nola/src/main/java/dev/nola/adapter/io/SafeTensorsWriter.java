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
