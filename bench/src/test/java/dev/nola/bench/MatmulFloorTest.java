package dev.nola.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.models.spec.CausalLmSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The matmul floor of a step: the count of a synthetic profile (known shapes, calls per step) gives the
 * GFLOP, floor and ratios worked out by hand; a real profiled step of each small architecture counts
 * every matmul call of the step by a shape the count reads, and the same GFLOP as the model's linears give.
 */
class MatmulFloorTest {

    private static final double SGEMM_FLOPS = 2.0 * 1024 * 1024 * 1024;

    @Test
    void aSyntheticProfileGivesTheGflopFloorAndRatiosByHand() {
        Map<String, Object> shapes = new LinkedHashMap<>();
        shapes.put("512×768×768 Bᵀ", List.of(48.0, 0.19));
        shapes.put("128×768×50257", List.of(4.0, 0.25));
        shapes.put("64×64×16 Aᵀ batch 24", List.of(12.0, 0.01)); // the batch multiplies the work
        shapes.put("170×576×49152", List.of(0.5, 0.05)); // a call every other step
        double gflop = (2.0 * 512 * 768 * 768 * 48 + 2.0 * 128 * 768 * 50257 * 4 + 2.0 * 64 * 64 * 16 * 24 * 12
                + 2.0 * 170 * 576 * 49152 * 0.5) / 1e9;
        Row cpu = step("cpu", 2.0, shapes);
        Row ocl = step("opencl:0:0", 1.6, Map.of("512×768×768", List.of(1.0, 0.001))); // its own count, not cpu's
        Row torch = step("torch", 1.8, null);
        Row scaling = new Row("scaling", "gpt2_step", cpu.shape(), "cpu", 1, 2, 1, 1, 1, 0, 0, "max error 0",
                Map.of("breakdown", Map.of("matmul_shapes", shapes)));
        // torch.mm's best call 12.5 ms, median 14 ms: the peak is the best call's, as our devices'
        Row torchPeak = new Row("peaks", "sgemm", "1024x1024x1024", "torch", 2, 10, 0.0125, 0.014, 0.02, SGEMM_FLOPS,
                0, "peer", Map.of());
        Map<String, Map<String, Object>> peaks = Map.of("cpu", Map.of("sgemm_gflops", 150.0), "opencl:0:0",
                Map.of("sgemm_gflops", 180.0));
        List<Row> rows = new ArrayList<>(List.of(torchPeak, cpu, ocl, torch, scaling));
        MatmulFloor.derive(rows, peaks);

        double floor = gflop / 150.0;
        assertEquals(gflop, cpu.number("matmul_gflop_per_step"), 1e-9);
        assertEquals(floor, cpu.number("matmul_floor_s"), 1e-12);
        assertEquals(2.0 / floor, cpu.number("step_over_matmul_floor"), 1e-9);
        assertEquals(1.8 / floor, cpu.number("speed_vs_torch_at_floor"), 1e-9);
        assertEquals(gflop / (0.19 + 0.25 + 0.01 + 0.05), cpu.number("matmul_gflops_profiled"), 1e-9);
        assertEquals("cpu", cpu.extra().get("matmul_gflop_counted_on"));

        double oclGflop = 2.0 * 512 * 768 * 768 / 1e9;
        assertEquals(oclGflop / 180.0, ocl.number("matmul_floor_s"), 1e-12);
        assertEquals(1.8 / (oclGflop / 180.0), ocl.number("speed_vs_torch_at_floor"), 1e-9);

        double torchPeakGflops = SGEMM_FLOPS / 0.0125 / 1e9;
        assertEquals(torchPeakGflops, torch.number("sgemm_peak_gflops"), 1e-9);
        assertEquals(gflop, torch.number("matmul_gflop_per_step"), 1e-9); // ours, from the first of our rows
        assertEquals("cpu", torch.extra().get("matmul_gflop_counted_on"));
        assertEquals(1.8 / (gflop / torchPeakGflops), torch.number("step_over_matmul_floor"), 1e-9);
        assertFalse(torch.extra().containsKey("speed_vs_torch_at_floor"));
        assertFalse(scaling.extra().containsKey("matmul_floor_s"), "only the step rows");

        StringBuilder md = new StringBuilder();
        MatmulFloor.markdown(md, rows);
        String s = md.toString();
        assertTrue(s.contains("## How far each step is from its matmul floor") && s.contains(String.format(
                java.util.Locale.ROOT, "| gpt2 | lora_r4 | cpu | %.1f | 150.0 | %.3f | 2.000 | %.2f |", gflop, floor, 2 / floor)), s);
        assertTrue(s.contains(String.format(java.util.Locale.ROOT, "%.2f× |\n", 1.8 / floor)), s);
        assertTrue(s.contains("| torch | " + String.format(java.util.Locale.ROOT, "%.1f (cpu's)", gflop)), s);
        String csv = Report.csv(List.of(cpu));
        assertTrue(csv.lines().findFirst().orElse("").contains("matmul_floor_s,step_over_matmul_floor,speed_vs_torch_at_floor"));
        assertTrue(csv.contains("," + floor + ","), csv);
    }

