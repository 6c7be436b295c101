package dev.nola.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * What keeps the step and generation rows honest: the small validation step of each architecture and
 * variant agrees with the reference on cpu, the small generation gives the same greedy tokens with and
 * without the cache on cpu and on the reference, rows whose two modes generated different tokens fail
 * their check, and a device lacking an op is reported as skipped with its reason.
 */
class StepAndGenerateTest {

    @ParameterizedTest
    @ValueSource(strings = {"nola_materialized", "nola_on_the_fly", "lora_r4"})
    void theSmallLlamaStepAgreesWithTheReferenceOnCpu(String variant) {
        String v = StepBench.validate("cpu", "llama", variant);
        assertTrue(v.startsWith("max error") && v.contains("small LLaMA"), v);
    }

    @Test
    void theSmallGpt2StepStillAgrees() {
        String v = StepBench.validate("cpu", "gpt2", "nola_materialized");
        assertTrue(v.startsWith("max error") && v.contains("small GPT-2"), v);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void smallGenerationGivesTheSameTokensWithAndWithoutTheCache(String arch) {
        String v = GenerateBench.validate("cpu", arch);
        assertTrue(v.contains("cpu with the cache, cpu without it, reference without it"), v);
        assertTrue(GenerateBench.validate("reference", arch).contains("reference with the cache, reference without it"));
    }

    /** --weights bf16: the same checks with the frozen base in bfloat16 on both sides (cpu, and the opencl device when there is one). */
    @Test
    void theSmallStepsAndGenerationAgreeWithBf16Weights() {
        var bf16 = dev.nola.models.transformer.WeightPrecision.BF16;
        for (String device : dev.nola.kernels.Backends.find("opencl").map(b -> b.availability().available()).orElse(false)
                ? List.of("cpu", "opencl:0:0") : List.of("cpu")) {
            String v = StepBench.validate(device, "gpt2", "lora_r4", bf16);
            assertTrue(v.startsWith("max error") && v.contains("small GPT-2"), device + ": " + v);
            String g = GenerateBench.validate(device, "llama", bf16);
            assertTrue(g.contains(device + " with the cache, " + device + " without it, reference without it"), g);
        }
    }

    @Test
    void stepRowsAreNamedAsThePeerNamesThem() {
        assertEquals("lora_r4 L=30 C=576 B=4 T=128", StepBench.shape("llama", "lora_r4", 30, 4, 128));
        assertEquals("nola_materialized L=12 C=768 B=4 T=128", StepBench.shape("gpt2", "nola_materialized", 12, 4, 128));
        assertEquals("llama_step", StepBench.op("llama"));
        assertEquals("cache L=30 prompt=128 new=128", GenerateBench.shape("cache", 30, 128, 128));
        assertEquals(List.of("q_proj", "v_proj"), StepBench.targets("llama"));
        var spec = StepBench.spec("llama", 30, 576);
        assertEquals(49152, spec.vocabulary());
        assertEquals(30, spec.model().layers());
    }

    static Row timed(String mode) {
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("tokens_per_s", 10.0);
        return new Row("generate", "llama_generate", GenerateBench.shape(mode, 2, 8, 3), "cpu", 1, 1, 0.3, 0.3, 0.3, 0, 0,
                "small LLaMA: same greedy tokens", extra);
    }

    @Test
    void generationRowsFailTheirCheckWhenTheTokensDiffer() {
        Map<String, Row> rows = new LinkedHashMap<>(Map.of("cache", timed("cache"), "no_cache", timed("no_cache")));
        List<Row> same = Suite.sameTokens(rows, Map.of("cache", new int[] {4, 5, 6}, "no_cache", new int[] {4, 5, 6}));
        for (Row r : same) {
            assertTrue(r.validation().endsWith("the same 3 greedy tokens with and without the cache"), r.validation());
            assertEquals(true, r.extra().get("tokens_identical"));
        }
        rows = new LinkedHashMap<>(Map.of("cache", timed("cache"), "no_cache", timed("no_cache")));
        List<Row> differ = Suite.sameTokens(rows, Map.of("cache", new int[] {4, 5, 6}, "no_cache", new int[] {4, 7, 6}));
        for (Row r : differ) {
            assertTrue(r.validation().startsWith("FAILED: greedy tokens with and without the cache differ from new token 1"
                    + " on (5 with, 7 without)"), r.validation());
        }
        String md = Report.markdown(Map.of("command", "nola bench"), Map.of(), differ, "charts");
        assertTrue(md.contains("**2 did not**") && md.contains("| **no** |"), md);
    }

    @Test
    void aDeviceWithoutTheLlamaOpsIsReportedSkippedWithTheReason() throws Exception {
        JsonNode n = JsonLines.JSON.readTree(StepBench.skipped("opencl:0:0", "llama", "lora_r4",
                "rmsNormForward is not implemented on \"opencl:0:0\" yet"));
        Row skipped = Suite.skippedRow("step", "llama_step", StepBench.shape("llama", "lora_r4", 30, 4, 128), "opencl:0:0",
                n.get("skipped").asText());
        Row ok = new Row("step", "gpt2_step", StepBench.shape("gpt2", "lora_r4", 12, 4, 128), "opencl:0:0", 1, 3, 2, 2, 2,
                1, 0, "max error 1.0e-06 of scale vs reference (small GPT-2)", new LinkedHashMap<>(Map.of("tokens_per_s",
                256.0, "transfer_s", 1e-4, "kernel_s", 2.0, "device_peak_mb", 100.0, "peak_rss_mb", 900.0)));
        String md = Report.markdown(Map.of("command", "nola bench"), Map.of(), List.of(ok, skipped), "charts");
        assertTrue(md.contains("all agreed"), md);
        assertTrue(md.contains("**Skipped**") && md.contains("opencl:0:0 step/llama_step lora_r4 L=30 C=576 B=4 T=128:"
                + " rmsNormForward is not implemented on \"opencl:0:0\" yet"), md);
        assertTrue(md.contains("| llama | lora_r4 L=30 C=576 B=4 T=128 | opencl:0:0 | skipped (see above) |"), md);
        assertFalse(md.contains("did not"), md);
    }

    @Test
    void theGenerateGroupCanBeChosen() {
        Suite.Options o = Suite.parse(new String[] {"--only", "step,generate", "--device", "cpu"});
        assertEquals(List.of("step", "generate"), o.groups());
    }
}
