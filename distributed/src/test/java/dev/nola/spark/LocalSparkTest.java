package dev.nola.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * nola-spark on {@code local[2]} (driver and executor threads in this JVM): the adapter of N ranks × batch b is the
 * adapter of {@code --accumulate N --batch b} in one process, bit for bit, on the fortunes GPT-2 and on the ViT.
 */
class LocalSparkTest {

    @TempDir
    Path tmp;

    private static SparkConf conf() {
        return new SparkConf().set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1");
    }

    private void sameAdapterAsAccumulate(Path model, boolean vit) throws IOException {
        Runs.Result one = Runs.local(Runs.finetune(model, tmp.resolve("one"), vit, 3, 2, "--accumulate", "2", "--quiet"));
        Runs.ok(one);
        Runs.Result plain = Runs.local(Runs.finetune(model, tmp.resolve("plain"), vit, 3, 2, "--quiet"));
        Runs.ok(plain);
        Runs.Result spark = Runs.spark(Runs.finetune(model, tmp.resolve("spark"), vit, 3, 2, "--spark", "local[2]",
                "--accumulate", "2", "--json"), conf(), null);
        Runs.ok(spark);
        assertArrayEquals(Runs.adapter(tmp.resolve("one")), Runs.adapter(tmp.resolve("spark")),
                "2 ranks × batch 2 on Spark is --accumulate 2 --batch 2 in one process");
        assertFalse(Arrays.equals(Runs.adapter(tmp.resolve("one")), Runs.adapter(tmp.resolve("plain"))),
                "and unlike one micro-batch per step, so the comparison can fail");
        JsonNode rep = new ObjectMapper().readTree(tmp.resolve("spark/report/report.json").toFile());
        assertEquals("local[2]", rep.path("config").path("spark_master").asText(), rep.toString());
        assertEquals(2, rep.path("config").path("accumulate").asInt());
        assertTrue(rep.path("sync_ms_per_step").isNumber(), rep.toString());
        assertEquals(3 * 2, rep.path("micro_batches_by_executor").properties().stream().mapToLong(e -> e.getValue().asLong()).sum(),
                "every micro-batch of the 3 steps counted once: " + rep);
        if (vit) {
            assertArrayEquals(Files.readAllBytes(tmp.resolve("one/head.safetensors")),
                    Files.readAllBytes(tmp.resolve("spark/head.safetensors")));
        }
    }

    @Test
    void fortunesGpt2OnTwoRanksIsAccumulateTwoBitForBit() throws IOException {
        sameAdapterAsAccumulate(Runs.gpt2(tmp.resolve("gpt2")), false);
    }

    @Test
    void vitOnTwoRanksIsAccumulateTwoBitForBit() throws IOException {
        sameAdapterAsAccumulate(Runs.vit(tmp.resolve("vit")), true);
    }

    @Test
    void aWorkerThatCannotReadTheModelFailsTheRunWithOneLineNamingItAndThePath() throws IOException {
        Path model = Runs.gpt2(tmp.resolve("gone"));
        Path moved = tmp.resolve("moved");
        // the driver has opened the model when the first step starts; the workers open it then, and find it gone
        Runs.Result r = Runs.spark(Runs.finetune(model, tmp.resolve("out"), false, 2, 2, "--spark", "local[2]", "--quiet"),
                conf(), step -> {
                    if (step == 0) {
                        try {
                            Files.move(model, moved);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }
                });
        assertEquals(1, r.status(), r.err());
        List<String> lines = r.err().strip().lines().toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).startsWith("nola: worker "), r.err());
        assertTrue(lines.get(0).contains(model.toString()), r.err());
    }

    @Test
    void aDriverStoppedMidRunResumesFromItsCheckpointToTheSameAdapter() throws IOException {
        Path model = Runs.gpt2(tmp.resolve("gpt2-resume"));
        Runs.ok(Runs.local(Runs.finetune(model, tmp.resolve("one"), false, 4, 2, "--accumulate", "2", "--quiet")));
        Path out = tmp.resolve("resumed");
        List<String> args = Runs.finetune(model, out, false, 4, 2, "--spark", "local[2]", "--accumulate", "2", "--quiet");
        // the driver stops before step 3 (a checkpoint is written every 2 steps: the last one is step 2's)
        Runs.Result stopped = Runs.spark(args, conf(), step -> {
            if (step == 3) {
                throw new IllegalStateException("the driver stops before step 3");
            }
        });
        assertEquals(2, stopped.status(), stopped.err());
        List<String> again = new java.util.ArrayList<>(args);
        again.add("--resume");
        Runs.Result resumed = Runs.spark(again, conf(), null);
        Runs.ok(resumed);
        assertArrayEquals(Runs.adapter(tmp.resolve("one")), Runs.adapter(out), "resumed on the cluster: the same adapter");
        JsonNode rep = new ObjectMapper().readTree(out.resolve("report/report.json").toFile());
        assertEquals(2, rep.path("config").path("resumed_from_step").asLong(), rep.toString());
    }
}
