package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.adapter.io.FuzzHarness;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.io.UntrustedJson;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.bases.VitWeightsFile;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.lm.LlamaConfig;
import dev.nola.models.text.HfTokenizer;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.vit.VitModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 21: model directories as untrusted input, through {@link FuzzHarness} and the real commands
 * ({@code score}, {@code eval}, {@code finetune --steps 1}, {@code generate}, {@code export-lora --model},
 * {@code merge}, in-process through {@code Main.run}). Seeds: a tiny GPT-2 (one file, and sharded with an
 * index), a tiny LLaMA-family checkpoint ({@code model_type} llama: GQA, untied head) and the project's ViT
 * base format ({@code vit.safetensors} + {@code manifest.json}). Mutations: config fields of the wrong type,
 * missing, huge or contradictory, broken JSON; shards truncated, swapped, missing or duplicated; an index
 * naming absent tensors or files outside the directory ({@code ../x}, absolute paths, links); files
 * replaced by links to valid copies outside; dtypes and shapes that disagree with the data or the config.
 *
 * <p>Pass: status 0 (only where the class may be valid), or status 2 with one line on stderr that names the
 * mutated file; no stack trace, hang or OOM (the harness); and nothing outside the directory read: the
 * files outside are <em>valid</em> copies, so a loader that followed a link or an index out would accept
 * the case (an always-invalid class accepted is a failure), and their access times must not move (checked
 * where the file system records reads, which the test finds out first).
 *
 * <p>The LLaMA seed carries its own byte-level BPE {@code tokenizer.json} and {@code tokenizer_config.json}
 * ({@link #tokenizer}), which eval, finetune and generate read; {@link #tokenizerMutations} breaks them (not JSON,
 * fields of the wrong type, merges naming absent tokens, ids past the model's vocab_size, files over the limits,
 * links leading out, a directory or nothing in their place) through those three commands only: score takes ids
 * and merge and export-lora read no text, so a broken tokenizer does not stop them
 * ({@link #tokenizerFilesAreReadOnlyWhereTextIs}), and every case here must be refused.
 */
class ModelDirFuzzTest {

    static final int CASES = 400;
    static final Duration LIMIT = Duration.ofSeconds(120);
    static final Duration PER_CASE = Duration.ofSeconds(30);

    @TempDir
    static Path tmp;

    enum Kind { GPT2, GPT2_SHARDED, LLAMA, VIT }

    record Seed(Kind kind, Path dir) {
    }

    /**
     * One case: a mutated copy of a seed directory and one command over it.
     *
     * @param file  the file the refusal must name (the one mutated), or null for any
     * @param field the field of that file the refusal must name, or null where there is none (broken syntax)
     */
    record Case(Kind kind, Path dir, String[] args, String file, String field) {
        Case(Kind kind, Path dir, String[] args, String file) {
            this(kind, dir, args, file, null);
        }

        @Override
        public String toString() {
            return String.join(" ", args);
        }
    }

    static final List<Seed> SEEDS = new ArrayList<>();
    static Path text;
    static Path images;
    static Path gpt2Adapter;
    static Path llamaAdapter;
    static Path outside;
    static boolean atimeWorks;
    static final AtomicInteger N = new AtomicInteger();

    @BeforeAll
    static void seeds() throws Exception {
        text = Tiny.text(tmp.resolve("text.txt"));
        images = idx(tmp.resolve("idx"));
        Path gpt2 = Tiny.gpt2(tmp.resolve("seed-gpt2"));
        SEEDS.add(new Seed(Kind.GPT2, gpt2));
        SEEDS.add(new Seed(Kind.GPT2_SHARDED, shard(gpt2, tmp.resolve("seed-gpt2-sharded"))));
        // a LLaMA: GQA (4 heads on 2), untied head, its own byte-level BPE tokenizer (LLAMA_IDS ids in an
        // embedding of LLAMA_VOCAB rows, padded as real checkpoints' are)
        LlamaConfig llama = new LlamaConfig("llama", 8, 16, 1, 4, 2, 2, 16, LLAMA_VOCAB, 1e-5f, 10000.0, null, false, false,
                false, 0);
        Path llamaDir = tmp.resolve("seed-llama");
        try (Device d = Backends.open("reference");
             DeviceWeights w = CausalLm.randomWeights(d, llama.spec(), 7)) {
            HfCheckpoint.of(llama, w.download(d)).write(llamaDir);
        }
        writeJson(llamaDir.resolve(HfTokenizer.TOKENIZER_FILE), tokenizer());
        Files.writeString(llamaDir.resolve(HfTokenizer.CONFIG_FILE), TOKENIZER_CONFIG);
        SEEDS.add(new Seed(Kind.LLAMA, llamaDir));
        Path vit = tmp.resolve("seed-vit");
        Files.createDirectories(vit);
        try (Device d = Backends.open("reference");
             DeviceWeights w = VitModel.randomWeights(d, SmallBases.VIT_CONFIG, 3)) {
            Files.write(vit.resolve("vit.safetensors"), VitWeightsFile.bytes(d, w));
        }
        Files.writeString(vit.resolve("manifest.json"), "{\n  \"kind\" : \"vit-fashion\",\n  \"recipe\" : 1,\n"
                + "  \"classes\" : \"0-4\",\n  \"pixel_mean\" : 0.28,\n  \"pixel_std\" : 0.35\n}\n");
        SEEDS.add(new Seed(Kind.VIT, vit));

        // the adapters eval, generate, merge and export-lora take
        gpt2Adapter = tmp.resolve("gpt2-run");
        CliTest.Result r = CliTest.run("finetune", "--model", gpt2.toString(), "--data", text.toString(), "--k", "4", "--l", "4",
                "--steps", "1", "--batch", "1", "--device", "cpu", "--out", gpt2Adapter.toString(), "--quiet");
        assertEquals(0, r.status(), r.err());
        llamaAdapter = tmp.resolve("llama-run");
        r = CliTest.run("finetune", "--model", llamaDir.toString(), "--data", text.toString(), "--k", "4", "--l", "4",
                "--steps", "1", "--batch", "1", "--device", "cpu", "--out", llamaAdapter.toString(), "--quiet");
        assertEquals(0, r.status(), r.err());
        // every seed passes every command it takes: the mutations, not the fixtures, are what is refused
        for (Seed s : SEEDS) {
            for (int c = 0; c < 6; c++) {
                String[] args = command(s.kind(), s.dir(), c, tmp.resolve("seed-check-" + N.incrementAndGet()));
                CliTest.Result ok = CliTest.run(args);
                assertEquals(0, ok.status(), String.join(" ", args) + ": " + ok.err());
            }
        }

        // valid copies outside every case directory, which links and index entries point at
        outside = tmp.resolve("outside");
        Files.createDirectories(outside);
        Files.copy(gpt2.resolve("model.safetensors"), outside.resolve("model.safetensors"));
        Files.copy(gpt2.resolve("config.json"), outside.resolve("config.json"));
        for (String t : List.of(HfTokenizer.TOKENIZER_FILE, HfTokenizer.CONFIG_FILE)) {
            Files.copy(llamaDir.resolve(t), outside.resolve(t));
        }
        for (Path f : outsideFiles()) {
            age(f);
        }
        // does this file system record reads? (relatime does when the access time is older than the change)
        Path probe = tmp.resolve("atime-probe");
        Files.write(probe, new byte[] {1});
        age(probe);
        FileTime before = atime(probe);
        Files.readAllBytes(probe);
        atimeWorks = !atime(probe).equals(before);
        System.out.println("[model-fuzz] access times " + (atimeWorks ? "recorded: reads outside are checked by atime too"
                : "not recorded here (noatime): reads outside are caught by the valid copies alone"));
    }

    /** The valid copies outside every case directory. */
    static List<Path> outsideFiles() {
        return Stream.of("model.safetensors", "config.json", HfTokenizer.TOKENIZER_FILE, HfTokenizer.CONFIG_FILE)
                .map(outside::resolve).toList();
    }

    // ---- the LLaMA seed's tokenizer: a byte-level BPE (Llama 3 / Qwen2 style) small enough for the tiny model ----

    /** The tokens the merges make, ids 256 on; "Ġ" is the space's character in the byte-level alphabet. */
    static final List<String> MERGED = List.of("he", "Ġt", "Ġthe", "In", "an", "Ġa", "Ġan");
    static final List<String> MERGES = List.of("h e", "Ġ t", "Ġt he", "I n", "a n", "Ġ a", "Ġa n");
    static final int BOS = 256 + MERGED.size();
    static final int EOS = BOS + 1;
    /** The tokenizer's ids: 256 bytes, the merged tokens, bos and eos. */
    static final int LLAMA_IDS = EOS + 1;
    /** The LLaMA seed's vocab_size: the tokenizer's ids, padded to a multiple of 16. */
    static final int LLAMA_VOCAB = (LLAMA_IDS + 15) / 16 * 16;
    static final String TOKENIZER_CONFIG = "{\"add_bos_token\": true, \"add_eos_token\": false, \"bos_token\": \"<s>\","
            + " \"eos_token\": \"</s>\", \"model_max_length\": 16}";

    /** Whether byte {@code b} stands for itself in the byte-level alphabet (printable Latin-1 but the soft hyphen). */
    static boolean printable(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    }

    /** Byte {@code b}'s character: itself where printable, else 256 + its rank among the unprintable bytes. */
    static String byteChar(int b) {
        if (printable(b)) {
            return Character.toString(b);
        }
        return Character.toString(256 + (int) java.util.stream.IntStream.range(0, b).filter(x -> !printable(x)).count());
    }

    static ObjectNode addedToken(int id, String content) {
        return UntrustedJson.MAPPER.createObjectNode().put("id", id).put("content", content).put("single_word", false)
                .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
    }

    /** The seed's {@code tokenizer.json}: ids 0–255 one per byte, 256– the merged tokens, then {@code <s>}, {@code </s>}. */
    static ObjectNode tokenizer() {
        ObjectNode root = UntrustedJson.MAPPER.createObjectNode().put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        root.putArray("added_tokens").add(addedToken(BOS, "<s>")).add(addedToken(EOS, "</s>"));
        root.putNull("normalizer");
        ObjectNode byteLevel = UntrustedJson.MAPPER.createObjectNode().put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        root.set("pre_tokenizer", byteLevel.deepCopy());
        root.set("post_processor", byteLevel.deepCopy().put("trim_offsets", false));
        root.set("decoder", byteLevel);
        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token").putNull("continuing_subword_prefix").putNull("end_of_word_suffix");
        model.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int b = 0; b < 256; b++) {
            vocab.put(byteChar(b), b);
        }
        for (int i = 0; i < MERGED.size(); i++) {
            vocab.put(MERGED.get(i), 256 + i);
        }
        ArrayNode merges = model.putArray("merges");
        MERGES.forEach(merges::add);
        return root;
    }

    /** Sets a file's access time a day before its modification time (so relatime records the next read). */
    static void age(Path f) throws IOException {
        FileTime m = Files.getLastModifiedTime(f);
        Files.setAttribute(f, "lastAccessTime", FileTime.fromMillis(m.toMillis() - 86_400_000L));
    }

    static FileTime atime(Path f) throws IOException {
        return (FileTime) Files.getAttribute(f, "lastAccessTime");
    }

    /** Tiny Fashion-MNIST-named IDX files: 20 training and 10 test images of 28×28, labels 0–4. */
    static Path idx(Path dir) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom rnd = new SplittableRandom(5);
        for (String p : List.of("train", "t10k")) {
            int n = p.equals("train") ? 20 : 10;
            ByteBuffer img = ByteBuffer.allocate(16 + n * 784).order(ByteOrder.BIG_ENDIAN);
            img.putInt(0x803).putInt(n).putInt(28).putInt(28);
            ByteBuffer lab = ByteBuffer.allocate(8 + n).order(ByteOrder.BIG_ENDIAN);
            lab.putInt(0x801).putInt(n);
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < 784; k++) {
                    img.put((byte) rnd.nextInt(256));
                }
                lab.put((byte) (i % 5));
            }
            Files.write(dir.resolve(p + "-images-idx3-ubyte"), img.array());
            Files.write(dir.resolve(p + "-labels-idx1-ubyte"), lab.array());
        }
        return dir;
    }

    /** The single-file checkpoint in {@code from} as two shards and an index, in {@code to}. */
    static Path shard(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        SafeTensorsWriter[] w = {new SafeTensorsWriter(), new SafeTensorsWriter()};
        ObjectNode index = UntrustedJson.MAPPER.createObjectNode();
        index.putObject("metadata").put("total_size", Files.size(from.resolve("model.safetensors")));
        ObjectNode map = index.putObject("weight_map");
        try (SafeTensorsReader r = SafeTensorsReader.open(from.resolve("model.safetensors"))) {
            int i = 0;
            for (var t : r.tensors().values()) {
                int s = i++ % 2;
                w[s].f32(t.name(), t.shape(), r.readFloats(t.name()));
                map.put(t.name(), shardName(s));
            }
        }
        for (int s = 0; s < 2; s++) {
            Files.write(to.resolve(shardName(s)), w[s].toBytes(Map.of("format", "pt")));
        }
        Files.write(to.resolve(HfCheckpoint.INDEX_FILE), UntrustedJson.MAPPER.writeValueAsBytes(index));
        return to;
    }

    static String shardName(int s) {
        return String.format("model-%05d-of-00002.safetensors", s + 1);
    }

    /** Command {@code which} (0..5) over model directory {@code dir} of this kind, writing below {@code out}. */
    static String[] command(Kind kind, Path dir, int which, Path out) {
        String m = dir.toString();
        if (kind == Kind.VIT) {
            return which % 2 == 0
                    ? new String[] {"eval", "--model", m, "--data", images.toString(), "--device", "cpu", "--json"}
                    : new String[] {"finetune", "--model", m, "--data", images.toString(), "--steps", "1", "--batch", "2",
                        "--k", "4", "--l", "4", "--device", "cpu", "--out", out.toString(), "--quiet"};
        }
        Path adapter = (kind == Kind.LLAMA ? llamaAdapter : gpt2Adapter).resolve("adapter");
        return switch (which) {
            // "In the" in either vocabulary
            case 0 -> new String[] {"score", "--model", m, "--ids", kind == Kind.LLAMA ? "259,258" : "464,3797,286",
                "--device", "cpu"};
            case 1 -> new String[] {"eval", "--model", m, "--data", text.toString(), "--adapter", adapter.toString(),
                "--device", "cpu", "--json"};
            case 2 -> new String[] {"finetune", "--model", m, "--data", text.toString(), "--steps", "1", "--batch", "1",
                "--k", "4", "--l", "4", "--device", "cpu", "--out", out.toString(), "--quiet"};
            case 3 -> new String[] {"generate", "--model", m, "--adapter", adapter.toString(), "--prompt", "In the",
                "--length", "2", "--temperature", "0", "--device", "cpu"};
            // export-lora --model takes GPT-2 only: a LLaMA directory is still read (its config) and refused by name
            case 4 -> kind == Kind.LLAMA
                    ? new String[] {"merge", "--model", m, "--adapter", adapter.toString(), "--out", out.toString(), "--device", "cpu"}
                    : new String[] {"export-lora", adapter.toString(), out.toString(), "--model", m, "--device", "cpu"};
            default -> new String[] {"merge", "--model", m, "--adapter", adapter.toString(), "--out", out.toString(),
                "--device", "cpu"};
        };
    }

    /** A fresh copy of a seed, and a command over it. */
    static Case copy(Seed s, SplittableRandom rnd, String file) throws IOException {
        return copy(s, rnd, file, true);
    }

    /**
     * A fresh copy of a seed and a command; {@code configOnly} false leaves out export-lora --model, which reads a
     * directory's config.json and none of its weights (a mutated weight file is not its input).
     */
    static Case copy(Seed s, SplittableRandom rnd, String file, boolean configOnly) throws IOException {
        int which = rnd.nextInt(configOnly ? 6 : 5);
        which = !configOnly && which == 4 && s.kind() != Kind.LLAMA ? 5 : which;
        return copy(s, which, file, null);
    }

    /** A fresh copy of a seed, and command {@code which} over it. */
    static Case copy(Seed s, int which, String file, String field) throws IOException {
        Path root = tmp.resolve("case-" + N.incrementAndGet());
        Path dir = root.resolve("model");
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(s.dir())) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return new Case(s.kind(), dir, command(s.kind(), dir, which, root.resolve("out")), file, field);
    }

    static Seed seed(SplittableRandom rnd, Kind... kinds) {
        List<Seed> pool = SEEDS.stream().filter(s -> kinds.length == 0 || List.of(kinds).contains(s.kind())).toList();
        return pool.get(rnd.nextInt(pool.size()));
    }

    static <T> T pick(SplittableRandom rnd, List<T> l) {
        return l.get(rnd.nextInt(l.size()));
    }

    /** The config file of a kind and its required integer fields. */
    static String configFile(Kind k) {
        return k == Kind.VIT ? "manifest.json" : "config.json";
    }

    static List<String> requiredFields(Kind k) {
        return switch (k) {
            case GPT2, GPT2_SHARDED -> List.of("n_embd", "n_head", "n_layer", "n_positions", "vocab_size", "layer_norm_epsilon");
            case LLAMA -> List.of("hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers",
                "max_position_embeddings", "vocab_size");
            case VIT -> List.of("pixel_mean", "pixel_std");
        };
    }

    /** Fields that take any finite number in a range: only values that are not such a number are always wrong. */
    static final List<String> NUMBER_FIELDS = List.of("layer_norm_epsilon", "pixel_mean", "pixel_std");

    static List<String> numberValues(List<String> values) {
        return values.stream().filter(v -> List.of("\"8\"", "[8]", "{}", "true", "\"\"", "-1", "1e309", "-1e309", "1e-400")
                .contains(v)).toList();
    }

    static ObjectNode readJson(Path f) throws IOException {
        return (ObjectNode) UntrustedJson.MAPPER.readTree(Files.readAllBytes(f));
    }

    static void writeJson(Path f, JsonNode n) throws IOException {
        Files.write(f, UntrustedJson.MAPPER.writeValueAsBytes(n));
    }

    /** Replaces a field of the config with a raw JSON value. */
    static Case configField(SplittableRandom rnd, boolean remove, boolean huge, List<String> values) throws IOException {
        Seed s = seed(rnd);
        Case c = copy(s, rnd, configFile(s.kind()));
        Path f = c.dir().resolve(configFile(s.kind()));
        ObjectNode o = readJson(f);
        List<String> fields = requiredFields(s.kind());
        if (huge) {
            // a huge max_position_embeddings is a valid LLaMA config (no table of positions is stored)
            fields = fields.stream().filter(x -> !x.equals("max_position_embeddings")).toList();
        }
        String field = pick(rnd, fields);
        if (remove) {
            o.remove(field);
        } else {
            o.set(field, UntrustedJson.MAPPER.readTree(pick(rnd, NUMBER_FIELDS.contains(field) ? numberValues(values) : values)));
        }
        writeJson(f, o);
        return c;
    }

    static Case contradictory(SplittableRandom rnd) throws IOException {
        Seed s = seed(rnd);
        // most of these contradict the weights, which export-lora --model does not read
        Case c = copy(s, rnd, configFile(s.kind()), false);
        Path f = c.dir().resolve(configFile(s.kind()));
        ObjectNode o = readJson(f);
        switch (s.kind()) {
            case GPT2, GPT2_SHARDED -> {
                switch (rnd.nextInt(4)) {
                    case 0 -> o.put("n_head", 3);          // 8 is not a multiple of 3
                    case 1 -> o.put("n_layer", 2);         // the file holds one layer
                    case 2 -> o.put("vocab_size", 50000);  // the embedding holds 50257 rows
                    default -> o.put("n_inner", 7);        // not 4·n_embd
                }
            }
            case LLAMA -> {
                switch (rnd.nextInt(4)) {
                    case 0 -> o.put("num_key_value_heads", 3); // does not divide 4 heads
                    case 1 -> o.put("head_dim", 4);            // q_proj is [8, 8]
                    case 2 -> o.put("num_hidden_layers", 2);
                    default -> o.put("tie_word_embeddings", true); // and an untied lm_head in the file
                }
            }
            case VIT -> o.put(rnd.nextBoolean() ? "pixel_std" : "pixel_std", rnd.nextBoolean() ? 0 : -1);
        }
        writeJson(f, o);
        return c;
    }

    static Case configSyntax(SplittableRandom rnd) throws IOException {
        Seed s = seed(rnd);
        Case c = copy(s, rnd, configFile(s.kind()));
        Path f = c.dir().resolve(configFile(s.kind()));
        String j = Files.readString(f);
        String bad = switch (rnd.nextInt(5)) {
            case 0 -> j.substring(0, rnd.nextInt(1, j.length() - 1));
            case 1 -> j.replaceFirst("\\{", "{\"" + pick(rnd, requiredFields(s.kind())) + "\": 1, ");
            case 2 -> j + "{}";
            case 3 -> "[" + j + "]";
            default -> j.replaceFirst(":", ": // comment\n");
        };
        Files.writeString(f, bad);
        return c;
    }

    /** The weight files of a case: the single file, the shards, or the ViT's. */
    static List<Path> weightFiles(Case c) throws IOException {
        try (Stream<Path> s = Files.list(c.dir())) {
            return s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    static Case truncated(SplittableRandom rnd) throws IOException {
        Case c = copy(seed(rnd), rnd, null, false);
        Path f = pick(rnd, weightFiles(c));
        byte[] b = Files.readAllBytes(f);
        int keep = rnd.nextInt(4) == 0 ? rnd.nextInt(0, 9) : rnd.nextInt(0, b.length);
        Files.write(f, java.util.Arrays.copyOf(b, keep));
        return new Case(c.kind(), c.dir(), c.args(), f.getFileName().toString());
    }

    static Case missing(SplittableRandom rnd) throws IOException {
        Case c = copy(seed(rnd), rnd, null, false);
        Path f = pick(rnd, weightFiles(c));
        Files.delete(f);
        return new Case(c.kind(), c.dir(), c.args(), c.kind() == Kind.GPT2_SHARDED ? f.getFileName().toString() : null);
    }

    static Case swapped(SplittableRandom rnd) throws IOException {
        Case c = copy(seed(rnd, Kind.GPT2_SHARDED), rnd, null, false);
        Path a = c.dir().resolve(shardName(0));
        Path b = c.dir().resolve(shardName(1));
        Path t = c.dir().resolve("swap.tmp");
        Files.move(a, t);
        Files.move(b, a);
        Files.move(t, b);
        return new Case(c.kind(), c.dir(), c.args(), HfCheckpoint.INDEX_FILE);
    }

    static Case duplicated(SplittableRandom rnd) throws IOException {
        Case c = copy(seed(rnd, Kind.GPT2_SHARDED), rnd, null, false);
        Path index = c.dir().resolve(HfCheckpoint.INDEX_FILE);
        ObjectNode o = readJson(index);
        if (rnd.nextBoolean()) {
            // a third shard, a copy of the first, named for one of its tensors
            Files.copy(c.dir().resolve(shardName(0)), c.dir().resolve("model-extra.safetensors"));
            ObjectNode map = (ObjectNode) o.get("weight_map");
            String name = map.properties().stream().filter(e -> e.getValue().asText().equals(shardName(0))).findFirst()
                    .orElseThrow().getKey();
            map.put(name, "model-extra.safetensors");
        } else {
            // model.safetensors beside the shards, holding only some of the tensors
            Files.copy(c.dir().resolve(shardName(1)), c.dir().resolve("model.safetensors"));
            return new Case(c.kind(), c.dir(), c.args(), "model.safetensors");
        }
        writeJson(index, o);
        return new Case(c.kind(), c.dir(), c.args(), "safetensors");
    }

    static Case indexAbsent(SplittableRandom rnd) throws IOException {
        Case c = copy(seed(rnd, Kind.GPT2_SHARDED), rnd, HfCheckpoint.INDEX_FILE, false);
        Path index = c.dir().resolve(HfCheckpoint.INDEX_FILE);
        ObjectNode o = readJson(index);
        ObjectNode map = (ObjectNode) o.get("weight_map");
        switch (rnd.nextInt(3)) {
            case 0 -> map.put("h.0.attn.nonexistent.weight", shardName(rnd.nextInt(2)));
            case 1 -> map.remove(map.properties().iterator().next().getKey()); // a tensor the shards hold, unlisted
            default -> map.put("h.7.mlp.c_fc.weight", shardName(0));
        }
        writeJson(index, o);
        return c;
    }

    /** An index entry, or a file, that leads outside the directory, to a valid copy there. */
    static Case outsideIndex(SplittableRandom rnd) throws IOException {
        Case c = copy(seed(rnd, Kind.GPT2_SHARDED), rnd, HfCheckpoint.INDEX_FILE, false);
        Path index = c.dir().resolve(HfCheckpoint.INDEX_FILE);
        ObjectNode o = readJson(index);
        ObjectNode map = (ObjectNode) o.get("weight_map");
        Path rel = c.dir().relativize(outside.resolve("model.safetensors"));
        String target = switch (rnd.nextInt(5)) {
            case 0 -> rel.toString();
            case 1 -> outside.resolve("model.safetensors").toAbsolutePath().toString();
            case 2 -> "./" + rel;
            case 3 -> "sub/../" + shardName(0);
            default -> {
                // a link inside the directory that leads out
                Files.createSymbolicLink(c.dir().resolve("model-link.safetensors"), outside.resolve("model.safetensors"));
                yield "model-link.safetensors";
            }
        };
        // every tensor points out: a loader that followed would find all of them there
        map.properties().forEach(e -> e.setValue(UntrustedJson.MAPPER.getNodeFactory().textNode(target)));
        for (int s = 0; s < 2; s++) {
            Files.delete(c.dir().resolve(shardName(s)));
        }
        writeJson(index, o);
        return c;
    }

    static Case linkOutside(SplittableRandom rnd) throws IOException {
        String name = rnd.nextBoolean() ? "config.json" : "model.safetensors";
        Case c = copy(seed(rnd, Kind.GPT2), rnd, null, name.equals("config.json"));
        Files.delete(c.dir().resolve(name));
        Path target = rnd.nextBoolean() ? outside.resolve(name) : c.dir().relativize(outside.resolve(name));
        Files.createSymbolicLink(c.dir().resolve(name), target);
        return new Case(c.kind(), c.dir(), c.args(), name);
    }

    /** Rewrites one tensor's header entry in a safetensors file: another dtype, or another shape. */
    static Case dtypeShape(SplittableRandom rnd) throws IOException {
        Case c = copy(seed(rnd), rnd, null, false);
        Path f = pick(rnd, weightFiles(c));
        byte[] b = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode h = (ObjectNode) UntrustedJson.MAPPER.readTree(new String(b, 8, (int) n, StandardCharsets.UTF_8));
        List<String> names = h.properties().stream().map(Map.Entry::getKey).filter(k -> !k.equals("__metadata__")).toList();
        ObjectNode t = (ObjectNode) h.get(pick(rnd, names));
        ArrayNode shape = (ArrayNode) t.get("shape");
        switch (rnd.nextInt(5)) {
            case 0 -> t.put("dtype", pick(rnd, List.of("F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E4M3", "X")));
            case 1 -> {
                // the same number of elements in another shape (a transposed or flattened tensor)
                long count = 1;
                for (JsonNode d : shape) {
                    count *= d.asLong();
                }
                shape.removeAll();
                if (count % 2 == 0 && rnd.nextBoolean()) {
                    shape.add(2).add(count / 2);
                } else {
                    shape.add(count).add(1);
                }
            }
            case 2 -> shape.add(1);
            case 3 -> shape.set(0, UntrustedJson.MAPPER.getNodeFactory().numberNode(shape.get(0).asLong() + 1));
            default -> t.put("dtype", "F16"); // half the bytes described: the offsets no longer tile the data
        }
        byte[] json = UntrustedJson.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                .writeValueAsBytes(h);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + b.length - 8 - (int) n).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        out.put(b, 8 + (int) n, b.length - 8 - (int) n);
        Files.write(f, out.array());
        return new Case(c.kind(), c.dir(), c.args(), f.getFileName().toString());
    }

    // ---- tokenizer.json and tokenizer_config.json: read by eval, finetune and generate (score takes ids; merge and
    // export-lora read no text: tokenizerFilesAreReadOnlyWhereTextIs checks that they ignore the files) ----

    static final String TOK = HfTokenizer.TOKENIZER_FILE;
    static final String TOK_CONFIG = HfTokenizer.CONFIG_FILE;

    /** A fresh copy of the LLaMA seed and one of the commands that tokenize text (eval, finetune, generate). */
    static Case tokenizing(SplittableRandom rnd, String file, String field) throws IOException {
        return copy(seed(rnd, Kind.LLAMA), 1 + rnd.nextInt(3), file, field);
    }

    static JsonNode json(String raw) throws IOException {
        return UntrustedJson.MAPPER.readTree(raw);
    }

    /** tokenizer.json or tokenizer_config.json that is not JSON, or not an object. */
    static Case tokenizerSyntax(SplittableRandom rnd) throws IOException {
        String name = rnd.nextInt(3) == 0 ? TOK_CONFIG : TOK;
        Case c = tokenizing(rnd, name, null);
        Path f = c.dir().resolve(name);
        String j = Files.readString(f).strip();
        switch (rnd.nextInt(6)) {
            case 0 -> Files.writeString(f, j.substring(0, rnd.nextInt(1, j.length() - 1)));
            case 1 -> Files.writeString(f, j + "{}");
            case 2 -> Files.writeString(f, "[" + j + "]");
            case 3 -> Files.writeString(f, "");
            case 4 -> Files.writeString(f, j.replaceFirst(":", ": // comment\n"));
            default -> {
                byte[] junk = new byte[rnd.nextInt(1, 200)];
                rnd.nextBytes(junk);
                junk[0] = (byte) 0xFF; // not the start of any JSON value
                Files.write(f, junk);
            }
        }
        return c;
    }

    /** tokenizer.json with a field of the wrong type or value; the refusal names it. */
    static Case tokenizerWrongType(SplittableRandom rnd) throws IOException {
        Case c = tokenizing(rnd, TOK, null);
        Path f = c.dir().resolve(TOK);
        ObjectNode root = readJson(f);
        ObjectNode model = (ObjectNode) root.get("model");
        String field;
        switch (rnd.nextInt(8)) {
            case 0 -> {
                field = "model.type";
                model.set("type", json(pick(rnd, List.of("\"Unigram\"", "\"WordPiece\"", "\"WordLevel\"", "\"bpe\"", "1",
                        "null", "[\"BPE\"]"))));
            }
            case 1 -> {
                field = "model.vocab";
                model.set("vocab", json(pick(rnd, List.of("[\"a\", \"b\"]", "[[\"a\", 0]]", "\"vocab.json\"", "null", "7"))));
            }
            case 2 -> {
                field = "model.vocab[";
                String token = pick(rnd, List.of("he", "Ġthe", "a", byteChar(0)));
                ((ObjectNode) model.get("vocab")).set(token, json(pick(rnd, List.of("\"5\"", "1.5", "-1", "-2147483648",
                        "2147483648", "16777216", "9223372036854775807", "true", "null", "[3]"))));
            }
            case 3 -> {
                field = "model";
                root.set("model", json(pick(rnd, List.of("[]", "\"BPE\"", "null", "1"))));
            }
            case 4 -> {
                field = "model.merges";
                model.set("merges", json(pick(rnd, List.of("{\"h\": \"e\"}", "\"h e\"", "7", "true"))));
            }
            case 5 -> {
                field = "added_tokens";
                if (rnd.nextBoolean()) {
                    root.set("added_tokens", json(pick(rnd, List.of("{}", "\"<s>\"", "3"))));
                } else {
                    ObjectNode a = (ObjectNode) root.get("added_tokens").get(rnd.nextInt(2));
                    switch (rnd.nextInt(4)) {
                        case 0 -> a.set("id", json(pick(rnd, List.of("\"263\"", "-1", "263.5", "null", "4294967296"))));
                        case 1 -> a.remove("id");
                        case 2 -> a.set("content", json(pick(rnd, List.of("\"\"", "5", "null", "[\"<s>\"]"))));
                        default -> a.set("special", json(pick(rnd, List.of("\"yes\"", "1", "[true]"))));
                    }
                }
            }
            case 6 -> {
                field = "model.unk_token";
                model.set("unk_token", json(pick(rnd, List.of("\"<unk>\"", "\"zz\"", "5", "{}"))));
            }
            default -> {
                field = "model.byte_fallback";
                model.set("byte_fallback", json(pick(rnd, List.of("\"yes\"", "1", "[]"))));
            }
        }
        writeJson(f, root);
        return new Case(c.kind(), c.dir(), c.args(), TOK, field);
    }

    /** Merges that name tokens the vocabulary lacks, or that are not a pair of tokens. */
    static Case tokenizerMerges(SplittableRandom rnd) throws IOException {
        Case c = tokenizing(rnd, TOK, "model.merges");
        Path f = c.dir().resolve(TOK);
        ObjectNode root = readJson(f);
        ArrayNode merges = (ArrayNode) root.get("model").get("merges");
        JsonNode bad = json(pick(rnd, List.of(
                "\"zz e\"", "\"h qq\"", "\"<none> Ġt\"",  // a part the vocabulary lacks
                "\"h a\"", "\"Ġ e\"",                       // both parts known, the merged token ("ha", "Ġe") not
                "\"<s> </s>\"",                              // added tokens are not the model's vocabulary
                "\"he\"", "\"h e l\"", "\"\"", "\" \"",        // not a pair
                "5", "null", "[\"h\"]", "[\"h\", 5]", "[\"zz\", \"e\"]")));
        if (rnd.nextBoolean()) {
            merges.add(bad);
        } else {
            merges.insert(rnd.nextInt(merges.size() + 1), bad);
        }
        writeJson(f, root);
        return c;
    }

    /** A token id (in range for a tokenizer) beyond the model's vocab_size: the model has no row for it. */
    static Case tokenizerIdsBeyondModel(SplittableRandom rnd) throws IOException {
        Case c = tokenizing(rnd, TOK, null);
        Path f = c.dir().resolve(TOK);
        ObjectNode root = readJson(f);
        int id = pick(rnd, List.of(LLAMA_VOCAB, LLAMA_VOCAB + 1, 50257, 100_000, HfTokenizer.MAX_IDS - 1));
        if (rnd.nextBoolean()) {
            ((ObjectNode) root.get("added_tokens").get(rnd.nextInt(2))).put("id", id);
        } else if (rnd.nextBoolean()) {
            ((ArrayNode) root.get("added_tokens")).add(addedToken(id, "<pad>"));
        } else {
            ((ObjectNode) root.get("model").get("vocab")).put(pick(rnd, MERGED), id);
        }
        writeJson(f, root);
        return c;
    }

    /** A file over its limit (sparse: nothing is written): 64 MiB for tokenizer.json, 4 MiB for its config. */
    static Case tokenizerHuge(SplittableRandom rnd) throws IOException {
        boolean config = rnd.nextInt(3) == 0;
        String name = config ? TOK_CONFIG : TOK;
        Case c = tokenizing(rnd, name, null);
        long limit = config ? HfTokenizer.MAX_CONFIG_BYTES : HfTokenizer.MAX_TOKENIZER_BYTES;
        try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(c.dir().resolve(name).toFile(), "rw")) {
            r.setLength(limit + 1 + rnd.nextLong(rnd.nextBoolean() ? 1 : 1L << 32));
        }
        return c;
    }

    /** tokenizer_config.json well-formed but wrong: a field of the wrong type, a special token the vocabulary lacks. */
    static Case tokenizerConfig(SplittableRandom rnd) throws IOException {
        Case c = tokenizing(rnd, TOK_CONFIG, null);
        Path f = c.dir().resolve(TOK_CONFIG);
        ObjectNode o = readJson(f);
        String field;
        switch (rnd.nextInt(7)) {
            case 0 -> {
                field = "add_bos_token";
                o.set(field, json(pick(rnd, List.of("\"true\"", "\"yes\"", "1", "[]", "{}"))));
            }
            case 1 -> {
                field = "add_eos_token";
                o.set(field, json(pick(rnd, List.of("\"false\"", "0", "[false]"))));
            }
            case 2 -> {
                field = "bos_token";
                o.set(field, json(pick(rnd, List.of("\"<bos>\"", "\"<|begin_of_text|>\"", "\"\"", "{\"content\": \"<BOS>\"}",
                        "263", "[\"<s>\"]", "{\"content\": 263}", "{}"))));
            }
            case 3 -> {
                field = "eos_token";
                o.set(field, json(pick(rnd, List.of("\"<eos>\"", "264", "null", "{\"content\": null}", "true"))));
            }
            case 4 -> {
                field = "eos_token";
                o.remove(field);
            }
            case 5 -> {
                // bos wanted, none named
                field = "add_bos_token";
                o.put("add_bos_token", true);
                if (rnd.nextBoolean()) {
                    o.remove("bos_token");
                } else {
                    o.putNull("bos_token");
                }
            }
            default -> {
                field = null; // the top level is not an object
                writeJson(f, json(pick(rnd, List.of("[]", "\"<s>\"", "null", "3"))));
                return c;
            }
        }
        writeJson(f, o);
        return new Case(c.kind(), c.dir(), c.args(), TOK_CONFIG, field);
    }

    /** A tokenizer file replaced by a link to a valid copy outside the directory. */
    static Case tokenizerLinkOutside(SplittableRandom rnd) throws IOException {
        String name = rnd.nextBoolean() ? TOK : TOK_CONFIG;
        Case c = tokenizing(rnd, name, null);
        Files.delete(c.dir().resolve(name));
        Path target = rnd.nextBoolean() ? outside.resolve(name) : c.dir().relativize(outside.resolve(name));
        Files.createSymbolicLink(c.dir().resolve(name), target);
        return c;
    }

    /** Something other than a regular file at a tokenizer file's name: a directory, a dangling link, nothing. */
    static Case tokenizerNotAFile(SplittableRandom rnd) throws IOException {
        String name = rnd.nextBoolean() ? TOK : TOK_CONFIG;
        Case c = tokenizing(rnd, name, null);
        Path f = c.dir().resolve(name);
        Files.delete(f);
        switch (rnd.nextInt(3)) {
            case 0 -> Files.createDirectory(f);
            case 1 -> Files.createSymbolicLink(f, Path.of("absent-" + name));
            default -> {
                // missing
            }
        }
        return c;
    }

    static void tokenizerMutations(FuzzHarness<Case> h) {
        h.mutation("TOKENIZER_SYNTAX", true, (s, rnd) -> tokenizerSyntax(rnd));
        h.mutation("TOKENIZER_WRONG_TYPE", true, (s, rnd) -> tokenizerWrongType(rnd));
        h.mutation("TOKENIZER_MERGES", true, (s, rnd) -> tokenizerMerges(rnd));
        h.mutation("TOKENIZER_IDS_BEYOND_MODEL", true, (s, rnd) -> tokenizerIdsBeyondModel(rnd));
        h.mutation("TOKENIZER_HUGE", true, (s, rnd) -> tokenizerHuge(rnd));
        h.mutation("TOKENIZER_CONFIG", true, (s, rnd) -> tokenizerConfig(rnd));
        h.mutation("TOKENIZER_LINK_OUTSIDE", true, (s, rnd) -> tokenizerLinkOutside(rnd));
        h.mutation("TOKENIZER_NOT_A_FILE", true, (s, rnd) -> tokenizerNotAFile(rnd));
    }

    static FuzzHarness<Case> harness() {
        FuzzHarness<Case> h = new FuzzHarness<>(List.of(new Case(Kind.GPT2, null, new String[0], null)), (c, i) -> {
            CliTest.Result r = CliTest.run(c.args());
            if (r.status() == 0) {
                return;
            }
            List<String> lines = r.err().lines().toList();
            if (r.status() != 2 || lines.size() != 1) {
                throw new AssertionError("status " + r.status() + ", " + lines.size() + " lines on stderr: " + r.err());
            }
            throw new IllegalArgumentException(lines.getFirst());
        });
        List<String> wrongType = List.of("\"8\"", "[8]", "{}", "true", "3.5", "-1", "0", "\"\"");
        List<String> huge = List.of("2147483647", "2147483648", "9223372036854775807", "99999999999999999999999", "1e309",
                "65536", "1048576", "4097", "1e-400");
        h.mutation("CONFIG_WRONG_TYPE", true, (s, rnd) -> configField(rnd, false, false, wrongType));
        h.mutation("CONFIG_MISSING", true, (s, rnd) -> configField(rnd, true, false, List.of()));
        h.mutation("CONFIG_HUGE", true, (s, rnd) -> configField(rnd, false, true, huge));
        h.mutation("CONFIG_CONTRADICTORY", true, (s, rnd) -> contradictory(rnd));
        h.mutation("CONFIG_SYNTAX", true, (s, rnd) -> configSyntax(rnd));
        h.mutation("SHARD_TRUNCATED", true, (s, rnd) -> truncated(rnd));
        h.mutation("SHARD_MISSING", true, (s, rnd) -> missing(rnd));
        h.mutation("SHARD_SWAPPED", true, (s, rnd) -> swapped(rnd));
        h.mutation("SHARD_DUPLICATED", true, (s, rnd) -> duplicated(rnd));
        h.mutation("INDEX_ABSENT_TENSOR", true, (s, rnd) -> indexAbsent(rnd));
        h.mutation("INDEX_OUTSIDE", true, (s, rnd) -> outsideIndex(rnd));
        h.mutation("LINK_OUTSIDE", true, (s, rnd) -> linkOutside(rnd));
        h.mutation("DTYPE_SHAPE", true, (s, rnd) -> dtypeShape(rnd));
        tokenizerMutations(h);
        return h.check(ModelDirFuzzTest::check);
    }

    /** The refusal names the mutated file; nothing outside was read; the case's files are tidied away. */
    static String check(Case c, Throwable error) throws IOException {
        String problem = null;
        if (error != null) {
            String m = error.getMessage();
            String file = c.file();
            if (file != null && !m.contains(file) && !(file.equals("safetensors") && m.contains(".safetensors"))) {
                problem = "the message does not name " + file;
            } else if (c.field() != null && !m.contains(c.field())) {
                problem = "the message does not name the field " + c.field();
            } else if (!m.contains(c.dir().toString()) && !m.contains(c.dir().getFileName().toString())) {
                problem = "the message does not name the model directory " + c.dir();
            }
        }
        if (atimeWorks && problem == null) {
            for (Path f : outsideFiles()) {
                FileTime m = Files.getLastModifiedTime(f);
                if (atime(f).toMillis() > m.toMillis() - 86_400_000L + 1000) {
                    problem = "read " + f + ", outside the model directory";
                    age(f);
                }
            }
        }
        delete(c.dir().getParent());
        return problem;
    }

    static void delete(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * The commands that read no text (score takes ids; merge writes weights) do not read the tokenizer files, so
     * broken ones do not stop them; the ones that read text refuse the same directory (the files are broken).
     */
    @Test
    void tokenizerFilesAreReadOnlyWhereTextIs() throws IOException {
        Case c = copy(seed(new SplittableRandom(1), Kind.LLAMA), 0, null, null);
        Files.writeString(c.dir().resolve(TOK), "{\"model\": ");
        Files.writeString(c.dir().resolve(TOK_CONFIG), "[]");
        Path out = c.dir().resolveSibling("out");
        for (int which : new int[] {0, 5, 1, 2, 3}) {
            String[] args = command(Kind.LLAMA, c.dir(), which, out.resolve("c" + which));
            CliTest.Result r = CliTest.run(args);
            if (which == 0 || which == 5) {
                assertEquals(0, r.status(), String.join(" ", args) + ": " + r.err());
            } else {
                assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
                assertTrue(r.err().strip().lines().count() == 1 && r.err().contains(TOK), r.err());
            }
        }
        delete(c.dir().getParent());
    }

    @Test
    void hostileModelDirectoriesAreRefusedInOneLineThroughEveryCommand() {
        long t0 = System.nanoTime();
        FuzzHarness.Report r = harness().run(2121, CASES, LIMIT, PER_CASE).print("model-dir fuzz");
        System.out.printf("[model-fuzz] %d cases, %d classes, %.1f s%n", r.cases(), harness().names().size(),
                (System.nanoTime() - t0) / 1e9);
        r.assertClean();
        assertEquals(CASES, r.cases());
        assertTrue(r.count(FuzzHarness.Outcome.REJECTED) == CASES, "every class here is always invalid");
    }
}
