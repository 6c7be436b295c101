package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** inspect and export-lora on an adapter directory the test writes. */
class AdapterCommandsTest {

    @TempDir
    Path tmp;

    @Test
    void inspectAndExportARealAdapter() throws Exception {
        NolaConfig config = NolaConfig.offset(4, 16, 12, 8f, 99L, List.of("q", "v"));
        Path dir = tmp.resolve("adapter");
        Map<String, float[]> expectedA = new LinkedHashMap<>();
        Map<String, float[]> expectedB = new LinkedHashMap<>();
        try (Device dev = Backends.open("cpu")) {
            Map<String, NolaAdapter> adapters = new LinkedHashMap<>();
            SplittableRandom r = new SplittableRandom(3);
            for (int layer = 0; layer < 2; layer++) {
                for (String m : List.of("q", "v")) {
                    NolaAdapter a = NolaAdapter.create(dev, config, 24, 20, layer, m);
                    float[] alpha = new float[16];
                    float[] beta = new float[12];
                    for (int i = 0; i < alpha.length; i++) {
                        alpha[i] = (float) r.nextGaussian();
                    }
                    for (int i = 0; i < beta.length; i++) {
                        beta[i] = (float) r.nextGaussian();
                    }
                    a.setCoefficients(alpha, beta);
                    String name = "h." + layer + ".attn." + m;
                    adapters.put(name, a);
                    expectedA.put(name, dev.read(a.factorA()));
                    expectedB.put(name, dev.read(a.factorB()));
                }
            }
            NolaAdapterFiles.save(dir, adapters);
            adapters.values().forEach(NolaAdapter::close);
        }

        CliTest.Result inspect = CliTest.run("inspect", dir.toString());
        assertEquals(0, inspect.status(), inspect.err());
        assertTrue(inspect.out().contains("4 layers, 112 trainable numbers"), inspect.out());
        assertTrue(inspect.out().contains("h.1.attn.v"), inspect.out());

        Path peft = tmp.resolve("peft");
        CliTest.Result export = CliTest.run("export-lora", dir.toString(), peft.toString(), "--device", "reference");
        assertEquals(0, export.status(), export.err());
        String peftConfig = Files.readString(peft.resolve("adapter_config.json"));
        assertTrue(peftConfig.replaceAll("\\s", "").contains("\"peft_type\":\"LORA\""), peftConfig);
        try (SafeTensorsReader st = SafeTensorsReader.open(peft.resolve("adapter_model.safetensors"))) {
            for (String name : expectedA.keySet()) {
                // regenerated on another device from seed + coefficients: the same bits
                assertArrayEquals(expectedA.get(name), st.readFloats("base_model.model." + name + ".lora_A.weight"), name);
                assertArrayEquals(expectedB.get(name), st.readFloats("base_model.model." + name + ".lora_B.weight"), name);
            }
        }

        CliTest.Result missing = CliTest.run("inspect", tmp.resolve("nope").toString());
        assertEquals(2, missing.status(), missing.err());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
    }

    @Test
    void emptyArgumentsAreCalledEmpty() {
        for (String[] args : new String[][] {{"inspect", ""}, {"export-lora", "", "out"}, {"export-lora", "in", ""},
            {"export-lora", tmp.resolve("in").toString(), tmp.resolve("o").toString(), "--base-model", ""},
            {"export-lora", tmp.resolve("in").toString(), tmp.resolve("o").toString(), "--device", ""}}) {
            CliTest.Result r = CliTest.run(args);
            assertEquals(2, r.status(), String.join("|", args) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("empty"), String.join("|", args) + ": " + r.err());
        }
    }

    @Test
    void controlCharactersInArgumentsAreEscapedOnOneLine() {
        CliTest.Result r = CliTest.run("inspect", tmp.resolve("a\nb\u001b[31m").toString());
        assertEquals(2, r.status(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("a\\nb\\u001B[31m does not exist"), r.err());
    }
}
