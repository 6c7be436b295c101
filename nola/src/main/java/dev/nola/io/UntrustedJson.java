package dev.nola.io;

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
 * JSON from files that may be hostile: one mapper for every reader and writer of the project's JSON
 * (adapter configs, safetensors headers, checkpoints, {@code config.json}, JSONL records). Reading is
 * bounded: nesting depth 32, strings 1 MiB, names 64 KiB, numbers 64 characters, a document 200 MiB;
 * duplicate keys, comments and content after the value are refused; and the heap a parsed tree needs
 * is checked before parsing ({@link #HEAP_PER_BYTE}). Writing indents.
 */
public final class UntrustedJson {

    /**
     * The mapper, configured as above. Read untrusted bytes through {@link #parse}, which adds the heap
     * check and the messages; use the mapper directly to build and write JSON, or to read JSON this
     * program wrote itself.
     */
    public static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
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
            // a fraction or exponent is kept as a BigDecimal, so 1e309 is not read as Infinity and a message can
            // echo it as written (see written); doubleValue() still gives the nearest double (here Infinity)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(JsonParser.Feature.ALLOW_COMMENTS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            // a Map written as JSON has its keys sorted (ObjectNodes keep the order the code builds them in), so a
            // file's bytes never depend on a hash order that changes from one JVM to the next
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build();

    private UntrustedJson() {
    }

    /**
     * The heap a parsed tree may take per byte of JSON: Jackson's nodes, their lists and strings.
     * An estimate on the generous side (nested empty arrays cost the most per byte), used to refuse a document before
     * parsing it rather than to run out of memory while parsing.
     */
    public static final long HEAP_PER_BYTE = 24;

    /**
     * Parses untrusted JSON. The heap for the tree is checked first; any failure is one line naming
     * {@code where}: "WHERE: invalid JSON: REASON (line L, column C)" or "WHERE: no JSON value;
     * expected a JSON object".
     *
     * @param where the file, or the file and line ({@code "data.jsonl:3"}), as it should appear in messages
     * @return the value, never null or missing (it may be any JSON type; the caller checks which)
     * @throws InvalidFileException the bytes are not one JSON value within the limits
     * @throws TooLargeException the heap cannot hold the parsed tree
     */
    public static JsonNode parse(byte[] json, String where) {
        SizeBudget.requireHeap(where, "parsing " + json.length + " bytes of JSON", SizeBudget.times(json.length, HEAP_PER_BYTE));
        try {
            JsonNode n = MAPPER.readTree(json);
            if (n == null || n.isMissingNode()) {
                throw new InvalidFileException(where + ": no JSON value; expected a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new InvalidFileException(where + ": invalid JSON: " + describe(e), e);
        }
    }

    /**
     * A value as a message should echo it: numbers as written ({@code 1e309}, not "Infinity"; an exponent as
     * {@code e}, without a plus sign), anything else as its JSON text.
     */
    public static String written(JsonNode v) {
        if (v != null && v.isBigDecimal()) {
            return v.decimalValue().toString().replace("E+", "e").replace("E-", "e-");
        }
        return String.valueOf(v);
    }

    /**
     * A parse error in words, with its position: Jackson's message without the source excerpt on its
     * later lines and without the names of its own classes and methods (which a limit's message cites),
     * escaped to one line and shortened to 200 characters.
     */
    public static String describe(IOException e) {
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
            at = " (" + path(j) + "line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr() + ")";
        }
        return shortened(Echo.line(m)) + at;
    }

    /**
     * Where in the document the parser was, as {@code at layers[3].in, } (empty at the top level): so an error
     * inside an array element says which element, not only a line and column.
     */
    private static String path(JsonProcessingException e) {
        if (!(e instanceof com.fasterxml.jackson.core.exc.StreamReadException s)
                || !(s.getProcessor() instanceof JsonParser p) || p.getParsingContext() == null) {
            return "";
        }
        java.util.ArrayDeque<String> parts = new java.util.ArrayDeque<>();
        for (com.fasterxml.jackson.core.JsonStreamContext c = p.getParsingContext(); c != null && !c.inRoot(); c = c.getParent()) {
            if (c.inArray()) {
                parts.addFirst("[" + Math.max(0, c.getCurrentIndex()) + "]");
            } else if (c.getCurrentName() != null) {
                parts.addFirst("." + c.getCurrentName());
            }
        }
        String path = String.join("", parts);
        path = path.startsWith(".") ? path.substring(1) : path;
        return path.isEmpty() ? "" : "at " + Echo.value(path) + ", ";
    }

    private static String shortened(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }
}
