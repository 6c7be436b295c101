package dev.nola.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How far each training step is from its matmul floor, from figures of the same run: the matmul work of
 * one step, counted from the shapes its profiled pass recorded (the step row's {@code breakdown.matmul_shapes},
 * see {@link StepBench#profiled}: every outermost {@code linalg.matmul} and {@code linalg.matmulBatched}
 * call, calls per step by {@code M×N×K[ Aᵀ][ Bᵀ][ batch B]}), over the device's sgemm 1024³ peak — the
 * seconds the step's matmuls would take at that rate if nothing else ran. PyTorch's step rows run the same
 * products: they take our count (the first of our devices that has one) over torch.mm's peak. Products
 * inside other ops are not in the count — attention's inside the fused attention kernels, an adapter's
 * inside {@code adapter.*} — so the floor is a lower bound. Why: a speed target over PyTorch is out of reach
 * when PyTorch's step is already near our floor — in the 2026-12-08 run the GPT-2 LoRA step on cpu issued
 * 253 GFLOP of matmuls, 1.68 s at cpu's 150.3 GFLOP/s, against PyTorch's 1.79 s step: ×1.06 at most, while
 * its matmuls ran at 153 GFLOP/s in the profiled pass (the rest of the step is what held it to ×0.98).
 * Adds to each step row's extra map:
 * <ul>
 *   <li>{@code matmul_gflop_per_step}: Σ 2·M·N·K·batch · calls per step, GFLOP;
 *   <li>{@code matmul_gflop_counted_on}: the device whose profile gave the count;
 *   <li>{@code sgemm_peak_gflops}: the peak used, GFLOP/s (the best 1024³ call, as the Peaks table);
 *   <li>{@code matmul_floor_s}: the count over the peak, seconds;
 *   <li>{@code step_over_matmul_floor}: the median step over the floor;
 *   <li>{@code matmul_gflops_profiled}: the count over the matmuls' seconds in the profiled pass (our rows);
 *   <li>{@code speed_vs_torch_at_floor}: PyTorch's median step over our floor — the most ×torch this device
 *       could reach if every other op took no time and every matmul ran at the 1024³ peak (our rows).
 * </ul>
 */
final class MatmulFloor {

    /** A shape key as {@link dev.nola.kernels.OpProfile} writes it. */
    private static final Pattern SHAPE = Pattern.compile("(\\d+)×(\\d+)×(\\d+)( Aᵀ)?( Bᵀ)?( batch (\\d+))?");

    private MatmulFloor() {
    }

    /** FLOP of one call of a recorded matmul shape: 2·M·N·K·batch. */
    static double flops(String shape) {
        Matcher m = SHAPE.matcher(shape);
        if (!m.matches()) {
            throw new IllegalArgumentException("matmul shape " + shape + " is not M×N×K[ Aᵀ][ Bᵀ][ batch B]");
        }
        double batch = m.group(7) == null ? 1 : Double.parseDouble(m.group(7));
        return 2.0 * Double.parseDouble(m.group(1)) * Double.parseDouble(m.group(2)) * Double.parseDouble(m.group(3)) * batch;
    }

    /** GFLOP per step of a breakdown's {@code matmul_shapes} ({@code shape → [calls, seconds]} per step). */
    static double gflopPerStep(Map<String, List<Number>> shapes) {
        double flops = 0;
        for (Map.Entry<String, List<Number>> e : shapes.entrySet()) {
            flops += flops(e.getKey()) * e.getValue().get(0).doubleValue();
        }
        return flops / 1e9;
    }

    /** Seconds per step of the recorded matmuls in the profiled pass. */
    static double secondsPerStep(Map<String, List<Number>> shapes) {
        return shapes.values().stream().mapToDouble(v -> v.get(1).doubleValue()).sum();
    }

    /** Adds the fields of the class comment to every timed step row that has a count (its own or, for PyTorch, ours). */
    static void derive(List<Row> rows, Map<String, Map<String, Object>> peaks) {
        Map<String, Row> counted = new LinkedHashMap<>(); // the first of our rows with a count, by key
        for (Row r : rows) {
            if (isStep(r) && !Report.isPeer(r) && !shapes(r).isEmpty()) {
                counted.putIfAbsent(r.key(), r);
            }
        }
        Map<String, Row> torch = new LinkedHashMap<>();
        for (Row r : rows) {
            if (isStep(r) && r.device().equals("torch")) {
                torch.put(r.key(), r);
            }
        }
        for (Row r : rows) {
            Row source = Report.isPeer(r) ? counted.get(r.key()) : shapes(r).isEmpty() ? null : r;
            double peak = peak(r.device(), peaks, rows);
            if (!isStep(r) || source == null || !(peak > 0)) {
                continue;
            }
            double gflop = gflopPerStep(shapes(source));
            double floor = gflop / peak;
            r.extra().put("matmul_gflop_per_step", gflop);
            r.extra().put("matmul_gflop_counted_on", source.device());
            r.extra().put("sgemm_peak_gflops", peak);
            r.extra().put("matmul_floor_s", floor);
            r.extra().put("step_over_matmul_floor", r.medianS() / floor);
            if (source == r) {
                r.extra().put("matmul_gflops_profiled", gflop / secondsPerStep(shapes(r)));
                Row t = torch.get(r.key());
                if (t != null && !Double.isNaN(t.medianS())) {
                    r.extra().put("speed_vs_torch_at_floor", t.medianS() / floor);
                }
            }
        }
    }

    /**
     * The device's sgemm 1024³ peak in GFLOP/s: our devices' from the peaks map, a peer's from its
     * {@code peaks/sgemm} row at its best call (the last such row: numpy's after our devices); NaN if none.
     */
    static double peak(String device, Map<String, Map<String, Object>> peaks, List<Row> rows) {
        Map<String, Object> p = peaks.get(device);
        if (p != null && p.get("sgemm_gflops") instanceof Number n) {
            return n.doubleValue();
        }
        double best = Double.NaN;
        for (Row r : rows) {
            if (r.device().equals(device) && r.group().equals("peaks") && r.op().equals("sgemm")) {
                best = r.bestGflops();
            }
        }
        return best;
    }

    /** The report's section: one line per step row that has a floor. */
    static void markdown(StringBuilder sb, List<Row> rows) {
        List<Row> floored = rows.stream().filter(r -> isStep(r) && !Double.isNaN(r.number("matmul_floor_s"))).toList();
        if (floored.isEmpty()) {
            return;
        }
        sb.append("## How far each step is from its matmul floor\n\nmatmul GFLOP = Σ 2·M·N·K·batch over the matmul calls")
                .append(" (`linalg.matmul`, `linalg.matmulBatched`) of one step of the profiled pass, counted from the shapes it")
                .append(" recorded; floor = that ÷ the device's sgemm 1024³ peak in the Peaks table, the time the step would")
                .append(" take if its matmuls ran at that peak and nothing else ran. **×torch at the floor** = PyTorch's median")
                .append(" step ÷ our floor: the most this device could reach over PyTorch if every other op took no time; a")
                .append(" target above it needs matmuls faster than the 1024³ peak. Products inside other ops are not counted")
                .append(" (attention's inside the fused attention kernels, the adapters' inside `adapter.*`), so the floor is")
                .append(" a lower bound. PyTorch runs the same products: its rows take our count (the device named) over")
                .append(" torch.mm's peak. matmuls' GFLOP/s = the count ÷ their seconds in the profiled pass (on tornado each op of")
                .append(" that pass is a plan of its own, so its rate is not the captured step's).\n\n")
                .append("| model | variant | device | matmul GFLOP/step | sgemm peak GFLOP/s | matmul floor s | step s |")
                .append(" step ÷ floor | matmuls' GFLOP/s | ×torch | ×torch at the floor |\n")
                .append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : floored) {
            String counted = String.valueOf(r.extra().get("matmul_gflop_counted_on"));
            sb.append("| ").append(r.op().replace("_step", "")).append(" | ").append(r.shape().split(" ")[0]).append(" | ")
                    .append(r.device()).append(" | ").append(fmt("%.1f", r.number("matmul_gflop_per_step")))
                    .append(counted.equals(r.device()) ? "" : " (" + counted + "'s)").append(" | ")
                    .append(fmt("%.1f", r.number("sgemm_peak_gflops"))).append(" | ")
                    .append(fmt("%.3f", r.number("matmul_floor_s"))).append(" | ").append(fmt("%.3f", r.medianS())).append(" | ")
                    .append(fmt("%.2f", r.number("step_over_matmul_floor"))).append(" | ")
                    .append(fmt("%.1f", r.number("matmul_gflops_profiled"))).append(" | ")
                    .append(fmt("%.2f×", r.number("speed_vs_torch"))).append(" | ")
                    .append(fmt("%.2f×", r.number("speed_vs_torch_at_floor"))).append(" |\n");
        }
        sb.append('\n');
    }

    private static String fmt(String format, double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, format, v) : "";
    }

    private static boolean isStep(Row r) {
        return r.group().equals("step") && !Double.isNaN(r.medianS());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, List<Number>> shapes(Row r) {
        Object b = r.extra().get("breakdown");
        Object o = b instanceof Map<?, ?> m ? m.get("matmul_shapes") : null;
        return o instanceof Map<?, ?> ? (Map<String, List<Number>>) o : Map.of();
    }
}
