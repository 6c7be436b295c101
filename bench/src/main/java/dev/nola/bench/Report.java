package dev.nola.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The suite's results as Markdown (report.md), CSV (results.csv) and JSON (results.json). */
final class Report {

    static final List<String> CSV_COLUMNS = List.of("group", "op", "shape", "device", "warmup", "reps", "min_s",
            "median_s", "max_s", "flops", "bytes", "gflops", "gbps", "of_peak", "speed_vs_torch", "torch_median_s",
            "tokens_per_s", "memory_mb", "device_peak_mb", "peak_rss_mb", "transfer_s", "kernel_s", "matmul_gflop_per_step",
            "matmul_floor_s", "step_over_matmul_floor", "speed_vs_torch_at_floor", "validation");

    private Report() {
    }

    static boolean isPeer(Row r) {
        return r.device().equals("torch") || r.device().equals("numpy");
    }

    /** A row as a flat map: its fields, the derived throughputs, and its extra figures. */
    static Map<String, Object> flat(Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("group", r.group());
        m.put("op", r.op());
        m.put("shape", r.shape());
        m.put("device", r.device());
        m.put("warmup", r.warmup());
        m.put("reps", r.reps());
        m.put("min_s", r.minS());
        m.put("median_s", r.medianS());
        m.put("max_s", r.maxS());
        m.put("flops", r.flops());
        m.put("bytes", r.bytes());
        m.put("gflops", r.gflops());
        m.put("gbps", r.gbps());
        m.putAll(r.extra());
        m.put("validation", r.validation());
        return m;
    }

