package dev.nola.adapter.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a safetensors file, treating it as untrusted: an 8-byte little-endian header length N, N bytes
 * of JSON header {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}},
 * then the data section.
 *
 * <p>Checks before anything is allocated from a length in the file: 0 &lt; N ≤ the header limit and ≤
 * file size − 8; every entry has exactly the three fields, a known dtype, non-negative int extents
 * and offsets with begin ≤ end ≤ data size; end − begin = product(shape)·dtype size (computed with
 * overflow checks); no two non-empty tensors overlap. Tensor data is read on demand with bounded reads.
 * Every violation is an {@link InvalidFileException} naming the source and the field.
 */
public final class SafeTensorsReader implements AutoCloseable {

    /** The default bound on the header length: 100 MB. */
    public static final long DEFAULT_MAX_HEADER = 100L * 1000 * 1000;
    private static final String METADATA = "__metadata__";

    private final SeekableByteChannel channel;
    private final String source;
    private final long headerLength;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensorsReader(SeekableByteChannel channel, String source, long maxHeader) throws IOException {
        this.channel = channel;
        this.source = source;
        long size = channel.size();
        if (size < 8) {
            throw bad("file is " + size + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(0, len);
        long n = len.flip().getLong();
        if (n <= 0 || n > maxHeader || n > size - 8) {
            throw bad("header length " + n + " is out of range; expected 1.." + Math.min(maxHeader, size - 8)
                    + " (limit " + maxHeader + ", file size " + size + " − 8)");
        }
        headerLength = n;
        dataStart = 8 + n;
        ByteBuffer header = ByteBuffer.allocate((int) n);
        readFully(8, header);
        JsonNode root = JsonSupport.parse(header.array(), source + ": header");
        if (!root.isObject()) {
            throw bad("header is a JSON " + root.getNodeType() + ", expected an object");
        }
        long dataSize = size - dataStart;
        Map<String, TensorInfo> t = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (e.getKey().equals(METADATA)) {
                readMetadata(e.getValue(), meta);
            } else {
                t.put(e.getKey(), entry(e.getKey(), e.getValue(), dataSize));
            }
        }
        checkOverlaps(t);
        tensors = Collections.unmodifiableMap(t);
        metadata = Collections.unmodifiableMap(meta);
    }

    /** Opens a file with the default header limit. */
    public static SafeTensorsReader open(Path file) {
        return open(file, DEFAULT_MAX_HEADER);
    }

    /** Opens a file with a header limit in bytes. */
    public static SafeTensorsReader open(Path file, long maxHeader) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file + ": " + e.getMessage(), e);
        }
        return of(ch, file.toString(), maxHeader);
    }

    /** Reads a file held in memory. */
    public static SafeTensorsReader fromBytes(byte[] data, String source) {
        return of(new ByteArrayChannel(data), source, DEFAULT_MAX_HEADER);
    }

    private static SafeTensorsReader of(SeekableByteChannel ch, String source, long maxHeader) {
        try {
            return new SafeTensorsReader(ch, source, maxHeader);
        } catch (IOException e) {
            close(ch);
            throw new UncheckedIOException("cannot read " + source + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close(ch);
            throw e;
        }
    }

    private static void close(SeekableByteChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // the read already failed; that failure is the one to report
        }
    }

    private void readMetadata(JsonNode node, Map<String, String> meta) {
        if (!node.isObject()) {
            throw bad(METADATA + " is a JSON " + node.getNodeType() + ", expected an object of strings");
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw bad(METADATA + "." + DType.abbreviate(e.getKey()) + " is a JSON " + e.getValue().getNodeType()
                        + ", expected a string");
            }
            meta.put(e.getKey(), e.getValue().textValue());
        }
    }

    private TensorInfo entry(String name, JsonNode node, long dataSize) {
        String where = "tensor '" + DType.abbreviate(name) + "'";
        if (!node.isObject()) {
            throw bad(where + " is a JSON " + node.getNodeType() + ", expected an object");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("dtype") && !f.equals("shape") && !f.equals("data_offsets")) {
                throw bad(where + " has an unknown field '" + DType.abbreviate(f) + "'; expected dtype, shape, data_offsets");
            }
        }
        JsonNode dt = node.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw bad(where + ": dtype is missing or not a string");
        }
        DType dtype;
        try {
            dtype = DType.parse(dt.textValue());
        } catch (InvalidFileException e) {
            throw bad(where + ": " + e.getMessage());
        }
        JsonNode sh = node.get("shape");
        if (sh == null || !sh.isArray() || sh.size() > 16) {
            throw bad(where + ": shape is missing, not an array, or has more than 16 dimensions");
        }
        int[] shape = new int[sh.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToInt() || d.intValue() < 0) {
                throw bad(where + ": shape[" + i + "] = " + d + " is not an integer in [0, " + Integer.MAX_VALUE + "]");
            }
            shape[i] = d.intValue();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException ex) {
                throw bad(where + ": shape " + sh + " has more elements than a long holds");
            }
        }
        JsonNode off = node.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2) {
            throw bad(where + ": data_offsets is missing or not an array of two integers");
        }
        long[] o = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode d = off.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw bad(where + ": data_offsets[" + i + "] = " + d + " is not a non-negative integer");
            }
            o[i] = d.longValue();
        }
        if (o[0] > o[1] || o[1] > dataSize) {
            throw bad(where + ": data_offsets [" + o[0] + ", " + o[1] + "] are not within the data section of "
                    + dataSize + " bytes (expected begin <= end <= " + dataSize + ")");
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(elements, dtype.bytes());
        } catch (ArithmeticException ex) {
            throw bad(where + ": shape " + sh + " of " + dtype + " overflows a byte count");
        }
        if (bytes != o[1] - o[0]) {
            throw bad(where + ": shape " + sh + " of " + dtype + " needs " + bytes + " bytes, but data_offsets ["
                    + o[0] + ", " + o[1] + "] hold " + (o[1] - o[0]));
        }
        return new TensorInfo(name, dtype, shape, o[0], o[1]);
    }

    private void checkOverlaps(Map<String, TensorInfo> t) {
        List<TensorInfo> sorted = new ArrayList<>();
        for (TensorInfo i : t.values()) {
            if (i.byteCount() > 0) {
                sorted.add(i);
            }
        }
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo p = sorted.get(i - 1);
            TensorInfo c = sorted.get(i);
            if (c.begin() < p.end()) {
                throw bad("tensors '" + DType.abbreviate(p.name()) + "' [" + p.begin() + ", " + p.end() + ") and '"
                        + DType.abbreviate(c.name()) + "' [" + c.begin() + ", " + c.end() + ") overlap");
            }
        }
    }

    private InvalidFileException bad(String what) {
        return new InvalidFileException(source + ": " + what);
    }

    private void readFully(long position, ByteBuffer dst) throws IOException {
        long p = position;
        while (dst.hasRemaining()) {
            channel.position(p);
            int n = channel.read(dst);
            if (n < 0) {
                throw bad("unexpected end of file at byte " + p);
            }
            p += n;
        }
    }

    /** Where the file came from, for messages. */
    public String source() {
        return source;
    }

    /** N, the header's length in bytes. */
    public long headerLength() {
        return headerLength;
    }

    /** The tensors in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} strings (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** A tensor's entry, or an exception naming what exists. */
    public TensorInfo tensor(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw bad("no tensor named '" + DType.abbreviate(name) + "'; the file holds " + tensors.size() + " tensors"
                    + (tensors.size() <= 8 ? " " + tensors.keySet() : ""));
        }
        return t;
    }

    /** A tensor's raw little-endian bytes. */
    public byte[] readBytes(String name) {
        TensorInfo t = tensor(name);
        if (t.byteCount() > Integer.MAX_VALUE - 8) {
            throw bad("tensor '" + DType.abbreviate(name) + "' has " + t.byteCount() + " bytes, more than one array holds");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) t.byteCount());
        try {
            readFully(dataStart + t.begin(), buf);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + source + ": " + e.getMessage(), e);
        }
        return buf.array();
    }

    /** A tensor as float32 values, converted from F32, F16 or BF16. */
    public float[] readFloats(String name) {
        TensorInfo t = tensor(name);
        ByteBuffer b = ByteBuffer.wrap(switch (t.dtype()) {
            case F32, F16, BF16 -> readBytes(name);
            default -> throw bad("tensor '" + DType.abbreviate(name) + "' is " + t.dtype() + "; expected F32, F16 or BF16");
        }).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) t.elements()];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (t.dtype()) {
                case F32 -> b.getFloat();
                case F16 -> Float.float16ToFloat(b.getShort());
                default -> Float.intBitsToFloat((b.getShort() & 0xFFFF) << 16);
            };
        }
        return out;
    }

    @Override
    public void close() {
        close(channel);
    }
}
