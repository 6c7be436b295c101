package dev.nola.adapter.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.io.Echo;
import dev.nola.io.FileErrors;
import dev.nola.io.InputFiles;
import dev.nola.io.InvalidFileException;
import dev.nola.io.SizeBudget;
import dev.nola.io.TooLargeException;
import dev.nola.io.UntrustedJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a safetensors file, treating it as untrusted: an 8-byte little-endian header length N
 * (unsigned), N bytes of UTF-8 JSON header {@code {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {str: str}}}, then the data section.
 *
 * <p>As strict as the format's reference implementation, and stricter where this project is: 0 &lt; N
 * ≤ the header limit and ≤ file size − 8, and the heap can hold the parsed header ({@link SizeBudget});
 * the header is valid UTF-8 and starts with {@code {}; every entry has exactly the three fields, a
 * known dtype, non-negative int extents and offsets with begin ≤ end ≤ data size; end − begin =
 * product(shape)·dtype size (computed with overflow checks); tensor names follow {@link Names#TENSOR};
 * and the tensors, ordered by offset, tile the data section exactly: the first begins at 0, each
 * begins where the previous ends (no gap, no overlap), the last ends at the end of the file (no
 * trailing bytes). Tensor data is read on demand, after a heap check. Every violation is an
 * {@link InvalidFileException} naming the source and the field; a read the heap cannot hold is a
 * {@link TooLargeException}.
 */
public final class SafeTensorsReader implements AutoCloseable {

    /** The default bound on the header length: 100 MB. */
    public static final long DEFAULT_MAX_HEADER = 100L * 1000 * 1000;
    private static final String METADATA = Names.RESERVED;
    /** The most elements (or bytes) one Java array holds. */
    static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

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
        // unsigned in the format: a length with the top bit set is a huge one, not a negative one
        if (n == 0 || Long.compareUnsigned(n, Math.min(maxHeader, size - 8)) > 0) {
            throw bad("header length " + Echo.unsigned(n) + " is out of range; expected 1.." + Math.min(maxHeader, size - 8)
                    + " (limit " + maxHeader + ", file size " + size + " - 8)");
        }
        headerLength = n;
        dataStart = 8 + n;
        SizeBudget.requireHeap(source, "parsing its header of " + n + " bytes", SizeBudget.times(n, UntrustedJson.HEAP_PER_BYTE));
        ByteBuffer header = ByteBuffer.allocate((int) n);
        readFully(8, header);
        JsonNode root = UntrustedJson.parse(requireUtf8Object(header.array()), source + ": header");
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
        checkTiling(t, dataSize);
        tensors = Collections.unmodifiableMap(t);
        metadata = Collections.unmodifiableMap(meta);
    }

    /** Opens a file with the default header limit. */
    public static SafeTensorsReader open(Path file) {
        return open(file, DEFAULT_MAX_HEADER);
    }

    /** Opens a file with a header limit in bytes; a path that is not a regular file is described. */
    public static SafeTensorsReader open(Path file, long maxHeader) {
        return of(InputFiles.open(file), Echo.path(file), maxHeader);
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
            throw new UncheckedIOException("cannot read " + source + ": " + FileErrors.describe(e), e);
        } catch (RuntimeException e) {
            close(ch);
            throw e;
        }
    }

    /** The header's bytes, refused unless they are UTF-8 and begin with '{' (as the reference reader requires). */
    private byte[] requireUtf8Object(byte[] header) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(header));
        } catch (CharacterCodingException e) {
            throw bad("header is not valid UTF-8");
        }
        if (header[0] != '{') {
            throw bad("header starts with byte 0x" + String.format("%02X", header[0] & 0xFF) + ", expected '{'");
        }
        return header;
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
                throw bad(METADATA + " entry " + Echo.quote(e.getKey()) + " is a JSON " + e.getValue().getNodeType()
                        + ", expected a string");
            }
            meta.put(e.getKey(), e.getValue().textValue());
        }
    }

    private TensorInfo entry(String name, JsonNode node, long dataSize) {
        Names.TENSOR.requireInFile(source, "", name);
        String where = "tensor " + Echo.quote(name);
        if (!node.isObject()) {
            throw bad(where + " is a JSON " + node.getNodeType() + ", expected an object");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("dtype") && !f.equals("shape") && !f.equals("data_offsets")) {
                throw bad(where + " has an unknown field " + Echo.quote(f) + "; expected dtype, shape, data_offsets");
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
            throw bad(where + ": " + e.getMessage(), e);
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
                throw bad(where + ": shape[" + i + "] = " + Echo.value(d.toString()) + " is not an integer in [0, "
                        + Integer.MAX_VALUE + "]");
            }
            shape[i] = d.intValue();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException ex) {
                throw bad(where + ": shape " + Echo.value(sh.toString()) + " has more elements than a long holds");
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
                throw bad(where + ": data_offsets[" + i + "] = " + Echo.value(d.toString()) + " is not an integer in [0, "
                        + Long.MAX_VALUE + "]");
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
            throw bad(where + ": shape " + Echo.value(sh.toString()) + " of " + dtype + " overflows a byte count");
        }
        if (bytes != o[1] - o[0]) {
            throw bad(where + ": shape " + Echo.value(sh.toString()) + " of " + dtype + " needs " + bytes + " bytes, but data_offsets ["
                    + o[0] + ", " + o[1] + "] hold " + (o[1] - o[0]));
        }
        return new TensorInfo(name, dtype, shape, o[0], o[1]);
    }

    /**
     * The tensors, ordered by (begin, end), must tile [0, dataSize): no gap, no overlap, nothing after
     * the last one. Zero-size tensors take part (they sit at a boundary or they are refused).
     */
    private void checkTiling(Map<String, TensorInfo> t, long dataSize) {
        List<TensorInfo> sorted = new ArrayList<>(t.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long at = 0;
        TensorInfo previous = null;
        for (TensorInfo c : sorted) {
            if (c.begin() != at) {
                String after = previous == null ? "the start of the data section"
                        : "tensor " + Echo.quote(previous.name()) + ", which ends at " + at;
                throw bad("tensor " + Echo.quote(c.name()) + " begins at data offset " + c.begin() + ", "
                        + (c.begin() > at ? "leaving a gap of " + (c.begin() - at) + " bytes after " + after
                        : "overlapping " + after + ", by " + (at - c.begin()) + " bytes")
                        + "; tensors must be stored back to back from offset 0");
            }
            at = c.end();
            previous = c;
        }
        if (at != dataSize) {
            throw bad("the data section holds " + dataSize + " bytes but the tensors end at " + at + "; "
                    + (dataSize - at) + " trailing bytes follow the last tensor");
        }
    }

    private InvalidFileException bad(String what) {
        return new InvalidFileException(source + ": " + what);
    }

    private InvalidFileException bad(String what, Throwable cause) {
        return new InvalidFileException(source + ": " + what, cause);
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
            throw bad("no tensor named " + Echo.quote(name) + "; the file holds " + tensors.size() + " tensors"
                    + (tensors.size() <= 8 ? " " + tensors.keySet() : ""));
        }
        return t;
    }

    /** A tensor's raw little-endian bytes, after checking that the heap can hold them. */
    public byte[] readBytes(String name) {
        TensorInfo t = tensor(name);
        requireArray(t, t.byteCount(), "its " + t.byteCount() + " bytes");
        SizeBudget.requireHeap(source, "tensor " + Echo.quote(name), t.byteCount());
        return read(t);
    }

    private byte[] read(TensorInfo t) {
        ByteBuffer buf = ByteBuffer.allocate((int) t.byteCount());
        try {
            readFully(dataStart + t.begin(), buf);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + source + ": " + FileErrors.describe(e), e);
        }
        return buf.array();
    }

    private void requireArray(TensorInfo t, long count, String what) {
        if (count > MAX_ARRAY) {
            throw new TooLargeException(source + ": tensor " + Echo.quote(t.name()) + ": " + what
                    + " are more than one Java array holds (" + MAX_ARRAY + ")");
        }
    }

    /** A tensor as float32 values, converted from F32, F16 or BF16, after checking that the heap can hold them. */
    public float[] readFloats(String name) {
        TensorInfo t = tensor(name);
        switch (t.dtype()) {
            case F32, F16, BF16 -> { }
            default -> throw bad("tensor " + Echo.quote(name) + " is " + t.dtype() + "; expected F32, F16 or BF16");
        }
        requireArray(t, t.elements(), "its " + t.elements() + " elements");
        SizeBudget.of(source).addBytes("tensor " + Echo.quote(name), t.byteCount())
                .addFloats("tensor " + Echo.quote(name) + " as float32", t.elements()).requireOnHeap();
        ByteBuffer b = ByteBuffer.wrap(read(t)).order(ByteOrder.LITTLE_ENDIAN);
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
