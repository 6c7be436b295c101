package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.models.Messages;
import dev.nola.models.lm.HfCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** GPT-2 checkpoints through {@link HfCheckpoint}: every variant of {@link TinyGpt2}, and the loader's messages. */
class Gpt2HfCheckpointTest {

    @TempDir
    Path tmp;

    private static void assertSameTensors(Map<String, float[]> expected, HfCheckpoint c) {
        assertEquals(expected.keySet(), c.tensors().keySet());
        expected.forEach((name, v) -> assertArrayEquals(v, c.tensors().get(name), 0f, name));
    }

    @Test
    void loadsTheTinyFixtureBitExactly() {
        Map<String, float[]> expected = new TinyGpt2().write(tmp);
        HfCheckpoint c = HfCheckpoint.load(tmp);
        assertEquals(TinyGpt2.CONFIG, c.config());
        assertSameTensors(expected, c);
        // the table is the config's, and tensor(name) is the map's array, not a copy
        assertEquals(TinyGpt2.CONFIG.spec().model().weights().shapes().keySet(), c.table().shapes().keySet());
        assertArrayEquals(new int[] {8, 24}, c.table().shape("h.0.attn.c_attn.weight"));
        assertSame(c.tensors().get("h.1.mlp.c_fc.weight"), c.tensor("h.1.mlp.c_fc.weight"));
        assertSame(c.tensors().get("ln_f.bias"), c.tensor("ln_f.bias"));
        assertSame(c.tensors().get(c.config().spec().tokenEmbedding()), c.tensor("wte.weight"));
        assertSame(c.tensors().get(c.config().spec().positionEmbedding()), c.tensor("wpe.weight"));
    }

    @Test
    void acceptsThePrefixTheMaskBuffersAndATiedHead() {
        Map<String, float[]> expected = new TinyGpt2().prefix(true).maskBuffers(true).head(TinyGpt2.Head.TIED).write(tmp);
        assertSameTensors(expected, HfCheckpoint.load(tmp));
    }

    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16"})
    void convertsHalfPrecisionToFloat(String dtype) {
        Map<String, float[]> expected = new TinyGpt2().dtype(dtype).head(TinyGpt2.Head.TIED).write(tmp);
        assertSameTensors(expected, HfCheckpoint.load(tmp));
    }

    @Test
    void refusesOtherDtypes() {
        new TinyGpt2().retype("h.0.ln_1.bias", "I32").write(tmp);
        String m = Messages.of(() -> HfCheckpoint.load(tmp));
        assertTrue(m.contains("model.safetensors") && m.contains("'h.0.ln_1.bias' is I32"), m);
    }

    @Test
    void refusesAnUntiedHead() {
        new TinyGpt2().head(TinyGpt2.Head.UNTIED).write(tmp);
        String m = Messages.of(() -> HfCheckpoint.load(tmp));
        assertTrue(m.contains("'lm_head.weight' differs from wte.weight at element 3"), m);
    }

    @Test
    void namesAMissingTensor() {
        new TinyGpt2().omit("h.1.mlp.c_fc.weight").write(tmp);
        String m = Messages.of(() -> HfCheckpoint.load(tmp));
        assertTrue(m.startsWith(tmp.resolve("model.safetensors").toString()), m);
        assertTrue(m.contains("tensor 'h.1.mlp.c_fc.weight' is missing") && m.contains("[8, 32]"), m);
    }

    @Test
    void namesAMisshapedTensor() {
        new TinyGpt2().prefix(true).reshape("h.0.attn.c_attn.weight", 24, 8).write(tmp);
        String m = Messages.of(() -> HfCheckpoint.load(tmp));
        assertTrue(m.contains("tensor 'transformer.h.0.attn.c_attn.weight' has shape [24, 8]")
                && m.contains("expects [8, 24]"), m);
    }

