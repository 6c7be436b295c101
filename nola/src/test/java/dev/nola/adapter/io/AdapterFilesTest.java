package dev.nola.adapter.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.TestDevices;
import dev.nola.adapter.quant.CoefficientQuantizer;
import dev.nola.io.InvalidFileException;
import dev.nola.io.UntrustedJson;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adapter directories: round trips across devices, refusals, atomic saving, PEFT export. */
class AdapterFilesTest {

    static final NolaConfig CONFIG = new NolaConfig(4, 24, 16, 8f, NolaConfig.InitScheme.OFFSET,
            NolaConfig.BasisMode.ON_THE_FLY, false, 0xFEDCBA9876543210L, List.of("q", "v"), NolaConfig.FLOAT_BITS, false);

    @TempDir
    Path tmp;

    static Map<String, NolaAdapter> adapters(Device d, NolaConfig c) {
        SplittableRandom rnd = new SplittableRandom(1);
        Map<String, NolaAdapter> m = new LinkedHashMap<>();
        for (int layer = 0; layer < 2; layer++) {
            for (String mod : c.targetModules()) {
                NolaAdapter a = NolaAdapter.create(d, c, 20, 12, layer, mod);
                float[] p = new float[a.parameterCount()];
                for (int i = 0; i < p.length; i++) {
                    p[i] = (float) (rnd.nextDouble() - 0.5);
                }
                a.setParameters(p);
                m.put("h." + layer + ".attn." + mod, a);
            }
        }
        return m;
    }

    @Test
    void savedOnOneBackendRegeneratesIdenticalFactorsOnEvery() {
        Path dir = tmp.resolve("adapter");
        Map<String, float[][]> expected = new LinkedHashMap<>();
        try (Device ref = Backends.open("reference")) {
            Map<String, NolaAdapter> saved = adapters(ref, CONFIG);
            NolaAdapterFiles.save(dir, saved);
            saved.forEach((k, a) -> expected.put(k, new float[][] {ref.read(a.factorA()), ref.read(a.factorB())}));
        }
        SavedNola loaded = NolaAdapterFiles.load(dir);
        assertEquals(CONFIG, loaded.config());
        for (String id : TestDevices.ids()) {
            try (Device d = Backends.open(id)) {
                Map<String, NolaAdapter> back = loaded.instantiate(d);
                assertEquals(expected.keySet(), back.keySet());
                back.forEach((k, a) -> {
                    assertArrayEquals(expected.get(k)[0], d.read(a.factorA()), id + " " + k + " A");
                    assertArrayEquals(expected.get(k)[1], d.read(a.factorB()), id + " " + k + " B");
                });
            }
        }
    }