    @Test
    void aShapeTheCountCannotReadIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MatmulFloor.flops("512x768x768"));
        assertTrue(e.getMessage().contains("512x768x768") && e.getMessage().contains("M×N×K"), e.getMessage());
    }

    /**
     * One profiled step of each small architecture on cpu: every linalg matmul call of the step is in a
     * recorded shape, and their count is forward + input gradient of every linear and of the LM head,
     * 2 · 2·tokens·Σ in·out (the base is frozen: no weight gradient; the adapters' and attention's products
     * are inside other ops).
     */
    @Test
    void aProfiledSmallStepCountsTheModelsLinearsForwardAndBackward() throws Exception {
        for (String arch : StepBench.ARCHS) {
            CausalLmSpec spec = StepBench.small(arch);
            int b = 2;
            int t = 8;
            int[] ids = new int[b * t];
            int[] tg = new int[b * t];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = (i * 37) % spec.vocabulary();
                tg[i] = (i * 53 + 7) % spec.vocabulary();
            }
            String json = SmallSteps.profiled(arch, "lora_r4", ids, tg, b, t);
            @SuppressWarnings("unchecked")
            Map<String, Map<String, List<Number>>> breakdown = JsonLines.JSON.readValue(json, Map.class);
            Map<String, List<Number>> shapes = breakdown.get("matmul_shapes");
            Map<String, List<Number>> ops = breakdown.get("ops");
            double calls = shapes.values().stream().mapToDouble(v -> v.get(0).doubleValue()).sum();
            double matmulCalls = Stream.of("linalg.matmul", "linalg.matmulBatched").filter(ops::containsKey)
                    .mapToDouble(o -> ops.get(o).get(0).doubleValue()).sum();
            assertEquals(matmulCalls, calls, 0, arch + ": every matmul call by a shape: " + json);
            // the shapes the step recorded against the spec's count (every linear and the LM head, forward and
            // input gradient: 2 · 2 · tokens · weights), which is also the step row's "flops"
            assertEquals(StepBench.flopsPerToken(spec) * b * t / 1e9, MatmulFloor.gflopPerStep(shapes), 1e-12, arch + ": " + json);
        }
    }

    private static Row step(String device, double medianS, Map<String, Object> shapes) {
        Map<String, Object> extra = new LinkedHashMap<>();
        if (shapes != null) {
            extra.put("breakdown", Map.of("step_s", medianS * 1.1, "matmul_shapes", shapes));
        }
        if (!device.equals("torch")) {
            extra.put("speed_vs_torch", 1.8 / medianS);
        }
        return new Row("step", "gpt2_step", StepBench.shape("gpt2", "lora_r4", 12, 4, 128), device, 1, 10, medianS,
                medianS, medianS, 1, 0, device.equals("torch") ? "peer" : "max error 0", extra);
    }
}