    @Test
    void saysWhenTheConfigDisagreesWithTheWeights() throws IOException {
        Gpt2Config wider = new Gpt2Config(16, 2, 2, 16, 32, 1e-5f, "gelu_new");
        new TinyGpt2().write(tmp);
        Files.write(tmp.resolve("config.json"), wider.toJson());
        String m = Messages.of(() -> HfCheckpoint.load(tmp));
        assertTrue(m.contains("'wte.weight' has shape [32, 8]") && m.contains("config.json (vocab_size = 32, n_embd = 16)")
                && m.contains("expects [32, 16]"), m);

        Gpt2Config shallower = new Gpt2Config(8, 2, 1, 16, 32, 1e-5f, "gelu_new");
        Files.write(tmp.resolve("config.json"), shallower.toJson());
        m = Messages.of(() -> HfCheckpoint.load(tmp));
        assertTrue(m.contains("belongs to layer 1") && m.contains("n_layer = 1"), m);

        Gpt2Config deeper = new Gpt2Config(8, 2, 3, 16, 32, 1e-5f, "gelu_new");
        Files.write(tmp.resolve("config.json"), deeper.toJson());
        m = Messages.of(() -> HfCheckpoint.load(tmp));
        assertTrue(m.contains("'h.2.ln_1.weight' is missing") && m.contains("n_layer = 3"), m);
    }

    @Test
    void refusesUnknownAndDuplicatedTensors() {
        new TinyGpt2().extra("score.weight", 2, 8).write(tmp);
        String m = Messages.of(() -> HfCheckpoint.load(tmp));
        assertTrue(m.contains("'score.weight' is not part of GPT-2"), m);

        Path other = tmp.resolve("dup");
        new TinyGpt2().extra("transformer.ln_f.bias", 8).write(other);
        m = Messages.of(() -> HfCheckpoint.load(other));
        assertTrue(m.contains("'ln_f.bias' and 'transformer.ln_f.bias'"), m);
    }

    @Test
    void namesAMissingFile() throws IOException {
        new TinyGpt2().write(tmp);
        Files.delete(tmp.resolve("model.safetensors"));
        String m = Messages.of(() -> HfCheckpoint.load(tmp));
        assertTrue(m.contains("model.safetensors") && m.contains("no such file"), m);
        m = Messages.of(() -> HfCheckpoint.load(tmp.resolve("absent")));
        assertTrue(m.contains("absent: not a directory"), m);
    }

    @Test
    void writesWhatItLoadsAndWhatTheSafetensorsReaderReads() {
        Map<String, float[]> expected = new TinyGpt2().prefix(true).maskBuffers(true).seed(7).write(tmp.resolve("in"));
        HfCheckpoint loaded = HfCheckpoint.load(tmp.resolve("in"));
        Path out = tmp.resolve("out");
        loaded.write(out);
        HfCheckpoint again = HfCheckpoint.load(out);
        assertEquals(loaded.config(), again.config());
        assertSameTensors(expected, again);
        try (SafeTensorsReader r = SafeTensorsReader.open(out.resolve("model.safetensors"))) {
            assertEquals("pt", r.metadata().get("format"));
            assertEquals(TinyGpt2.CONFIG.spec().model().weights().shapes().keySet(), r.tensors().keySet());
        }
        // written again over itself: replaced, still loadable, no temporary files left beside it
        again.tensors().get("ln_f.bias")[0] = 42f;
        again.write(out);
        assertEquals(42f, HfCheckpoint.load(out).tensor("ln_f.bias")[0]);
        assertEquals(2, tmp.toFile().list().length, String.join(",", tmp.toFile().list()));
    }

    @Test
    void refusesToReplaceADirectoryWithOtherFiles() throws IOException {
        HfCheckpoint c = HfCheckpoint.zeros(TinyGpt2.CONFIG);
        Files.writeString(tmp.resolve("notes.txt"), "mine");
        String m = Messages.of(() -> c.write(tmp));
        assertTrue(m.contains("holds 'notes.txt', which this command does not write"), m);
        assertTrue(Files.exists(tmp.resolve("notes.txt")));
        assertFalse(Files.exists(tmp.resolve("model.safetensors")));
    }

    @Test
    void buildsFromArraysWithChecks() {
        Map<String, float[]> t = HfCheckpoint.zeros(TinyGpt2.CONFIG).tensors();
        Map<String, float[]> copy = new java.util.LinkedHashMap<>(t);
        copy.put("h.0.ln_2.bias", new float[7]);
        String m = Messages.of(() -> HfCheckpoint.of(TinyGpt2.CONFIG, copy));
        assertTrue(m.contains("'h.0.ln_2.bias' has 7 floats; expected [8]"), m);
        copy.remove("h.0.ln_2.bias");
        m = Messages.of(() -> HfCheckpoint.of(TinyGpt2.CONFIG, copy));
        assertTrue(m.contains("'h.0.ln_2.bias' is missing"), m);
    }