    @Test
    void quantizedAdapterStoresCodesAndLoadsDequantized() {
        Path dir = tmp.resolve("q");
        NolaConfig c = CONFIG.withQuantization(3, false);
        float[] alpha;
        try (Device d = Backends.open("cpu")) {
            Map<String, NolaAdapter> m = adapters(d, c);
            alpha = m.get("h.1.attn.v").alpha();
            NolaAdapterFiles.save(dir, m);
        }
        SavedNola back = NolaAdapterFiles.load(dir);
        assertArrayEquals(CoefficientQuantizer.fakeQuantize(alpha, 3), back.layer("h.1.attn.v").alpha());
        try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve(NolaAdapterFiles.WEIGHTS_FILE))) {
            assertEquals(DType.U8, r.tensor("h.1.attn.v.nola_alpha.codes").dtype());
            assertEquals(CoefficientQuantizer.packedLength(24, 3), r.tensor("h.1.attn.v.nola_alpha.codes").byteCount());
        }
    }

    private SavedNola savedSet() {
        try (Device d = Backends.open("reference")) {
            return SavedNola.of(adapters(d, CONFIG));
        }
    }

    private static String config(SavedNola s) {
        return new String(NolaAdapterFiles.configJson(s), StandardCharsets.UTF_8);
    }

    @Test
    void refusesUnknownGeneratorVersionAndShapeMismatch() {
        SavedNola s = savedSet();
        byte[] w = NolaAdapterFiles.weights(s);
        String json = config(s);
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> NolaAdapterFiles.parse(
                json.replaceFirst("\"version\" : 1", "\"version\" : 2").getBytes(StandardCharsets.UTF_8), w, "x"));
        assertTrue(e.getMessage().contains("version 2 is not supported"), e.getMessage());
        e = assertThrows(InvalidFileException.class, () -> NolaAdapterFiles.parse(
                json.replaceFirst("\"k\" : 24", "\"k\" : 25").getBytes(StandardCharsets.UTF_8), w, "x"));
        assertTrue(e.getMessage().contains("basis_scale_a"), e.getMessage()); // the scales depend on k
        List<SavedNola.Layer> longer = new java.util.ArrayList<>(s.layers());
        SavedNola.Layer l0 = longer.get(0);
        longer.set(0, new SavedNola.Layer(l0.name(), l0.in(), l0.out(), l0.idA(), l0.idB(), new float[25], l0.beta()));
        byte[] w25 = NolaAdapterFiles.weights(new SavedNola(s.config(), longer));
        e = assertThrows(InvalidFileException.class, () -> NolaAdapterFiles.parse(json.getBytes(StandardCharsets.UTF_8), w25, "x"));
        assertTrue(e.getMessage().contains("h.0.attn.q.nola_alpha' is F32 [25], expected F32 [24]"), e.getMessage());
        e = assertThrows(InvalidFileException.class, () -> NolaAdapterFiles.parse(
                json.replaceFirst("\"in\" : 20", "\"in\" : 21").getBytes(StandardCharsets.UTF_8), w, "x"));
        assertTrue(e.getMessage().contains("offset_scale"), e.getMessage());
        SavedNola ok = NolaAdapterFiles.parse(json.getBytes(StandardCharsets.UTF_8), w, "x");
        IllegalArgumentException m = assertThrows(IllegalArgumentException.class, () -> ok.requireShape("h.0.attn.q", 20, 13));
        assertTrue(m.getMessage().contains("in=20, out=12") && m.getMessage().contains("out=13"), m.getMessage());
    }

    @Test
    void refusesNonFiniteCoefficientsNamingTheTensor() {
        SavedNola s = savedSet();
        byte[] w = NolaAdapterFiles.weights(s);
        long n;
        try (SafeTensorsReader r = SafeTensorsReader.fromBytes(w, "w")) {
            n = r.headerLength();
            TensorInfo t = r.tensor("h.1.attn.q.nola_beta");
            int at = (int) (8 + n + t.begin() + 4 * 3);
            w[at] = 0;
            w[at + 1] = 0;
            w[at + 2] = (byte) 0xC0;
            w[at + 3] = 0x7F; // NaN
        }
        InvalidFileException e = assertThrows(InvalidFileException.class,
                () -> NolaAdapterFiles.parse(NolaAdapterFiles.configJson(s), w, "x"));
        assertTrue(e.getMessage().contains("h.1.attn.q.nola_beta") && e.getMessage().contains("element 3"), e.getMessage());
    }

    @Test
    void failedSaveLeavesThePreviousAdapterIntact() throws IOException {
        Path dir = tmp.resolve("atomic");
        SavedNola first = savedSet();
        NolaAdapterFiles.save(dir, first);
        byte[] cfg = Files.readAllBytes(dir.resolve(NolaAdapterFiles.CONFIG_FILE));
        byte[] wts = Files.readAllBytes(dir.resolve(NolaAdapterFiles.WEIGHTS_FILE));
        SavedNola second = new SavedNola(first.config().withQuantization(4, false), first.layers());
        for (String failAt : List.of("wrote " + NolaAdapterFiles.CONFIG_FILE, "wrote " + NolaAdapterFiles.WEIGHTS_FILE,
                "moved old aside")) {
            assertThrows(java.io.UncheckedIOException.class, () -> NolaAdapterFiles.save(dir, second, stage -> {
                if (stage.equals(failAt)) {
                    throw new IOException("injected failure at " + stage);
                }
            }));
            assertArrayEquals(cfg, Files.readAllBytes(dir.resolve(NolaAdapterFiles.CONFIG_FILE)), failAt);
            assertArrayEquals(wts, Files.readAllBytes(dir.resolve(NolaAdapterFiles.WEIGHTS_FILE)), failAt);
            try (Stream<Path> s = Files.list(tmp)) {
                assertEquals(List.of(dir), s.toList(), "no temporary directory is left behind after " + failAt);
            }
        }
        NolaAdapterFiles.save(dir, second);
        assertEquals(4, NolaAdapterFiles.load(dir).config().coefficientBits());
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(dir), s.toList());
        }
    }

    @Test
    void exportsAStandardPeftLoraAdapter() throws IOException {
        Path dir = tmp.resolve("peft");
        try (Device d = Backends.open("cpu")) {
            Map<String, NolaAdapter> m = adapters(d, CONFIG);
            PeftLoraExport.write(dir, m, List.of("q", "v"), "gpt2");
            var json = UntrustedJson.MAPPER.readTree(dir.resolve("adapter_config.json").toFile());
            assertEquals("LORA", json.get("peft_type").asText());
            assertEquals(4, json.get("r").asInt());
            assertEquals(8.0, json.get("lora_alpha").asDouble(), 1e-6);
            assertEquals("[\"q\",\"v\"]", json.get("target_modules").toString());
            try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
                assertEquals(8, r.tensors().size());
                NolaAdapter a = m.get("h.1.attn.v");
                TensorInfo ta = r.tensor("base_model.model.h.1.attn.v.lora_A.weight");
                assertArrayEquals(new int[] {4, 20}, ta.shape());
                assertArrayEquals(new int[] {12, 4}, r.tensor("base_model.model.h.1.attn.v.lora_B.weight").shape());
                assertArrayEquals(d.read(a.factorA()), r.readFloats(ta.name()));
                assertArrayEquals(d.read(a.factorB()), r.readFloats("base_model.model.h.1.attn.v.lora_B.weight"));
                try (Tensor dw = a.deltaWeight()) {
                    assertFalse(java.util.Arrays.equals(d.read(dw), new float[20 * 12]), "ΔW is not zero");
                }
            }
        }
    }
}
