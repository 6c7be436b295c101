package dev.nola.adapter.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
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

    /** Parses untrusted JSON, any failure as an {@link InvalidFileException} naming {@code what}. */
    static JsonNode parse(byte[] json, String what) {
        try {
            JsonNode n = MAPPER.readTree(json);
            if (n == null || n.isMissingNode()) {
                throw new InvalidFileException(what + " is empty; expected a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new InvalidFileException(what + " is not valid JSON: " + firstLine(e.getMessage()), e);
        }
    }

    static String firstLine(String s) {
        if (s == null) {
            return "(no detail)";
        }
        int i = s.indexOf('\n');
        return DType.abbreviate(i < 0 ? s : s.substring(0, i));
    }
}
