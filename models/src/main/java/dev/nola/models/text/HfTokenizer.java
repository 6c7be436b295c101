package dev.nola.models.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.InvalidFileException;
import dev.nola.io.UntrustedJson;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A Hugging Face fast tokenizer ({@code tokenizer.json}, BPE models: the byte-level BPE of Llama 3 and
 * Qwen2, the SentencePiece-style BPE with byte fallback of Llama 2, TinyLlama and Mistral) with the
 * special tokens of {@code tokenizer_config.json}, run by DJL's binding of the Rust {@code tokenizers}
 * library (loaded offline, see {@code DjlTokenizers}).
 *
 * <p>Both files are untrusted: they are read through {@link InputFiles#readAll} within
 * {@link #MAX_TOKENIZER_BYTES} and {@link #MAX_CONFIG_BYTES}, parsed by {@link UntrustedJson} and their
 * structure checked (model type BPE, vocabulary ids, added tokens, the special tokens' types and that
 * the vocabulary has them) before the validated bytes go to the native library; any problem is one
 * line naming the file and the field.
 *
 * <p>Encoding treats all text as ordinary text, as {@link Tokenizer} requires: the Rust library
 * matches the added tokens in raw text even when it is told not to add special tokens (so
 * {@code "<s>"} in a data file would become the control id 1), hence the text is encoded by a second
 * native tokenizer built from the same file with its special added tokens removed (non-special added
 * tokens stay), which encodes {@code "<s>"} by the model's merges and byte fallback like any text.
 * {@link #encodeWithSpecialTokens} adds bos and eos as the model expects: by {@code add_bos_token} /
 * {@code add_eos_token} where {@code tokenizer_config.json} has them (Llama 2, Mistral), else by the
 * {@code TemplateProcessing} post-processor of {@code tokenizer.json} (Llama 3 adds
 * {@code <|begin_of_text|>} there; Qwen2 has none, so adds nothing). Decoding skips nothing: special
 * ids decode to their text, and an id that names no token is refused rather than dropped.
 *
 * <p>{@link #vocabularySize()} is the tokenizer's (the largest id of the vocabulary and the added tokens,
 * plus one); a model's embedding may be larger (padded), which its caller compares. Thread-safe; the
 * native tokenizers are freed when this object is collected.
 */
public final class HfTokenizer implements Tokenizer {

    /** The tokenizer's file in a model directory. */
    public static final String TOKENIZER_FILE = "tokenizer.json";
    /** The special tokens' file in a model directory. */
    public static final String CONFIG_FILE = "tokenizer_config.json";
    /** The largest {@code tokenizer.json} read: 64 MiB (Llama 3's is 9 MB, Qwen2's 7 MB). */
    public static final long MAX_TOKENIZER_BYTES = 64L << 20;
    /** The largest {@code tokenizer_config.json} read: 4 MiB (it holds the chat template). */
    public static final long MAX_CONFIG_BYTES = 4L << 20;
    /** The most token ids a tokenizer may have: 2²⁴ (Qwen2's 151,665 is far below). */
    public static final int MAX_IDS = 1 << 24;

    private final String source;
    private final HuggingFaceTokenizer encoder;
    private final HuggingFaceTokenizer decoder;
    private final BitSet ids;
    private final int vocabularySize;
    private final Map<String, Integer> tokenIds;
    private final int eos;
    private final OptionalInt bos;
    private final boolean addBos;
    private final boolean addEos;

    private HfTokenizer(String source, HuggingFaceTokenizer encoder, HuggingFaceTokenizer decoder, BitSet ids,
            Map<String, Integer> tokenIds, int eos, OptionalInt bos, boolean addBos, boolean addEos) {
        this.source = source;
        this.encoder = encoder;
        this.decoder = decoder;
        this.ids = ids;
        this.vocabularySize = ids.length();
        this.tokenIds = tokenIds;
        this.eos = eos;
        this.bos = bos;
        this.addBos = addBos;
        this.addEos = addEos;
    }

    /**
     * Loads {@code dir}'s {@value #TOKENIZER_FILE} and {@value #CONFIG_FILE}.
     *
     * @throws InvalidFileException a file is missing, too large, not JSON, of the wrong structure, a
     *                              symbolic link leading outside {@code dir}, or names a special token its
     *                              vocabulary lacks (one line naming the file and field)
     * @throws dev.nola.io.TooLargeException the heap cannot hold the parsed file
     * @throws IllegalStateException DJL's native library cannot be loaded on this platform
     */
    public static HfTokenizer load(Path dir) {
        InputFiles.requireDirectory(dir, "a model directory holding " + TOKENIZER_FILE);
        Path file = dir.resolve(TOKENIZER_FILE);
        Path configFile = dir.resolve(CONFIG_FILE);
        String where = Echo.path(file);
        // nothing outside the model directory is read: a link out of it is refused, as a checkpoint's files are
        InputFiles.requireInside(dir, file, "the model directory");
        InputFiles.requireInside(dir, configFile, "the model directory");
        byte[] bytes = InputFiles.readAll(file, MAX_TOKENIZER_BYTES, UntrustedJson.HEAP_PER_BYTE);
        JsonNode root = UntrustedJson.parse(bytes, where);
        Vocabulary v = Vocabulary.of(root, where);
        SpecialTokens s = SpecialTokens.read(configFile, v, templateEnds(root.get("post_processor")));

        HuggingFaceTokenizer decoder = DjlTokenizers.create(bytes, where);
        HuggingFaceTokenizer encoder = v.hasSpecialAdded ? DjlTokenizers.create(withoutSpecialAdded(root, where), where)
                : decoder;
        return new HfTokenizer(where, encoder, decoder, v.ids, v.tokenIds, s.eos, s.bos, s.addBos, s.addEos);
    }

    /**
     * The token ids of {@code text} as ordinary text: no bos or eos added, and special-token text
     * ({@code "<s>"}, {@code "<|endoftext|>"}) encoded by the model's merges like any other text.
     */
    @Override
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        long[] raw = encoder.encode(text, false, false).getIds();
        int[] out = new int[raw.length];
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] < 0 || raw[i] >= vocabularySize) {
                throw new IllegalStateException(source + ": the tokenizer produced id " + raw[i] + " outside [0, "
                        + vocabularySize + ")");
            }
            out[i] = (int) raw[i];
        }
        return out;
    }

    /** {@link #encode} with bos first and eos last where the model expects them ({@link #addsBeginningOfText()}, …). */
    public int[] encodeWithSpecialTokens(String text) {
        int[] body = encode(text);
        int n = body.length + (addBos ? 1 : 0) + (addEos ? 1 : 0);
        int[] out = new int[n];
        int at = 0;
        if (addBos) {
            out[at++] = bos.getAsInt();
        }
        System.arraycopy(body, 0, out, at, body.length);
        if (addEos) {
            out[n - 1] = eos;
        }
        return out;
    }

    /**
     * The text of {@code ids}, special tokens included as their text; bytes that do not form valid UTF-8
     * become U+FFFD.
     *
     * @throws IllegalArgumentException an id outside [0, V) or one that names no token, naming its index
     */
    @Override
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabularySize) {
                throw new IllegalArgumentException("ids[" + i + "] = " + ids[i] + "; expected a token id in [0, "
                        + vocabularySize + ")");
            }
            if (!this.ids.get(ids[i])) {
                throw new IllegalArgumentException("ids[" + i + "] = " + ids[i] + " names no token of " + Echo.line(source)
                        + "; expected an id of its vocabulary or added tokens");
            }
            l[i] = ids[i];
        }
        return decoder.decode(l, false);
    }

    /** The tokenizer's number of ids: its largest id plus one (a model's vocab_size may be larger). */
    @Override
    public int vocabularySize() {
        return vocabularySize;
    }

    /** The id of {@code eos_token}. */
    @Override
    public int endOfText() {
        return eos;
    }

    /** The id of {@code bos_token}, where {@code tokenizer_config.json} names one (Qwen2's does not). */
    @Override
    public OptionalInt beginningOfText() {
        return bos;
    }

    /** Whether the model expects bos before every sequence ({@link #encodeWithSpecialTokens}). */
    @Override
    public boolean addsBeginningOfText() {
        return addBos;
    }

    /** Whether the model expects eos after every sequence ({@link #encodeWithSpecialTokens}). */
    public boolean addsEndOfText() {
        return addEos;
    }

    /** The id of the token whose text is {@code token} (added tokens first, then the vocabulary). */
    public OptionalInt idOf(String token) {
        Integer id = tokenIds.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The {@code tokenizer.json} file this was read from. */
    public String source() {
        return source;
    }

    // ---- tokenizer.json ----

    /** The ids and token texts of a checked {@code tokenizer.json}. */
    private record Vocabulary(BitSet ids, Map<String, Integer> tokenIds, boolean hasSpecialAdded) {

        static Vocabulary of(JsonNode root, String where) {
            if (!root.isObject()) {
                throw new InvalidFileException(where + ": the top level is a JSON " + type(root) + "; expected an object");
            }
            JsonNode model = root.get("model");
            if (model == null || !model.isObject()) {
                throw bad(where, "model", model, "an object");
            }
            JsonNode t = model.get("type");
            if (t == null || !t.isTextual() || !t.textValue().equals("BPE")) {
                throw bad(where, "model.type", t, "\"BPE\" (the byte-level and SentencePiece-style BPE models are read)");
            }
            JsonNode vocab = model.get("vocab");
            if (vocab == null || !vocab.isObject()) {
                throw bad(where, "model.vocab", vocab, "an object of token to id");
            }
            if (vocab.size() > MAX_IDS) {
                throw new InvalidFileException(where + ": model.vocab has " + vocab.size() + " tokens; expected at most " + MAX_IDS);
            }
            BitSet ids = new BitSet();
            Map<String, Integer> tokenIds = new HashMap<>(vocab.size() * 2);
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                int id = id(e.getValue(), where, "model.vocab[" + Echo.quote(e.getKey()) + "]");
                ids.set(id);
                tokenIds.put(e.getKey(), id);
            }
            JsonNode merges = model.get("merges");
            if (merges != null && !merges.isArray()) {
                throw bad(where, "model.merges", merges, "an array of merges");
            }
            for (String f : new String[] {"unk_token", "continuing_subword_prefix", "end_of_word_suffix"}) {
                JsonNode n = model.get(f);
                if (n != null && !n.isNull() && !n.isTextual()) {
                    throw bad(where, "model." + f, n, "a string or null");
                }
            }
            if (merges != null) {
                checkMerges(merges, vocab, model.get("continuing_subword_prefix"), where);
            }
            JsonNode unk = model.get("unk_token");
            if (unk != null && unk.isTextual() && !tokenIds.containsKey(unk.textValue())) {
                throw new InvalidFileException(where + ": model.unk_token " + Echo.quote(unk.textValue())
                        + " is not in model.vocab; expected one of its tokens");
            }
            JsonNode fallback = model.get("byte_fallback");
            if (fallback != null && !fallback.isNull() && !fallback.isBoolean()) {
                throw bad(where, "model.byte_fallback", fallback, "true or false");
            }
            boolean special = false;
            JsonNode added = root.get("added_tokens");
            if (added != null && !added.isNull()) {
                if (!added.isArray()) {
                    throw bad(where, "added_tokens", added, "an array of token objects");
                }
                if (added.size() > MAX_IDS) {
                    throw new InvalidFileException(where + ": added_tokens has " + added.size() + " entries; expected at most " + MAX_IDS);
                }
                for (int i = 0; i < added.size(); i++) {
                    JsonNode a = added.get(i);
                    String f = "added_tokens[" + i + "]";
                    if (!a.isObject()) {
                        throw bad(where, f, a, "an object with id, content and special");
                    }
                    int id = id(a.get("id"), where, f + ".id");
                    JsonNode c = a.get("content");
                    if (c == null || !c.isTextual() || c.textValue().isEmpty()) {
                        throw bad(where, f + ".content", c, "a non-empty string");
                    }
                    JsonNode sp = a.get("special");
                    if (sp != null && !sp.isBoolean()) {
                        throw bad(where, f + ".special", sp, "true or false");
                    }
                    special |= sp != null && sp.booleanValue();
                    ids.set(id);
                    tokenIds.put(c.textValue(), id);
                }
            }
            if (ids.isEmpty()) {
                throw new InvalidFileException(where + ": model.vocab and added_tokens are empty; expected tokens");
            }
            return new Vocabulary(ids, tokenIds, special);
        }

        /**
         * Each merge is a pair of tokens of {@code model.vocab}, {@code "a b"} or {@code ["a", "b"]}, whose
         * concatenation (b without the continuing-subword prefix) is in the vocabulary too: what the Rust
         * library requires, checked here so the refusal names the merge (and a part shorter than the
         * prefix, which the library would slice past, never reaches it).
         */
        private static void checkMerges(JsonNode merges, JsonNode vocab, JsonNode prefixNode, String where) {
            if (merges.size() > MAX_IDS) {
                throw new InvalidFileException(where + ": model.merges has " + merges.size() + " entries; expected at most " + MAX_IDS);
            }
            String prefix = prefixNode != null && prefixNode.isTextual() ? prefixNode.textValue() : "";
            for (int i = 0; i < merges.size(); i++) {
                JsonNode m = merges.get(i);
                String field = "model.merges[" + i + "]";
                String a;
                String b;
                int space = m.isTextual() ? m.textValue().indexOf(' ') : -1;
                if (space >= 0) {
                    a = m.textValue().substring(0, space);
                    b = m.textValue().substring(space + 1);
                } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                    a = m.get(0).textValue();
                    b = m.get(1).textValue();
                } else {
                    throw bad(where, field, m, "a merge of two tokens, \"a b\" or [\"a\", \"b\"]");
                }
                for (String part : new String[] {a, b}) {
                    if (!vocab.has(part)) {
                        throw new InvalidFileException(where + ": " + field + " " + Echo.value(m.toString()) + " names "
                                + Echo.quote(part) + ", which is not in model.vocab; expected two of its tokens");
                    }
                }
                if (!b.startsWith(prefix)) {
                    throw new InvalidFileException(where + ": " + field + " " + Echo.value(m.toString()) + ": "
                            + Echo.quote(b) + " does not start with model.continuing_subword_prefix " + Echo.quote(prefix)
                            + "; expected the second token to carry it");
                }
                String merged = a + b.substring(prefix.length());
                if (!vocab.has(merged)) {
                    throw new InvalidFileException(where + ": " + field + " " + Echo.value(m.toString()) + " makes "
                            + Echo.quote(merged) + ", which is not in model.vocab; expected the merged token there too");
                }
            }
        }

        private static int id(JsonNode n, String where, String field) {
            if (n == null || !n.canConvertToInt() || !n.isIntegralNumber() || n.intValue() < 0 || n.intValue() >= MAX_IDS) {
                throw bad(where, field, n, "a token id in [0, " + MAX_IDS + ")");
            }
            return n.intValue();
        }
    }

    /**
     * The special tokens the post-processor puts first and last in a single sequence (a
     * {@code TemplateProcessing}, alone or in a {@code Sequence}): {@code [first, last]}, each null where
     * the template does not start or end with one. Anything unexpected gives {@code [null, null]}.
     */
    static String[] templateEnds(JsonNode pp) {
        String[] none = {null, null};
        if (pp == null || !pp.isObject()) {
            return none;
        }
        JsonNode type = pp.get("type");
        if (type != null && "Sequence".equals(type.asText()) && pp.get("processors") != null && pp.get("processors").isArray()) {
            for (JsonNode p : pp.get("processors")) {
                String[] e = templateEnds(p);
                if (e[0] != null || e[1] != null) {
                    return e;
                }
            }
            return none;
        }
        if (type == null || !"TemplateProcessing".equals(type.asText())) {
            return none;
        }
        JsonNode single = pp.get("single");
        if (single == null || !single.isArray() || single.isEmpty()) {
            return none;
        }
        return new String[] {specialId(single.get(0)), specialId(single.get(single.size() - 1))};
    }

    private static String specialId(JsonNode piece) {
        JsonNode s = piece == null ? null : piece.get("SpecialToken");
        JsonNode id = s == null ? null : s.get("id");
        return id != null && id.isTextual() ? id.textValue() : null;
    }

    /** The file with its special added tokens removed, for the encoder. */
    private static byte[] withoutSpecialAdded(JsonNode root, String where) {
        ObjectNode copy = ((ObjectNode) root).deepCopy();
        ArrayNode kept = copy.arrayNode();
        for (JsonNode a : root.get("added_tokens")) {
            JsonNode sp = a.get("special");
            if (sp == null || !sp.booleanValue()) {
                kept.add(a);
            }
        }
        copy.set("added_tokens", kept);
        try {
            return UntrustedJson.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(copy);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(where + ": cannot write the encoder's copy: " + e.getOriginalMessage(), e);
        }
    }

    // ---- tokenizer_config.json ----

    private record SpecialTokens(int eos, OptionalInt bos, boolean addBos, boolean addEos) {

        static SpecialTokens read(Path file, Vocabulary v, String[] template) {
            String where = Echo.path(file);
            InputFiles.Kind k = InputFiles.kind(file);
            if (k == InputFiles.Kind.MISSING) {
                throw new InvalidFileException(Echo.path(file) + " does not exist; expected the tokenizer's special tokens"
                        + " (eos_token, bos_token) beside " + TOKENIZER_FILE);
            }
            JsonNode root = UntrustedJson.parse(InputFiles.readAll(file, MAX_CONFIG_BYTES, UntrustedJson.HEAP_PER_BYTE), where);
            if (!root.isObject()) {
                throw new InvalidFileException(where + ": the top level is a JSON " + type(root) + "; expected an object");
            }
            String eosText = token(root, "eos_token", where);
            if (eosText == null) {
                throw new InvalidFileException(where + ": eos_token is " + (root.has("eos_token") ? "null" : "missing")
                        + "; expected the end-of-sequence token (a string, or an object with content)");
            }
            int eos = lookup(eosText, "eos_token", where, v);
            String bosText = token(root, "bos_token", where);
            OptionalInt bos = bosText == null ? OptionalInt.empty() : OptionalInt.of(lookup(bosText, "bos_token", where, v));
            Boolean addBos = bool(root, "add_bos_token", where);
            Boolean addEos = bool(root, "add_eos_token", where);
            boolean b = addBos != null ? addBos : bosText != null && bosText.equals(template[0]);
            boolean e = addEos != null ? addEos : eosText.equals(template[1]);
            if (b && bos.isEmpty()) {
                throw new InvalidFileException(where + ": add_bos_token is true but bos_token is "
                        + (root.has("bos_token") ? "null" : "missing") + "; expected the token to add");
            }
            return new SpecialTokens(eos, bos, b, e);
        }

        private static String token(JsonNode root, String field, String where) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return null;
            }
            if (n.isTextual()) {
                return n.textValue();
            }
            JsonNode c = n.isObject() ? n.get("content") : null;
            if (c != null && c.isTextual()) {
                return c.textValue();
            }
            throw bad(where, n.isObject() ? field + ".content" : field, n.isObject() ? c : n,
                    "a token's text (a string, or an object with a string content)");
        }

        private static int lookup(String text, String field, String where, Vocabulary v) {
            Integer id = v.tokenIds.get(text);
            if (id == null) {
                throw new InvalidFileException(where + ": " + field + " " + Echo.quote(text) + " is not a token of "
                        + TOKENIZER_FILE + "; expected one of its vocabulary or added tokens");
            }
            return id;
        }

        private static Boolean bool(JsonNode root, String field, String where) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return null;
            }
            if (!n.isBoolean()) {
                throw bad(where, field, n, "true or false");
            }
            return n.booleanValue();
        }
    }

    private static InvalidFileException bad(String where, String field, JsonNode v, String expected) {
        String got = v == null ? "missing" : v.isNull() ? "null" : "a JSON " + type(v) + " " + Echo.value(v.toString());
        return new InvalidFileException(where + ": " + field + " is " + got + "; expected " + expected);
    }

    private static String type(JsonNode n) {
        return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
}
