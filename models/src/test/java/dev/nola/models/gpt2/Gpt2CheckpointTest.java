package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.models.Messages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Gpt2CheckpointTest {

    @TempDir
    Path tmp;

    private static void assertSameTensors(Map<String, float[]> expected, Gpt2Checkpoint c) {
        assertEquals(expected.keySet(), c.tensors().keySet());
        expected.forEach((name, v) -> assertArrayEquals(v, c.tensors().get(name), 0f, name));
    }

    @Test
    void loadsTheTinyFixtureBitExactly() {
        Map<String, float[]> expected = new TinyGpt2().write(tmp);
        Gpt2Checkpoint c = Gpt2Checkpoint.load(tmp);
        assertEquals(TinyGpt2.CONFIG, c.config());
        assertSameTensors(expected, c);
        assertEquals(2, c.blocks().size());
        // the structured view and the map share the arrays
        assertSame(c.tensors().get("h.1.mlp.c_fc.weight"), c.block(1).fc().weight());
        assertSame(c.tensors().get("h.0.attn.c_attn.bias"), c.block(0).attn().bias());
        assertEquals(8, c.block(0).attn().in());
        assertEquals(24, c.block(0).attn().out());
        assertSame(c.tensors().get("ln_f.bias"), c.finalNorm().bias());
        assertSame(c.tensors().get("wte.weight"), c.tokenEmbedding());
        assertSame(c.tensors().get("wpe.weight"), c.positionEmbedding());
    }

    @Test
    void acceptsThePrefixTheMaskBuffersAndATiedHead() {
        Map<String, float[]> expected = new TinyGpt2().prefix(true).maskBuffers(true).head(TinyGpt2.Head.TIED).write(tmp);
        assertSameTensors(expected, Gpt2Checkpoint.load(tmp));
    }

    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16"})
    void convertsHalfPrecisionToFloat(String dtype) {
        Map<String, float[]> expected = new TinyGpt2().dtype(dtype).head(TinyGpt2.Head.TIED).write(tmp);
        assertSameTensors(expected, Gpt2Checkpoint.load(tmp));
    }

    @Test
    void refusesOtherDtypes() {
        new TinyGpt2().retype("h.0.ln_1.bias", "I32").write(tmp);
        String m = Messages.of(() -> Gpt2Checkpoint.load(tmp));
        assertTrue(m.contains("model.safetensors") && m.contains("'h.0.ln_1.bias' is I32"), m);
    }

    @Test
    void refusesAnUntiedHead() {
        new TinyGpt2().head(TinyGpt2.Head.UNTIED).write(tmp);
        String m = Messages.of(() -> Gpt2Checkpoint.load(tmp));
        assertTrue(m.contains("'lm_head.weight' differs from wte.weight at element 3"), m);
    }

    @Test
    void namesAMissingTensor() {
        new TinyGpt2().omit("h.1.mlp.c_fc.weight").write(tmp);
        String m = Messages.of(() -> Gpt2Checkpoint.load(tmp));
        assertTrue(m.startsWith(tmp.resolve("model.safetensors").toString()), m);
        assertTrue(m.contains("tensor 'h.1.mlp.c_fc.weight' is missing") && m.contains("[8, 32]"), m);
    }

    @Test
    void namesAMisshapedTensor() {
        new TinyGpt2().prefix(true).reshape("h.0.attn.c_attn.weight", 24, 8).write(tmp);
        String m = Messages.of(() -> Gpt2Checkpoint.load(tmp));
        assertTrue(m.contains("tensor 'transformer.h.0.attn.c_attn.weight' has shape [24, 8]")
                && m.contains("expects [8, 24]"), m);
    }

    @Test
    void saysWhenTheConfigDisagreesWithTheWeights() throws IOException {
        Gpt2Config wider = new Gpt2Config(16, 2, 2, 16, 32, 1e-5f, "gelu_new");
        new TinyGpt2().write(tmp);
        Files.write(tmp.resolve("config.json"), wider.toJson());
        String m = Messages.of(() -> Gpt2Checkpoint.load(tmp));
        assertTrue(m.contains("'wte.weight' has shape [32, 8]") && m.contains("config.json (vocab_size = 32, n_embd = 16)")
                && m.contains("expects [32, 16]"), m);

        Gpt2Config shallower = new Gpt2Config(8, 2, 1, 16, 32, 1e-5f, "gelu_new");
        Files.write(tmp.resolve("config.json"), shallower.toJson());
        m = Messages.of(() -> Gpt2Checkpoint.load(tmp));
        assertTrue(m.contains("belongs to layer 1") && m.contains("n_layer = 1"), m);

        Gpt2Config deeper = new Gpt2Config(8, 2, 3, 16, 32, 1e-5f, "gelu_new");
        Files.write(tmp.resolve("config.json"), deeper.toJson());
        m = Messages.of(() -> Gpt2Checkpoint.load(tmp));
        assertTrue(m.contains("'h.2.ln_1.weight' is missing") && m.contains("n_layer = 3"), m);
    }

    @Test
    void refusesUnknownAndDuplicatedTensors() {
        new TinyGpt2().extra("score.weight", 2, 8).write(tmp);
        String m = Messages.of(() -> Gpt2Checkpoint.load(tmp));
        assertTrue(m.contains("'score.weight' is not part of GPT-2"), m);

        Path other = tmp.resolve("dup");
        new TinyGpt2().extra("transformer.ln_f.bias", 8).write(other);
        m = Messages.of(() -> Gpt2Checkpoint.load(other));
        assertTrue(m.contains("'ln_f.bias' and 'transformer.ln_f.bias'"), m);
    }

    @Test
    void namesAMissingFile() throws IOException {
        new TinyGpt2().write(tmp);
        Files.delete(tmp.resolve("model.safetensors"));
        String m = Messages.of(() -> Gpt2Checkpoint.load(tmp));
        assertTrue(m.contains("model.safetensors") && m.contains("no such file"), m);
        m = Messages.of(() -> Gpt2Checkpoint.load(tmp.resolve("absent")));
        assertTrue(m.contains("absent: not a directory"), m);
    }

    @Test
    void writesWhatItLoadsAndWhatTheSafetensorsReaderReads() {
        Map<String, float[]> expected = new TinyGpt2().prefix(true).maskBuffers(true).seed(7).write(tmp.resolve("in"));
        Gpt2Checkpoint loaded = Gpt2Checkpoint.load(tmp.resolve("in"));
        Path out = tmp.resolve("out");
        loaded.write(out);
        Gpt2Checkpoint again = Gpt2Checkpoint.load(out);
        assertEquals(loaded.config(), again.config());
        assertSameTensors(expected, again);
        try (SafeTensorsReader r = SafeTensorsReader.open(out.resolve("model.safetensors"))) {
            assertEquals("pt", r.metadata().get("format"));
            assertEquals(Gpt2Checkpoint.shapes(TinyGpt2.CONFIG).keySet(), r.tensors().keySet());
        }
        // written again over itself: replaced, still loadable, no temporary files left beside it
        again.tensors().get("ln_f.bias")[0] = 42f;
        again.write(out);
        assertEquals(42f, Gpt2Checkpoint.load(out).finalNorm().bias()[0]);
        assertEquals(2, tmp.toFile().list().length, String.join(",", tmp.toFile().list()));
    }

    @Test
    void refusesToReplaceADirectoryWithOtherFiles() throws IOException {
        Gpt2Checkpoint c = Gpt2Checkpoint.zeros(TinyGpt2.CONFIG);
        Files.writeString(tmp.resolve("notes.txt"), "mine");
        String m = Messages.of(() -> c.write(tmp));
        assertTrue(m.contains("holds 'notes.txt', which this command does not write"), m);
        assertTrue(Files.exists(tmp.resolve("notes.txt")));
        assertFalse(Files.exists(tmp.resolve("model.safetensors")));
    }

    @Test
    void buildsFromArraysWithChecks() {
        Map<String, float[]> t = Gpt2Checkpoint.zeros(TinyGpt2.CONFIG).tensors();
        Map<String, float[]> copy = new java.util.LinkedHashMap<>(t);
        copy.put("h.0.ln_2.bias", new float[7]);
        String m = Messages.of(() -> Gpt2Checkpoint.of(TinyGpt2.CONFIG, copy));
        assertTrue(m.contains("'h.0.ln_2.bias' has 7 floats; expected [8]"), m);
        copy.remove("h.0.ln_2.bias");
        m = Messages.of(() -> Gpt2Checkpoint.of(TinyGpt2.CONFIG, copy));
        assertTrue(m.contains("'h.0.ln_2.bias' is missing"), m);
    }
}
