package dev.nola.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where a training step's time goes: the step rows' {@code breakdown} (a profiled pass, see
 * {@link StepBench#profiled}) grouped into op kinds — matmuls, attention, norms, activations,
 * cross-entropy, adapters, the NOLA mixes, the optimizer, … — and rendered for the report: per
 * architecture, one column per device and variant, the milliseconds per step of each kind, then of each
 * op, then of the costliest matmul shapes. "outside ops" is the profiled step less its ops: host work
 * between ops (Java, allocation, the garbage collector, the adapter bookkeeping).
 */
final class Breakdown {

    /** The kinds, in the order the report lists them. */
    static final List<String> KINDS = List.of("matmul", "attention", "norms", "activations", "rope", "bias, residual",
            "embedding", "cross-entropy", "adapters", "nola mix, gradient", "basis", "optimizer", "linalg (axpy, scale, fill)",
            "copies", "other ops");

    private Breakdown() {
    }

    /** The kind of an op named {@code family.op} (as {@link dev.nola.kernels.OpProfile} names it). */
    static String kind(String op) {
        int dot = op.indexOf('.');
        String family = dot < 0 ? op : op.substring(0, dot);
        String m = op.substring(dot + 1).toLowerCase(Locale.ROOT);
        return switch (family) {
            case "linalg" -> m.startsWith("matmul") ? "matmul" : "linalg (axpy, scale, fill)";
            case "adapter" -> "adapters";
            case "nola" -> "nola mix, gradient";
            case "random" -> "basis";
            case "optim" -> "optimizer";
            case "device" -> "copies";
            case "nn" -> nnKind(m);
            default -> "other ops";
        };
    }

    private static String nnKind(String m) {
        if (m.contains("crossentropy") || m.contains("head") || m.contains("loss")) {
            return "cross-entropy";
        }
        if (m.contains("attention") || m.contains("softmax")) {
            return "attention";
        }
        if (m.contains("norm")) {
            return "norms";
        }
        if (m.contains("gelu") || m.contains("swiglu") || m.contains("silu")) {
            return "activations";
        }
        if (m.contains("rope")) {
            return "rope";
        }
        if (m.contains("bias") || m.contains("residual")) {
            return "bias, residual";
        }
        if (m.contains("encoder") || m.contains("embed")) {
            return "embedding";
        }
        return "other ops";
    }

    /** Seconds per step of each kind, in {@link #KINDS} order, from a breakdown's {@code ops}. */
    static Map<String, Double> byKind(Map<String, List<Number>> ops) {
        Map<String, Double> out = new LinkedHashMap<>();
        KINDS.forEach(k -> out.put(k, 0.0));
        ops.forEach((op, v) -> out.merge(kind(op), v.get(1).doubleValue(), Double::sum));
        return out;
    }

    /** The report's section: per architecture, kinds, ops and matmul shapes by device and variant. */
    static void markdown(StringBuilder sb, List<Row> rows) {
        List<Row> profiled = rows.stream().filter(r -> r.group().equals("step") && r.extra().get("breakdown") instanceof Map<?, ?> b
                && !b.isEmpty()).toList();
        if (profiled.isEmpty()) {
            return;
        }
        sb.append("## Where the step's time goes\n\nA profiled pass after the timed steps (not captured): every op between two")
                .append(" `synchronize()` calls, ms per step; an op composed of others counts as itself. \"outside ops\" = the")
                .append(" profiled step − its ops (host work: Java between ops, allocation, GC). The synchronisation removes")
                .append(" overlap, so the profiled step is a little longer than the timed one. GC and JIT = the collectors' and the JIT compilers' time per timed step (the warm-up lasts until the JIT is nearly done).\n\n");
        Set<String> archs = new LinkedHashSet<>();
        profiled.forEach(r -> archs.add(r.op()));
        for (String arch : archs) {
            List<Row> cols = profiled.stream().filter(r -> r.op().equals(arch)).toList();
            sb.append("### ").append(arch.replace("_step", "")).append(" by kind\n\n");
            header(sb, "kind", cols, "share");
            List<Map<String, Double>> kinds = new ArrayList<>();
            for (Row r : cols) {
                kinds.add(byKind(ops(r, "ops")));
            }
            for (String k : KINDS) {
                if (kinds.stream().allMatch(m -> m.get(k) == 0.0)) {
                    continue;
                }
                sb.append("| ").append(k).append(" |");
                for (int i = 0; i < cols.size(); i++) {
                    cell(sb, kinds.get(i).get(k), stepS(cols.get(i)));
                }
                sb.append('\n');
            }
            sb.append("| outside ops |");
            for (int i = 0; i < cols.size(); i++) {
                double sum = kinds.get(i).values().stream().mapToDouble(Double::doubleValue).sum();
                cell(sb, stepS(cols.get(i)) - sum, stepS(cols.get(i)));
            }
            sb.append("\n| **profiled step** |");
            cols.forEach(r -> sb.append(' ').append(Report.ms(stepS(r))).append(" | |"));
            sb.append("\n| timed step (median) |");
            cols.forEach(r -> sb.append(' ').append(Report.ms(r.medianS())).append(" | |"));
            sb.append("\n| GC per timed step |");
            cols.forEach(r -> sb.append(' ').append(Double.isNaN(r.number("gc_s")) ? "" : Report.ms(r.number("gc_s")))
                    .append(" | |"));
            sb.append("\n| JIT per timed step |");
            cols.forEach(r -> sb.append(' ').append(Double.isNaN(r.number("jit_s")) ? "" : Report.ms(r.number("jit_s")))
                    .append(" | |"));
            sb.append("\n\n");
            detail(sb, arch, "by op (calls per step)", "op", cols, "ops", Integer.MAX_VALUE);
            detail(sb, arch, "matmul shapes (M×N×K, the 12 costliest)", "shape", cols, "matmul_shapes", 12);
        }
    }

    private static void detail(StringBuilder sb, String arch, String title, String first, List<Row> cols, String field,
                               int limit) {
        Map<String, Double> total = new LinkedHashMap<>();
        for (Row r : cols) {
            ops(r, field).forEach((k, v) -> total.merge(k, v.get(1).doubleValue(), Double::sum));
        }
        if (total.isEmpty()) {
            return;
        }
        List<String> keys = total.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue(), a.getValue()))
                .limit(limit).map(Map.Entry::getKey).toList();
        sb.append("### ").append(arch.replace("_step", "")).append(' ').append(title).append("\n\n");
        header(sb, first, cols, "calls");
        for (String k : keys) {
            sb.append("| ").append(k).append(" |");
            for (Row r : cols) {
                List<Number> v = ops(r, field).get(k);
                if (v == null) {
                    sb.append(" — | |");
                } else {
                    sb.append(' ').append(Report.ms(v.get(1).doubleValue())).append(" | ")
                            .append(String.format(Locale.ROOT, "%.0f", v.get(0).doubleValue())).append(" |");
                }
            }
            sb.append('\n');
        }
        sb.append('\n');
    }

    private static void header(StringBuilder sb, String first, List<Row> cols, String second) {
        sb.append("| ").append(first).append(" |");
        for (Row r : cols) {
            sb.append(' ').append(r.device()).append(' ').append(r.shape().split(" ")[0]).append(" ms | ").append(second)
                    .append(" |");
        }
        sb.append("\n|---|").append("---:|---:|".repeat(cols.size())).append('\n');
    }

    private static void cell(StringBuilder sb, double s, double step) {
        sb.append(' ').append(Report.ms(s)).append(" | ")
                .append(String.format(Locale.ROOT, "%.0f%%", step > 0 ? 100 * s / step : Double.NaN)).append(" |");
    }

    private static double stepS(Row r) {
        Object b = r.extra().get("breakdown");
        return b instanceof Map<?, ?> m && m.get("step_s") instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, List<Number>> ops(Row r, String field) {
        Object b = r.extra().get("breakdown");
        Object o = b instanceof Map<?, ?> m ? m.get(field) : null;
        return o instanceof Map<?, ?> ? (Map<String, List<Number>>) o : Map.of();
    }
}
