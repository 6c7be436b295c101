package dev.nola.models.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.io.InvalidFileException;
import dev.nola.io.UntrustedJson;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.gpt2.Gpt2Tokenizer;
import dev.nola.models.lm.LlamaConfig;
import dev.nola.models.lm.Tokenizers;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link HfTokenizer} on two tiny {@code tokenizer.json} files written here (no tokenizer can be
 * downloaded): a GPT-2-style byte-level BPE and a SentencePiece-style BPE with byte fallback. The
 * expected ids follow by hand from each file's merges; every bad-input case is one line naming the file.
 */
class HfTokenizerTest {

    @TempDir
    Path tmp;

    // ---- the byte-level BPE (Llama 3 / Qwen2 style) ----

    /** GPT-2's byte-to-character map: printable Latin-1 bytes are themselves, the rest 256, 257, … in byte order. */
    static String byteChar(int b) {
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
            return Character.toString(b);
        }
        int n = 0;
        for (int x = 0; x < b; x++) {
            if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) {
                n++;
            }
        }
        return Character.toString(256 + n);
    }

    static final int HELLO = 259;
    static final int G_WOR = 262;
    static final int BEGIN = 263;
    static final int END = 264;

    /** Ids 0–255: one token per byte (id = byte); 256–262 by the merges below; 263, 264 special. */
    static ObjectNode byteLevel(boolean template) {
        ObjectNode root = UntrustedJson.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        added.add(addedToken(BEGIN, "<|begin_of_text|>", true));
        added.add(addedToken(END, "<|end_of_text|>", true));
        root.putNull("normalizer");
        ObjectNode bl = UntrustedJson.MAPPER.createObjectNode().put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        root.set("pre_tokenizer", bl.deepCopy());
        if (template) {
            ObjectNode seq = root.putObject("post_processor").put("type", "Sequence");
            seq.putArray("processors").add(bl.deepCopy().put("trim_offsets", false)).add(template("<|begin_of_text|>", BEGIN));
        } else {
            root.set("post_processor", bl.deepCopy().put("trim_offsets", false));
        }
        root.set("decoder", bl.deepCopy());
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token").putNull("continuing_subword_prefix").putNull("end_of_word_suffix");
        model.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(byteChar(b), b);
        }
        String g = byteChar(' '); // "Ġ"
        String[] merged = {"he", "ll", "hell", "hello", g + "w", "or", g + "wor"};
        for (int i = 0; i < merged.length; i++) {
            vocab.put(merged[i], 256 + i);
        }
        model.putArray("merges").add("h e").add("l l").add("he ll").add("hell o").add(g + " w").add("o r").add(g + "w or");
        return root;
    }

    static ObjectNode addedToken(int id, String content, boolean special) {
        return UntrustedJson.MAPPER.createObjectNode().put("id", id).put("content", content).put("single_word", false)
                .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", special);
    }

    /** A TemplateProcessing that puts {@code token} before a single sequence. */
    static ObjectNode template(String token, int id) {
        ObjectNode t = UntrustedJson.MAPPER.createObjectNode().put("type", "TemplateProcessing");
        ArrayNode single = t.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", token).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = t.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", token).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", token).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode st = t.putObject("special_tokens").putObject(token);
        st.put("id", token);
        st.putArray("ids").add(id);
        st.putArray("tokens").add(token);
        return t;
    }

    // ---- the SentencePiece-style BPE with byte fallback (Llama 2 / TinyLlama / Mistral style) ----

    static final int SP_BOS = 1;
    static final int SP_EOS = 2;
    static final int META = 259; // "▁"

    /** 0–2 <unk> <s> </s>; 3–258 <0x00>–<0xFF> (id = 3 + byte); 259– "▁ h e l o w r d" then the merges. */
    static ObjectNode sentencePiece() {
        ObjectNode root = UntrustedJson.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < 3; i++) {
            added.add(addedToken(i, specials[i], true));
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "▁").put("prepend_scheme", "first")
                .put("split", false);
        root.set("post_processor", template("<s>", SP_BOS));
        ObjectNode dec = root.putObject("decoder").put("type", "Sequence");
        ArrayNode ds = dec.putArray("decoders");
        ObjectNode replace = ds.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", "▁");
        replace.put("content", " ");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.put("unk_token", "<unk>").putNull("continuing_subword_prefix").putNull("end_of_word_suffix");
        model.put("fuse_unk", true).put("byte_fallback", true).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < 3; i++) {
            vocab.put(specials[i], i);
        }
        for (int b = 0; b < 256; b++) {
            vocab.put(String.format("<0x%02X>", b), 3 + b);
        }
        List<String> pieces = List.of("▁", "h", "e", "l", "o", "w", "r", "d", "he", "ll", "▁he", "▁hell", "▁hello", "▁w", "or");
        for (int i = 0; i < pieces.size(); i++) {
            vocab.put(pieces.get(i), META + i);
        }
        model.putArray("merges").add("h e").add("l l").add("▁ he").add("▁he ll").add("▁hell o").add("▁ w").add("o r");
        return root;
    }

    static int sp(String piece) {
        return META + List.of("▁", "h", "e", "l", "o", "w", "r", "d", "he", "ll", "▁he", "▁hell", "▁hello", "▁w", "or")
                .indexOf(piece);
    }

    static int spByte(int b) {
        return 3 + b;
    }

    // ---- writing directories ----

    Path dir(String name, ObjectNode tokenizer, String config) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(name));
        Files.write(d.resolve("tokenizer.json"), UntrustedJson.MAPPER.writeValueAsBytes(tokenizer));
        if (config != null) {
            Files.writeString(d.resolve("tokenizer_config.json"), config);
        }
        return d;
    }

    static final String LLAMA3_CONFIG = "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": \"<|end_of_text|>\","
            + " \"clean_up_tokenization_spaces\": true}";
    static final String LLAMA2_CONFIG = "{\"add_bos_token\": true, \"add_eos_token\": false, \"bos_token\": {\"__type\":"
            + " \"AddedToken\", \"content\": \"<s>\", \"lstrip\": false, \"normalized\": false, \"rstrip\": false,"
            + " \"single_word\": false}, \"eos_token\": \"</s>\", \"unk_token\": \"<unk>\"}";

    // ---- tests: byte-level ----

    @Test
    void byteLevelIdsFollowTheMerges() throws IOException {
        HfTokenizer t = HfTokenizer.load(dir("bl", byteLevel(true), LLAMA3_CONFIG));
        // "hello" merges h e → he, l l → ll, he ll → hell, hell o → hello; " world" is Ġ w o r l d:
        // Ġ w → Ġw, o r → or, Ġw or → Ġwor, leaving l and d as their bytes
        assertArrayEquals(new int[] {HELLO, G_WOR, 'l', 'd'}, t.encode("hello world"));
        assertArrayEquals(new int[] {'h', 'i'}, t.encode("hi"));
        assertArrayEquals(new int[0], t.encode(""));
        assertEquals(265, t.vocabularySize());
        assertEquals(END, t.endOfText());
        assertEquals(BEGIN, t.beginningOfText().getAsInt());
    }

    @Test
    void byteLevelRoundTripsAnyText() throws IOException {
        HfTokenizer t = HfTokenizer.load(dir("bl", byteLevel(true), LLAMA3_CONFIG));
        for (String s : new String[] {"hello world", "héllo wörld ✓ 日本語 🙂", "  two  spaces\nand\ttabs ", "hello ."}) {
            assertEquals(s, t.decode(t.encode(s)), s);
        }
        // é is two bytes, each its own token (no merges cover them)
        assertArrayEquals(new int[] {0xC3, 0xA9}, t.encode("é"));
    }

    @Test
    void specialTokenTextIsOrdinaryText() throws IOException {
        HfTokenizer t = HfTokenizer.load(dir("bl", byteLevel(true), LLAMA3_CONFIG));
        String literal = "a<|end_of_text|>b<|begin_of_text|>";
        int[] ids = t.encode(literal);
        assertTrue(Arrays.stream(ids).noneMatch(i -> i == BEGIN || i == END), Arrays.toString(ids));
        assertEquals(literal.length(), ids.length, "one byte token per ASCII character: no merge applies");
        assertEquals(literal, t.decode(ids));
        // the special ids themselves decode to their text: nothing is skipped
        assertEquals("<|begin_of_text|>hello<|end_of_text|>", t.decode(new int[] {BEGIN, HELLO, END}));
    }

    @Test
    void bosAddedByTheTemplateWhenTheConfigIsSilent() throws IOException {
        HfTokenizer llama3 = HfTokenizer.load(dir("l3", byteLevel(true), LLAMA3_CONFIG));
        assertTrue(llama3.addsBeginningOfText());
        assertFalse(llama3.addsEndOfText());
        assertArrayEquals(new int[] {BEGIN, HELLO}, llama3.encodeWithSpecialTokens("hello"));
        // Qwen2: no template, no bos_token: nothing added
        HfTokenizer qwen = HfTokenizer.load(dir("q2", byteLevel(false),
                "{\"bos_token\": null, \"eos_token\": \"<|end_of_text|>\"}"));
        assertFalse(qwen.addsBeginningOfText());
        assertTrue(qwen.beginningOfText().isEmpty());
        assertArrayEquals(new int[] {HELLO}, qwen.encodeWithSpecialTokens("hello"));
        // add_bos_token says otherwise: it wins over the template, and add_eos_token adds eos
        HfTokenizer both = HfTokenizer.load(dir("both", byteLevel(true),
                "{\"add_bos_token\": false, \"add_eos_token\": true, \"bos_token\": \"<|begin_of_text|>\","
                        + " \"eos_token\": \"<|end_of_text|>\"}"));
        assertArrayEquals(new int[] {HELLO, END}, both.encodeWithSpecialTokens("hello"));
    }

    // ---- tests: SentencePiece-style ----

    @Test
    void sentencePieceIdsFollowTheMerges() throws IOException {
        HfTokenizer t = HfTokenizer.load(dir("sp", sentencePiece(), LLAMA2_CONFIG));
        // "▁hello▁world": h e, l l, ▁ he, ▁he ll, ▁hell o give ▁hello; ▁ w, o r give ▁w or; l, d stay
        assertArrayEquals(new int[] {sp("▁hello"), sp("▁w"), sp("or"), sp("l"), sp("d")}, t.encode("hello world"));
        assertEquals("hello world", t.decode(t.encode("hello world")));
        assertEquals(259 + 15, t.vocabularySize());
        assertEquals(SP_EOS, t.endOfText());
        assertEquals(SP_BOS, t.beginningOfText().getAsInt());
    }

    @Test
    void unknownCharactersFallBackToByteTokens() throws IOException {
        HfTokenizer t = HfTokenizer.load(dir("sp", sentencePiece(), LLAMA2_CONFIG));
        // i is not in the vocabulary: <0x69>; é is <0xC3> <0xA9>
        assertArrayEquals(new int[] {META, sp("h"), spByte('i'), META, spByte(0xC3), spByte(0xA9)}, t.encode("hi é"));
        for (String s : new String[] {"hi é", "hello wörld ✓ 日本語", "hello ."}) {
            assertEquals(s, t.decode(t.encode(s)), s);
        }
    }

    @Test
    void sentencePieceSpecialTextIsOrdinaryAndBosIsAdded() throws IOException {
        HfTokenizer t = HfTokenizer.load(dir("sp", sentencePiece(), LLAMA2_CONFIG));
        // "<s>" is not matched as the control token: ▁ then the bytes of <, s, >
        assertArrayEquals(new int[] {META, spByte('<'), spByte('s'), spByte('>')}, t.encode("<s>"));
        assertEquals("<s>", t.decode(t.encode("<s>")));
        assertTrue(t.addsBeginningOfText());
        assertFalse(t.addsEndOfText());
        assertArrayEquals(new int[] {SP_BOS, sp("▁hello")}, t.encodeWithSpecialTokens("hello"));
        assertTrue(t.decode(new int[] {SP_BOS, sp("▁hello")}).contains("hello"));
        assertEquals(SP_BOS, t.idOf("<s>").getAsInt());
    }

    @Test
    void decodeRefusesIdsOutsideTheVocabulary() throws IOException {
        HfTokenizer t = HfTokenizer.load(dir("sp", sentencePiece(), LLAMA2_CONFIG));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {META, 274}));
        assertEquals("ids[1] = 274; expected a token id in [0, 274)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {-1}));
    }

    // ---- tests: bad input ----

    /** Loads {@code d}, expecting a one-line {@link InvalidFileException} that contains every {@code parts}. */
    static void refused(Path d, String... parts) {
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> HfTokenizer.load(d));
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        for (String p : parts) {
            assertTrue(m.contains(p), "'" + p + "' in: " + m);
        }
    }

    Path broken(String name, Consumer<ObjectNode> change) throws IOException {
        ObjectNode t = sentencePiece();
        change.accept(t);
        return dir(name, t, LLAMA2_CONFIG);
    }

    @Test
    void malformedTokenizerJsonIsRefusedNamingTheFileAndField() throws IOException {
        Path notJson = dir("notjson", sentencePiece(), LLAMA2_CONFIG);
        Files.writeString(notJson.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", ");
        refused(notJson, "notjson/tokenizer.json", "invalid JSON");
        Path array = dir("array", sentencePiece(), LLAMA2_CONFIG);
        Files.writeString(array.resolve("tokenizer.json"), "[1, 2]");
        refused(array, "array/tokenizer.json", "top level is a JSON array");
        refused(broken("nomodel", t -> t.remove("model")), "nomodel/tokenizer.json", "model is missing");
        refused(broken("unigram", t -> ((ObjectNode) t.get("model")).put("type", "Unigram")),
                "unigram/tokenizer.json", "model.type", "BPE");
        refused(broken("vocabid", t -> ((ObjectNode) t.get("model").get("vocab")).put("h", "one")),
                "vocabid/tokenizer.json", "model.vocab['h']", "a token id");
        refused(broken("negid", t -> ((ObjectNode) t.get("model").get("vocab")).put("h", -3)),
                "negid/tokenizer.json", "model.vocab['h']");
        refused(broken("addedid", t -> ((ObjectNode) t.get("added_tokens").get(1)).put("id", 1.5)),
                "addedid/tokenizer.json", "added_tokens[1].id");
        refused(broken("unk", t -> ((ObjectNode) t.get("model")).put("unk_token", "<nope>")),
                "unk/tokenizer.json", "model.unk_token");
        // well-typed, but the Rust library would refuse them: checked first, so the refusal names the merge
        refused(broken("merge", t -> ((ArrayNode) t.get("model").get("merges")).add("x y")),
                "merge/tokenizer.json", "model.merges[7]", "'x'", "not in model.vocab");
        refused(broken("merged", t -> ((ArrayNode) t.get("model").get("merges")).insert(0, "h o")),
                "merged/tokenizer.json", "model.merges[0]", "makes 'ho'");
        refused(broken("merge1", t -> ((ArrayNode) t.get("model").get("merges")).add("he")),
                "merge1/tokenizer.json", "model.merges[7]", "two tokens");
        refused(broken("merge2", t -> ((ArrayNode) t.get("model").get("merges")).addArray().add("h").add(5)),
                "merge2/tokenizer.json", "model.merges[7]", "two tokens");
        refused(broken("prefix", t -> ((ObjectNode) t.get("model")).put("continuing_subword_prefix", "##")),
                "prefix/tokenizer.json", "model.merges[0]", "continuing_subword_prefix");
        // the array form of a merge is read too
        HfTokenizer pairs = HfTokenizer.load(broken("pairs", t -> {
            ArrayNode m = (ArrayNode) t.get("model").get("merges");
            for (int i = 0; i < m.size(); i++) {
                String[] ab = m.get(i).textValue().split(" ");
                m.set(i, UntrustedJson.MAPPER.createArrayNode().add(ab[0]).add(ab[1]));
            }
        }));
        assertArrayEquals(HfTokenizer.load(dir("plain", sentencePiece(), LLAMA2_CONFIG)).encode("hello world"),
                pairs.encode("hello world"));
    }

    @Test
    void tokenizerFilesLinkedFromOutsideTheDirectoryAreRefused() throws IOException {
        Path outside = dir("outside", sentencePiece(), LLAMA2_CONFIG);
        for (String name : List.of("tokenizer.json", "tokenizer_config.json")) {
            for (boolean relative : new boolean[] {false, true}) {
                Path d = dir("linked-" + name + relative, sentencePiece(), LLAMA2_CONFIG);
                Files.delete(d.resolve(name));
                Files.createSymbolicLink(d.resolve(name), relative ? d.relativize(outside.resolve(name)) : outside.resolve(name));
                refused(d, d.resolve(name).toString(), "a symbolic link", "outside the model directory");
            }
        }
        // a link inside the directory (as a snapshot's files may be) is followed
        Path inside = dir("inside", sentencePiece(), LLAMA2_CONFIG);
        Files.move(inside.resolve("tokenizer.json"), inside.resolve("blob"));
        Files.createSymbolicLink(inside.resolve("tokenizer.json"), Path.of("blob"));
        assertEquals(274, HfTokenizer.load(inside).vocabularySize());
        // and a manifest.json leading out is refused before it is read
        Path man = dir("manifest", sentencePiece(), LLAMA2_CONFIG);
        Files.writeString(outside.resolve("manifest.json"), "{\"tokenizer\": \"gpt2-r50k\"}");
        Files.createSymbolicLink(man.resolve("manifest.json"), outside.resolve("manifest.json"));
        LlamaConfig llama = new LlamaConfig("llama", 24, 40, 2, 4, 2, 8, 32, 274, 1e-5f, 10000.0, null, false, false, false, 0);
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> Tokenizers.forModel(man, llama));
        assertTrue(e.getMessage().contains("manifest.json: a symbolic link"), e.getMessage());
    }

    @Test
    void hugeTokenizerJsonIsRefusedBeforeReading() throws IOException {
        Path d = dir("huge", sentencePiece(), LLAMA2_CONFIG);
        try (RandomAccessFile f = new RandomAccessFile(d.resolve("tokenizer.json").toFile(), "rw")) {
            f.setLength(HfTokenizer.MAX_TOKENIZER_BYTES + 1); // sparse: nothing is written
        }
        refused(d, "huge/tokenizer.json", "above the limit");
    }

    @Test
    void badTokenizerConfigIsRefusedNamingTheField() throws IOException {
        refused(dir("addbos", sentencePiece(), "{\"add_bos_token\": \"yes\", \"eos_token\": \"</s>\"}"),
                "addbos/tokenizer_config.json", "add_bos_token", "true or false");
        refused(dir("eosint", sentencePiece(), "{\"eos_token\": 2}"), "eosint/tokenizer_config.json", "eos_token");
        refused(dir("eosobj", sentencePiece(), "{\"eos_token\": {\"content\": 2}}"),
                "eosobj/tokenizer_config.json", "eos_token.content");
        refused(dir("noeos", sentencePiece(), "{\"bos_token\": \"<s>\"}"), "noeos/tokenizer_config.json",
                "eos_token is missing");
        refused(dir("cfgjson", sentencePiece(), "not json"), "cfgjson/tokenizer_config.json", "invalid JSON");
        refused(dir("nocfg", sentencePiece(), null), "nocfg/tokenizer_config.json", "does not exist");
        refused(dir("bosnull", sentencePiece(), "{\"add_bos_token\": true, \"bos_token\": null, \"eos_token\": \"</s>\"}"),
                "bosnull/tokenizer_config.json", "add_bos_token is true but bos_token is null");
    }

    @Test
    void specialTokensTheVocabularyLacksAreRefused() throws IOException {
        refused(dir("nobos", sentencePiece(), "{\"bos_token\": \"<bos>\", \"eos_token\": \"</s>\"}"),
                "nobos/tokenizer_config.json", "bos_token '<bos>' is not a token");
        refused(dir("noeos2", byteLevel(true), "{\"eos_token\": \"<|eot_id|>\"}"),
                "noeos2/tokenizer_config.json", "eos_token '<|eot_id|>' is not a token");
    }

    // ---- Tokenizers.forModel ----

    @Test
    void forModelPicksByWhatTheDirectoryHolds() throws IOException {
        Gpt2Config gpt2 = new Gpt2Config(16, 4, 2, 32, 50257, 1e-5f, "gelu_new");
        LlamaConfig llama = new LlamaConfig("llama", 24, 40, 2, 4, 2, 8, 32, 274, 1e-5f, 10000.0, null, false, false,
                false, 0);
        Path empty = Files.createDirectories(tmp.resolve("gpt2"));
        Files.writeString(empty.resolve("config.json"), "{}");
        assertSame(Gpt2Tokenizer.get(), Tokenizers.forModel(empty, gpt2), "GPT-2 without tokenizer.json: JTokkit r50k");
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> Tokenizers.forModel(empty, llama));
        assertTrue(e.getMessage().contains("gpt2 has no tokenizer.json"), e.getMessage());
        assertTrue(Tokenizers.forModel(dir("sp", sentencePiece(), LLAMA2_CONFIG), llama) instanceof HfTokenizer);
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertThrows(InvalidFileException.class, () -> Tokenizers.forModel(file, llama));
        // something other than a regular file at tokenizer.json is refused as what it is, not skipped
        Path dirTok = Files.createDirectories(tmp.resolve("dirtok").resolve("tokenizer.json")).getParent();
        InvalidFileException d = assertThrows(InvalidFileException.class, () -> Tokenizers.forModel(dirTok, gpt2));
        assertTrue(d.getMessage().contains("is a directory"), d.getMessage());
    }

    @Test
    void forModelRefusesTokenIdsPastTheModelsVocabSize() throws IOException {
        // the SentencePiece tokenizer has 274 ids: a model of 273 rows has none for the last
        LlamaConfig small = new LlamaConfig("llama", 24, 40, 2, 4, 2, 8, 32, 273, 1e-5f, 10000.0, null, false, false,
                false, 0);
        Path d = dir("small", sentencePiece(), LLAMA2_CONFIG);
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> Tokenizers.forModel(d, small));
        String m = e.getMessage();
        assertTrue(m.contains("small/tokenizer.json") && m.contains("up to 273") && m.contains("small/config.json")
                && m.contains("vocab_size 273") && !m.contains("\n"), m);
        // GPT-2's built-in tokenizer on a GPT-2 of fewer rows: config.json's vocab_size is named
        Gpt2Config gpt2 = new Gpt2Config(16, 4, 2, 32, 50000, 1e-5f, "gelu_new");
        Path g = Files.createDirectories(tmp.resolve("g"));
        e = assertThrows(InvalidFileException.class, () -> Tokenizers.forModel(g, gpt2));
        assertTrue(e.getMessage().contains("g/config.json has vocab_size 50000") && e.getMessage().contains("GPT-2's tokenizer"),
                e.getMessage());
        // a padded embedding (more rows than ids) is fine
        LlamaConfig padded = new LlamaConfig("llama", 24, 40, 2, 4, 2, 8, 32, 288, 1e-5f, 10000.0, null, false, false,
                false, 0);
        assertEquals(274, Tokenizers.forModel(d, padded).vocabularySize());
    }
}