    @Test
    void loadsShardsAsTheSingleFile() {
        Map<String, float[]> single = new TinyGpt2().prefix(true).maskBuffers(true).head(TinyGpt2.Head.TIED).seed(4)
                .write(tmp.resolve("one"));
        Map<String, float[]> sharded = new TinyGpt2().prefix(true).maskBuffers(true).head(TinyGpt2.Head.TIED).seed(4)
                .sharded(true).write(tmp.resolve("two"));
        assertFalse(Files.exists(tmp.resolve("two").resolve(HfCheckpoint.WEIGHTS_FILE)), "only the index and shards");
        HfCheckpoint a = HfCheckpoint.load(tmp.resolve("one"));
        HfCheckpoint b = HfCheckpoint.load(tmp.resolve("two"));
        assertSameTensors(single, b);
        assertSameTensors(sharded, a);
        assertEquals(a.config(), b.config());
        assertEquals(java.util.List.copyOf(a.tensors().keySet()), java.util.List.copyOf(b.tensors().keySet()));
    }

    /** Rewrites one entry of the index's weight_map. */
    private static void indexEntry(Path dir, String key, String file) throws IOException {
        Path index = dir.resolve(HfCheckpoint.INDEX_FILE);
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Files.readString(index));
        ((com.fasterxml.jackson.databind.node.ObjectNode) root.get("weight_map")).put(key, file);
        Files.writeString(index, root.toPrettyString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x.safetensors", "/ABS/x.safetensors", "sub/x.safetensors", "..", "link.safetensors",
            "model-00003-of-00003.safetensors", "sub"})
    void refusesAShardOutsideTheDirectoryOrMissing(String file) throws IOException {
        Path dir = tmp.resolve("ck");
        new TinyGpt2().sharded(true).write(dir);
        // each name would reach a real shard if the loader followed it: the check, not a missing file, refuses it
        Files.createDirectories(dir.resolve("sub"));
        Files.copy(dir.resolve(TinyGpt2.SHARD_2), dir.resolve("sub").resolve("x.safetensors"));
        Files.copy(dir.resolve(TinyGpt2.SHARD_2), tmp.resolve("x.safetensors"));
        Files.createSymbolicLink(dir.resolve("link.safetensors"), dir.resolve(TinyGpt2.SHARD_2));
        String name = file.replace("/ABS", tmp.toString());
        indexEntry(dir, "h.1.ln_2.bias", name);
        String m = Messages.of(() -> HfCheckpoint.load(dir));
        assertTrue(m.startsWith(dir.resolve(HfCheckpoint.INDEX_FILE).toString()), m);
        assertTrue(m.contains("weight_map['h.1.ln_2.bias']") && m.contains(name), m);
    }

    @Test
    void refusesATensorInTwoShards() {
        Path dir = tmp.resolve("ck");
        // h.0.ln_1.weight is in the first shard; a copy goes into the second
        new TinyGpt2().sharded(true).extra("h.0.ln_1.weight", 8).write(dir);
        String m = Messages.of(() -> HfCheckpoint.load(dir));
        assertTrue(m.startsWith(dir.resolve(TinyGpt2.SHARD_2).toString()), m);
        assertTrue(m.contains("'h.0.ln_1.weight'") && m.contains("in two shards"), m);
    }

    @Test
    void namesAMissingIndexOrWeightMap() throws IOException {
        Path dir = tmp.resolve("ck");
        new TinyGpt2().sharded(true).write(dir);
        Files.writeString(dir.resolve(HfCheckpoint.INDEX_FILE), "{\"metadata\": {}}");
        String m = Messages.of(() -> HfCheckpoint.load(dir));
        assertTrue(m.contains(HfCheckpoint.INDEX_FILE) && m.contains("'weight_map' is missing"), m);
        Files.delete(dir.resolve(HfCheckpoint.INDEX_FILE));
        m = Messages.of(() -> HfCheckpoint.load(dir));
        assertTrue(m.contains("model.safetensors") && m.contains("no such file") && m.contains(HfCheckpoint.INDEX_FILE), m);
    }
}