    static String json(Map<String, Object> meta, Map<String, Map<String, Object>> peaks, List<Row> rows) {
        Map<String, Object> all = new LinkedHashMap<>();
        all.put("meta", meta);
        all.put("peaks", peaks);
        List<Map<String, Object>> list = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> m = flat(r);
            m.replaceAll((k, v) -> v instanceof Double d && !Double.isFinite(d) ? null : v);
            list.add(m);
        }
        all.put("results", list);
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(all) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("results do not serialise: " + e.getMessage(), e);
        }
    }

    static String csv(List<Row> rows) {
        StringBuilder sb = new StringBuilder(String.join(",", CSV_COLUMNS)).append('\n');
        for (Row r : rows) {
            Map<String, Object> m = flat(r);
            List<String> cells = new ArrayList<>();
            for (String c : CSV_COLUMNS) {
                Object v = m.get(c);
                cells.add(v == null || (v instanceof Double d && !Double.isFinite(d)) ? "" : quote(String.valueOf(v)));
            }
            sb.append(String.join(",", cells)).append('\n');
        }
        return sb.toString();
    }

    private static String quote(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    // ------------------------------------------------------------------ Markdown

    static String markdown(Map<String, Object> meta, Map<String, Map<String, Object>> peaks, List<Row> rows,
                           String chartDir) {
        StringBuilder sb = new StringBuilder();
        sb.append("# nola bench\n\n");
        sb.append("`").append(meta.get("command")).append("`, ").append(meta.get("date")).append(", ")
                .append(meta.get("wall_seconds")).append(" s in all.\n\n");
        sb.append("- Machine: ").append(meta.get("cpu")).append(", ").append(meta.get("processors"))
                .append(" processors, ").append(meta.get("vector_bits")).append("-bit vectors, caches ")
                .append(meta.get("caches")).append(" bytes, ").append(meta.get("memory_mb")).append(" MB memory; Java ")
                .append(meta.get("java")).append("; ").append(meta.get("os")).append(".\n");
        sb.append("- Timing: ").append(meta.get("timing")).append("; times are medians (min and max in results.csv); every")
                .append(" device call ends with `synchronize()`.\n");
        sb.append("- Peers: numpy ").append(meta.getOrDefault("numpy_before", "—")).append("; PyTorch ")
                .append(meta.getOrDefault("torch_summary", meta.getOrDefault("peers", "—"))).append(".\n");
        sb.append("- Peaks are the best call of each peak measurement; other figures use the median.\n");
        sb.append("- Ratios: **×torch = PyTorch's time / ours** (above 1: we are faster); **of peak** = achieved / the")
                .append(" device's roofline bound min(sgemm peak, intensity × bandwidth peak), both measured below in this run.\n\n");
        validation(sb, rows);
        peaksTable(sb, peaks, rows);
        List<String> devices = new ArrayList<>(peaks.keySet());
        for (String g : List.of("random", "nola", "linalg", "adapter", "nn", "optim", "layer")) {
            List<Row> group = rows.stream().filter(r -> r.group().equals(g)).toList();
            if (!group.isEmpty()) {
                groupTable(sb, g, group, devices);
            }
        }
        paired(sb, rows);
        steps(sb, rows, devices);
        MatmulFloor.markdown(sb, rows);
        Breakdown.markdown(sb, rows);
        generation(sb, rows);
        scaling(sb, rows, devices, meta);
        @SuppressWarnings("unchecked")
        List<String> charts = (List<String>) meta.getOrDefault("charts", List.of());
        if (!charts.isEmpty()) {
            sb.append("## Charts\n\n");
            for (String c : charts) {
                sb.append("![").append(c).append("](").append(chartDir).append('/').append(c).append(")\n\n");
            }
        }
        return sb.toString();
    }

    private static void validation(StringBuilder sb, List<Row> rows) {
        long checked = rows.stream().filter(r -> r.validation().startsWith("max error")).count();
        List<Row> bad = rows.stream().filter(r -> r.validation().startsWith("FAILED") || r.validation().startsWith("ERROR"))
                .toList();
        List<Row> skipped = rows.stream().filter(r -> r.validation().startsWith("SKIPPED")).toList();
        sb.append("**Validation.** ").append(checked).append(" results were compared with the reference backend before")
                .append(" they were timed (tolerance ").append(Compare.TOLERANCE).append(" of scale; matmuls and losses")
                .append(" on their first rows, training steps on a small model of their architecture, generation's greedy tokens")
                .append(" on a small model and with against without the KV cache)");
        if (bad.isEmpty()) {
            sb.append("; all agreed.\n\n");
        } else {
            sb.append("; **").append(bad.size()).append(" did not**:\n\n");
            for (Row r : bad) {
                sb.append("- ").append(r.device()).append(' ').append(r.group()).append('/').append(r.op()).append(' ')
                        .append(r.shape()).append(": ").append(r.validation()).append('\n');
            }
            sb.append('\n');
        }
        if (!skipped.isEmpty()) {
            sb.append("**Skipped** (the device lacks an op the row needs):\n\n");
            for (Row r : skipped) {
                sb.append("- ").append(r.device()).append(' ').append(r.group()).append('/').append(r.op()).append(' ')
                        .append(r.shape()).append(": ").append(r.validation().substring("SKIPPED: ".length())).append('\n');
            }
            sb.append('\n');
        }
    }

    private static void peaksTable(StringBuilder sb, Map<String, Map<String, Object>> peaks, List<Row> rows) {
        sb.append("## Peaks\n\n| device | name | sgemm 1024³ GFLOP/s | bandwidth (axpy, 3×64 MiB) GB/s | host→device GB/s |")
                .append(" device→host GB/s | Java triad GB/s |\n|---|---|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, Map<String, Object>> e : peaks.entrySet()) {
            Map<String, Object> p = e.getValue();
            sb.append("| ").append(e.getKey()).append(" | ").append(p.get("name")).append(p.get("version") == null ? "" : " (" + p.get("version") + ")")
                    .append(" | ").append(f1(p.get("sgemm_gflops"))).append(" | ").append(f1(p.get("bandwidth_gbps"))).append(" | ")
                    .append(f1(p.get("host_to_device_gbps"))).append(" | ").append(f1(p.get("device_to_host_gbps")))
                    .append(" | ").append(f1(p.get("java_triad_gbps"))).append(" |\n");
        }
        for (Row r : rows) {
            if (isPeer(r) && r.group().equals("peaks") && r.op().equals("sgemm")) {
                sb.append("| ").append(r.device()).append(r.extra().containsKey("when") ? " (" + r.extra().get("when") + ")" : "")
                        .append(" | ").append(r.extra().getOrDefault("kernel", "torch.mm")).append(" | ")
                        .append(String.format(Locale.ROOT, "%.1f", r.bestGflops())).append(" | | | | |\n");
            }
        }
        sb.append('\n');
    }

    private static void groupTable(StringBuilder sb, String group, List<Row> rows, List<String> devices) {
        sb.append("## ").append(group).append("\n\n| op | shape |");
        for (String d : devices) {
            sb.append(' ').append(d).append(" ms | of peak | ×torch |");
        }
        sb.append(" torch ms |\n|---|---|");
        sb.append("---:|---:|---:|".repeat(devices.size())).append("---:|\n");
        Set<String> keys = new LinkedHashSet<>();
        rows.forEach(r -> keys.add(r.op() + "\u0000" + r.shape()));
        for (String k : keys) {
            String[] os = k.split("\u0000");
            sb.append("| ").append(os[0]).append(" | ").append(os[1]).append(" |");
            for (String d : devices) {
                Row r = find(rows, d, os[0], os[1]);
                if (r == null || Double.isNaN(r.medianS())) {
                    sb.append(r == null ? " — | | |" : " " + shortError(r) + " | | |");
                } else {
                    sb.append(' ').append(ms(r.medianS())).append(" | ").append(pct(r.number("of_peak"))).append(" | ")
                            .append(x(r.number("speed_vs_torch"))).append(" |");
                }
            }
            Row t = find(rows, "torch", os[0], os[1]);
            sb.append(' ').append(t == null ? "—" : ms(t.medianS())).append(" |\n");
        }
        sb.append('\n');
    }

    private static void paired(StringBuilder sb, List<Row> rows) {
        List<Row> paired = rows.stream().filter(r -> r.group().equals("paired")).toList();
        if (paired.isEmpty()) {
            return;
        }
        Row first = paired.get(0);
        sb.append("## Matmuls paired with the peers\n\nThe same products again, in ").append(f0(first.extra().get("rounds")))
                .append(" alternating rounds per row (ours, the peer's, the peer's, ours, …; each side of a round a few calls")
                .append(" of about 0.1 s in all, 0.02 s under --quick, or one call if it takes longer, after half as many untimed ones, 0.05 s at least),")
                .append(" so that both sides of a round meet the machine")
                .append(" in the same state. ×peer = the median over rounds of the peer's round median ÷ ours (range: the")
                .append(" lowest and highest round); ms = medians over rounds.\n\n")
                .append("| device | op | shape | ours ms | peer | peer ms | ×peer | rounds' range |\n")
                .append("|---|---|---|---:|---|---:|---:|---|\n");
        for (Row r : paired) {
            sb.append("| ").append(r.device()).append(" | ").append(r.op()).append(" | ").append(r.shape()).append(" | ")
                    .append(ms(r.medianS())).append(" | ").append(r.extra().get("peer")).append(" | ")
                    .append(ms(r.number("peer_median_s"))).append(" | ").append(x(r.number("speed_vs_peer"))).append(" | ")
                    .append(String.format(Locale.ROOT, "%.2f–%.2f", r.number("speed_vs_peer_min"), r.number("speed_vs_peer_max")))
                    .append(" |\n");
        }
        sb.append('\n');
    }

    private static void steps(StringBuilder sb, List<Row> rows, List<String> devices) {
        List<Row> steps = rows.stream().filter(r -> r.group().equals("step")).toList();
        if (steps.isEmpty()) {
            return;
        }
        sb.append("## Training step (GPT-2 124M, SmolLM2-135M-shaped LLaMA)\n\nzero_grad + forward + loss + backward + AdamW on the")
                .append(" adapters; weights random; adapters on q and v (q_proj, v_proj). Transfers: host↔device copies within the step (ids, targets in; loss out),")
                .append(" timed by the device; kernel = step − transfers.\n\n")
                .append("| model | shape | device | tokens/s | step s (min–max) | max/median | transfers ms | kernel s | device peak MB | RSS MB | ×torch |\n")
                .append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : steps) {
            sb.append("| ").append(r.op().replace("_step", ""));
            if (Double.isNaN(r.medianS())) {
                sb.append(" | ").append(r.shape()).append(" | ").append(r.device()).append(" | ").append(shortError(r))
                        .append(" | | | | | | | |\n");
                continue;
            }
            sb.append(" | ").append(r.shape()).append(" | ").append(r.device()).append(" | ")
                    .append(f1(r.extra().get("tokens_per_s"))).append(" | ")
                    .append(String.format(Locale.ROOT, "%.3f (%.3f–%.3f)", r.medianS(), r.minS(), r.maxS())).append(" | ")
                    .append(String.format(Locale.ROOT, "%.2f (%d)", r.maxS() / r.medianS(), r.reps())).append(" | ")
                    .append(isPeer(r) ? "" : String.format(Locale.ROOT, "%.3f", r.number("transfer_s") * 1e3)).append(" | ")
                    .append(isPeer(r) ? "" : String.format(Locale.ROOT, "%.3f", r.number("kernel_s"))).append(" | ")
                    .append(isPeer(r) ? "" : f0(r.extra().get("device_peak_mb"))).append(" | ")
                    .append(f0(r.extra().get("peak_rss_mb"))).append(" | ").append(x(r.number("speed_vs_torch"))).append(" |\n");
        }
        sb.append('\n');
    }

    private static void generation(StringBuilder sb, List<Row> rows) {
        List<Row> gen = rows.stream().filter(r -> r.group().equals("generate")).toList();
        if (gen.isEmpty()) {
            return;
        }
        sb.append("## Generation, greedy, with and without the KV cache\n\nRandom weights, no adapter; a prompt of random")
                .append(" tokens, then the new tokens one at a time. tokens/s = new tokens / the whole generation (prefill")
                .append(" included). cache: the prompt runs once, then one position per token over the cached keys and values;")
                .append(" no_cache: the whole context runs again for every token. PyTorch's cache is its own (past keys and")
                .append(" values concatenated). Both of our modes must generate the same tokens.\n\n")
                .append("| model | shape | device | new tokens/s | generate s (min–max) | RSS MB | same tokens | ×torch |\n")
                .append("|---|---|---|---:|---:|---:|---|---:|\n");
        for (Row r : gen) {
            sb.append("| ").append(r.op().replace("_generate", "")).append(" | ").append(r.shape()).append(" | ")
                    .append(r.device()).append(" | ");
            if (Double.isNaN(r.medianS())) {
                sb.append(shortError(r)).append(" | | | | |\n");
                continue;
            }
            Object same = r.extra().get("tokens_identical");
            sb.append(f1(r.extra().get("tokens_per_s"))).append(" | ")
                    .append(String.format(Locale.ROOT, "%.2f (%.2f–%.2f)", r.medianS(), r.minS(), r.maxS())).append(" | ")
                    .append(f0(r.extra().get("peak_rss_mb"))).append(" | ")
                    .append(same == null ? "" : Boolean.TRUE.equals(same) ? "yes" : "**no**").append(" | ")
                    .append(x(r.number("speed_vs_torch"))).append(" |\n");
        }
        sb.append('\n');
    }

    private static void scaling(StringBuilder sb, List<Row> rows, List<String> devices, Map<String, Object> meta) {
        List<Row> k = rows.stream().filter(r -> r.group().equals("scaling") && r.op().startsWith("nola")).toList();
        if (!k.isEmpty()) {
            sb.append("## Scaling with k (one layer, forward + backward, N = 1024, 1024 × 1024, r = 8, k = l)\n\n")
                    .append("memory: the device's peak bytes during the case (inputs, bases, activations).\n\n")
                    .append("| k | materialised bases MB | device | materialised ms | on the fly ms | materialised MB | on the fly MB |")
                    .append(" ×torch (mat / otf) |\n|---:|---:|---|---:|---:|---:|---:|---:|\n");
            Set<Integer> ks = new java.util.TreeSet<>();
            for (Row r : k) {
                ks.add(kOf(r.shape()));
            }
            List<String> all = new ArrayList<>(devices);
            all.add("torch");
            for (int kk : ks) {
                for (String d : all) {
                    Row m = find(k, d, "nola_materialized_fwd_bwd", kShape(kk));
                    Row o = find(k, d, "nola_on_the_fly_fwd_bwd", kShape(kk));
                    if (m == null && o == null) {
                        continue;
                    }
                    sb.append("| ").append(kk).append(" | ").append(String.format(Locale.ROOT, "%.1f",
                                    LayerCases.basisBytes(kk) / 1048576.0)).append(" | ").append(d).append(" | ")
                            .append(m == null ? "—" : ms(m.medianS())).append(" | ").append(o == null ? "—" : ms(o.medianS()))
                            .append(" | ").append(m == null ? "" : f1(m.extra().get("memory_mb"))).append(" | ")
                            .append(o == null ? "" : f1(o.extra().get("memory_mb"))).append(" | ")
                            .append(m == null ? "" : x(m.number("speed_vs_torch"))).append(" / ")
                            .append(o == null ? "" : x(o.number("speed_vs_torch"))).append(" |\n");
                }
            }
            long llc = Machine.lastLevelCache();
            long mem = Machine.memoryBytes();
            // GPT-2 124M with NOLA on q and v: 24 adapters of in = out = 768, r = 8, one bank pair each
            long perK = 24L * 4 * 8 * (768 + 768);
            sb.append(String.format(Locale.ROOT, "%nWhere materialised bases stop fitting: one layer's bank pair (%d KiB per"
                            + " unit of k) outgrows the %d MiB last-level cache beyond k = %d; GPT-2 124M's 24 q/v adapters"
                            + " (%d KiB per unit of k) outgrow it beyond k = %d and outgrow this machine's %d MiB of memory"
                            + " beyond k ≈ %d. On the fly, memory does not grow with k.%n%n",
                    LayerCases.basisBytes(1) >> 10, llc >> 20, llc / Math.max(1, LayerCases.basisBytes(1)), perK >> 10,
                    llc / perK, mem >> 20, mem / perK));
        }
        List<Row> tok = rows.stream().filter(r -> r.group().equals("scaling") && r.op().equals("gpt2_step")).toList();
        if (!tok.isEmpty()) {
            sb.append("## Scaling with batch × sequence (GPT-2 step, NOLA materialised)\n\n")
                    .append("| shape | device | tokens | tokens/s | device peak MB | RSS MB | ×torch |\n")
                    .append("|---|---|---:|---:|---:|---:|---:|\n");
            for (Row r : tok) {
                sb.append("| ").append(r.shape()).append(" | ").append(r.device()).append(" | ")
                        .append(tokensOf(r.shape())).append(" | ").append(f1(r.extra().get("tokens_per_s"))).append(" | ")
                        .append(f0(r.extra().get("device_peak_mb"))).append(" | ").append(f0(r.extra().get("peak_rss_mb")))
                        .append(" | ").append(x(r.number("speed_vs_torch"))).append(" |\n");
            }
            sb.append('\n');
        }
    }

    static int kOf(String shape) {
        for (String w : shape.split(" ")) {
            if (w.startsWith("k=")) {
                return Integer.parseInt(w.substring(2));
            }
        }
        return -1;
    }

    static String kShape(int k) {
        return "N=" + LayerCases.N + " in=" + LayerCases.WIDTH + " out=" + LayerCases.WIDTH + " r=" + LayerCases.R + " k="
                + k + " l=" + k;
    }

    static int tokensOf(String shape) {
        int b = 0;
        int t = 0;
        for (String w : shape.split(" ")) {
            if (w.startsWith("B=")) {
                b = Integer.parseInt(w.substring(2));
            } else if (w.startsWith("T=")) {
                t = Integer.parseInt(w.substring(2));
            }
        }
        return b * t;
    }

    /** Tokens of a point written {@code BxT}. */
    static int tokensOfPoint(String point) {
        String[] bt = point.split("x");
        return Integer.parseInt(bt[0]) * Integer.parseInt(bt[1]);
    }

    static Row find(List<Row> rows, String device, String op, String shape) {
        for (Row r : rows) {
            if (r.device().equals(device) && r.op().equals(op) && r.shape().equals(shape)) {
                return r;
            }
        }
        return null;
    }

    private static String shortError(Row r) {
        String v = r.validation();
        return v.startsWith("FAILED") ? "failed check" : v.startsWith("SKIPPED") ? "skipped (see above)" : "error";
    }

    static String ms(double s) {
        double m = s * 1e3;
        return String.format(Locale.ROOT, m >= 100 ? "%.0f" : m >= 10 ? "%.1f" : m >= 1 ? "%.2f" : "%.3f", m);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.0f%%", 100 * v);
    }

    private static String x(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.2f×", v);
    }

    private static String f1(Object v) {
        return v instanceof Number n && Double.isFinite(n.doubleValue()) ? String.format(Locale.ROOT, "%.1f", n.doubleValue()) : "";
    }

    private static String f0(Object v) {
        return v instanceof Number n && Double.isFinite(n.doubleValue()) && n.doubleValue() >= 0
                ? String.format(Locale.ROOT, "%.0f", n.doubleValue()) : "";
    }
}
