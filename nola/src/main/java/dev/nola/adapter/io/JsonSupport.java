package dev.nola.adapter.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;

/**
 * The one JSON mapper of the file formats, configured for untrusted input: bounded nesting, string,
 * name and number lengths, duplicate keys and trailing tokens rejected.
 */
final class JsonSupport {

    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(32)
                            .maxStringLength(1 << 20)
                            .maxNameLength(1 << 16)
                            .maxNumberLength(64)
                            .maxDocumentLength(200L << 20)
                            .build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonParser.Feature.ALLOW_COMMENTS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private JsonSupport() {
    }

    /**
     * The heap a parsed tree may take per byte of JSON: Jackson's nodes, their lists and strings.
     * An estimate on the generous side (nested empty arrays cost the most per byte), used to refuse a document before
     * parsing it rather than to run out of memory while parsing.
     */
    static final long HEAP_PER_BYTE = 24;

    /** Parses untrusted JSON, any failure as an {@link InvalidFileException} naming {@code what}. */
    static JsonNode parse(byte[] json, String what) {
        SizeBudget.requireHeap(what, "parsing " + json.length + " bytes of JSON", SizeBudget.times(json.length, HEAP_PER_BYTE));
        try {
            JsonNode n = MAPPER.readTree(json);
            if (n == null || n.isMissingNode()) {
                throw new InvalidFileException(what + " is empty; expected a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new InvalidFileException(what + " is not valid JSON: " + describe(e), e);
        }
    }

    /**
     * A parse error in words, with its position: Jackson's message without the source excerpt on its
     * later lines and without the names of its own classes and methods (which a limit's message cites).
     */
    static String describe(IOException e) {
        String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        if (m == null) {
            m = "(no detail)";
        }
        int nl = m.indexOf('\n');
        m = nl < 0 ? m : m.substring(0, nl);
        if (m.startsWith("Trailing token")) {
            m = "more content follows the end of the JSON value";
        }
        m = m.replaceAll(",? *from `[^`]*`", "").replaceAll("`[^`]*`", "a limit of this reader").strip();
        String at = "";
        if (e instanceof JsonProcessingException j && j.getLocation() != null && j.getLocation().getLineNr() > 0) {
            at = " (line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr() + ")";
        }
        return shortened(Echo.line(m)) + at;
    }

    private static String shortened(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }
}
