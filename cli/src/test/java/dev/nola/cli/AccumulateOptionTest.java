package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** finetune --accumulate N, and --spark without the nola-spark module, on a tiny GPT-2 the test writes. */
class AccumulateOptionTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path text;

    @BeforeAll
    static void fixtures() throws Exception {
        model = Tiny.gpt2(tmp.resolve("tiny-gpt2"));
        text = Tiny.text(tmp.resolve("text.txt"));
    }

    private static CliTest.Result finetune(Path out, String... extra) {
        String[] base = {"finetune", "--model", model.toString(), "--data", text.toString(), "--k", "8", "--l", "8",
                "--steps", "3", "--batch", "2", "--device", "cpu", "--out", out.toString(), "--quiet"};
        String[] all = Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return CliTest.run(all);
    }

    @Test
    void accumulatedRunsRepeatBitForBitRecordTheirMicroBatchesAndDifferFromOne() throws Exception {
        byte[][] adapters = new byte[3][];
        String[][] runs = {{"--accumulate", "2"}, {"--accumulate", "2"}, {}};
        for (int i = 0; i < 3; i++) {
            Path out = tmp.resolve("acc" + i);
            CliTest.Result r = finetune(out, runs[i]);
            assertEquals(0, r.status(), r.err());
            adapters[i] = Files.readAllBytes(out.resolve("adapter/adapter_model.safetensors"));
            JsonNode rep = new ObjectMapper().readTree(out.resolve("report/report.json").toFile());
            assertEquals(i < 2 ? 2 : 1, rep.path("config").path("accumulate").asInt(), rep.toString());
        }
        assertTrue(Arrays.equals(adapters[0], adapters[1]), "two --accumulate 2 runs, the same adapter");
        assertFalse(Arrays.equals(adapters[0], adapters[2]), "twice the data per step: another adapter");
    }

    @Test
    void aNonPositiveAccumulateAndSparkWithoutTheModuleAreOneLineRefusals() {
        CliTest.Result r = finetune(tmp.resolve("bad0"), "--accumulate", "0");
        assertEquals(2, r.status());
        assertEquals("nola: --accumulate is 0; expected > 0", r.err().strip());
        r = finetune(tmp.resolve("bad1"), "--spark", "local[2]");
        assertEquals(2, r.status());
        assertTrue(r.err().strip().startsWith("nola: --spark 'local[2]' needs the nola-spark module"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
