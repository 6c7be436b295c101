package dev.nola.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.models.spec.CausalLmSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The step breakdown: a profiled pass of the small LLaMA step on cpu counts every op of the step by its
 * name, as often per step as the model issues it; the kinds group them; the report shows them with the
 * time outside the ops.
 */
class BreakdownTest {

    @Test
    void aProfiledSmallLlamaStepCountsItsOpsPerStep() throws Exception {
        CausalLmSpec spec = StepBench.small("llama");
        int layers = spec.model().layers();
        String json = SmallSteps.profiled("llama", "nola_materialized", new int[] {1, 2, 3, 4, 5, 6, 7, 8},
                new int[] {2, 3, 4, 5, 6, 7, 8, 9}, 2, 4);
        JsonNode b = JsonLines.JSON.readTree(json);
        assertEquals(2, b.get("steps").asInt());
        JsonNode ops = b.get("ops");
        // two RMSNorms per block and the final one, forward and backward, per step
        assertEquals(2 * layers + 1, ops.get("nn.rmsNormForward").get(0).asDouble(), 0, json);
        assertEquals(2 * layers + 1, ops.get("nn.rmsNormBackward").get(0).asDouble(), 0, json);
        assertEquals(layers, ops.get("nn.swigluForward").get(0).asDouble(), 0, json);
        assertTrue(ops.has("linalg.matmul") && ops.has("nola.mix") && ops.has("nola.coefficientGradient")
                && ops.has("optim.adamw") && ops.has("adapter.forward") && ops.has("nn.crossEntropyForward"), json);
        assertTrue(b.get("matmul_shapes").size() > 0, json);
        double sum = 0;
        for (JsonNode v : ops) {
            sum += v.get(1).asDouble();
        }
        assertTrue(sum > 0 && sum <= b.get("step_s").asDouble() * 1.001, json);

        @SuppressWarnings("unchecked")
        Map<String, Object> breakdown = JsonLines.JSON.convertValue(b, Map.class);
        Row row = new Row("step", "llama_step", StepBench.shape("llama", "nola_materialized", layers, 2, 4), "cpu", 1, 10,
                0.1, 0.1, 0.1, 1, 0, "max error 0 of scale", new LinkedHashMap<>(Map.of("breakdown", breakdown,
                "gc_s", 0.001)));
        StringBuilder md = new StringBuilder();
        Breakdown.markdown(md, List.of(row));
        String s = md.toString();
        assertTrue(s.contains("### llama by kind") && s.contains("| norms |") && s.contains("| nola mix, gradient |")
                && s.contains("| outside ops |") && s.contains("| nn.rmsNormForward | ") && s.contains("matmul shapes"), s);
    }

    @Test
    void opsFallIntoTheirKinds() {
        Map<String, String> kinds = Map.ofEntries(Map.entry("linalg.matmulBatched", "matmul"),
                Map.entry("linalg.axpy", "linalg (axpy, scale, fill)"), Map.entry("nn.softmaxBackward", "attention"),
                Map.entry("nn.layerNormForward", "norms"), Map.entry("nn.swigluBackward", "activations"),
                Map.entry("nn.crossEntropyForward", "cross-entropy"), Map.entry("nn.ropeForward", "rope"),
                Map.entry("nn.encoderBackward", "embedding"), Map.entry("optim.sumOfSquares", "optimizer"),
                Map.entry("nola.coefficientGradient", "nola mix, gradient"), Map.entry("device.copy", "copies"),
                Map.entry("nn.poolForward", "other ops"));
        kinds.forEach((op, kind) -> assertEquals(kind, Breakdown.kind(op), op));
        assertEquals(0.0, Breakdown.byKind(Map.of()).values().stream().mapToDouble(Double::doubleValue).sum());
    }
}
