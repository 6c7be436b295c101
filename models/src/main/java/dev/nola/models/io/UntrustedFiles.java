package dev.nola.models.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.nola.adapter.io.InvalidFileException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reading files that may be hostile: sizes are checked before anything is allocated from them, and
 * JSON is parsed with bounds on depth, string, name and number lengths, duplicate keys and trailing
 * content refused. Failures are {@link InvalidFileException}s (bad content) or
 * {@link UncheckedIOException}s (the file could not be read), each naming the file.
 */
public final class UntrustedFiles {

    /** The largest file held in one byte array: 2³¹ − 9 bytes. */
    public static final long MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8;

    /** The JSON mapper for untrusted input; it also writes (indented) the JSON files of this module. */
    public static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(64)
                            .maxStringLength(64 << 20)
                            .maxNameLength(1 << 16)
                            .maxNumberLength(100)
                            .build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonParser.Feature.ALLOW_COMMENTS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private UntrustedFiles() {
    }

    /**
     * The whole content of {@code file}, refused when it is larger than {@code maxBytes} (checked on
     * the file's size before reading, and again while reading, in case the file grows).
     */
    public static byte[] readAll(Path file, long maxBytes) {
        long limit = Math.min(maxBytes, MAX_ARRAY_BYTES);
        try {
            long size = Files.size(file);
            if (size > limit) {
                throw new InvalidFileException(file + ": file is " + size + " bytes; expected at most " + limit);
            }
            try (InputStream in = Files.newInputStream(file)) {
                byte[] data = in.readNBytes((int) size);
                if (data.length != size || in.read() >= 0) {
                    throw new InvalidFileException(file + ": file changed size while being read (expected " + size
                            + " bytes)");
                }
                return data;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + FileErrors.describe(e), e);
        }
    }

    /** Parses a JSON document; {@code where} (a file, or a file and line) prefixes any error. */
    public static JsonNode parseJson(byte[] json, String where) {
        try {
            JsonNode n = JSON.readTree(json);
            if (n == null || n.isMissingNode()) {
                throw new InvalidFileException(where + ": no JSON value; expected a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new InvalidFileException(where + ": invalid JSON: " + jsonProblem(e), e);
        }
    }

    /** The first line of a JSON parser's message, without its source excerpt. */
    static String jsonProblem(IOException e) {
        String m = e.getMessage() == null ? "unreadable" : e.getMessage();
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl);
        }
        return m.length() <= 200 ? m : m.substring(0, 200) + "…";
    }

    /** {@code s} shortened to at most 64 characters, for quoting untrusted values in messages. */
    public static String quote(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "…(" + s.length() + " chars)";
    }
}
