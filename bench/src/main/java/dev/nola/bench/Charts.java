package dev.nola.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;

/**
 * The report's PNG charts: per-op bars across devices with PyTorch beside them (one chart per group,
 * log scale), a roofline of each device (every kernel's GFLOP/s against its FLOP per byte, under the
 * device's measured sgemm and bandwidth peaks), the scaling curves (time and memory against k,
 * tokens/s against batch × sequence) and the training steps' tokens/s (GPT-2 and LLaMA).
 */
final class Charts {

    private static final int W = 1100;
    private static final int H = 600;

    private Charts() {
    }

    /** Writes every chart the rows allow into {@code dir}; returns the file names. */
    static List<String> write(Path dir, Map<String, Map<String, Object>> peaks, List<Row> rows) throws IOException {
        List<String> names = new ArrayList<>();
        List<String> series = new ArrayList<>(peaks.keySet());
        series.add("torch");
        for (String g : List.of("random", "nola", "linalg", "adapter", "nn", "optim", "layer")) {
            List<Row> group = rows.stream().filter(r -> r.group().equals(g) && !Double.isNaN(r.medianS())).toList();
            if (!group.isEmpty()) {
                save(dir, "ops-" + g, bars(g, group, series), names);
            }
        }
        List<Row> steps = rows.stream().filter(r -> r.group().equals("step") && !Double.isNaN(r.medianS())).toList();
        if (!steps.isEmpty()) {
            save(dir, "step-tokens-per-s", stepBars(steps, series), names);
        }
        for (Map.Entry<String, Map<String, Object>> e : peaks.entrySet()) {
            List<Row> mine = rows.stream().filter(r -> r.device().equals(e.getKey()) && !Double.isNaN(r.intensity())
                    && !Double.isNaN(r.medianS()) && !r.group().equals("scaling") && !r.group().equals("paired")).toList();
            if (!mine.isEmpty()) {
                save(dir, "roofline-" + e.getKey().replace(':', '_'), roofline(e.getKey(), e.getValue(), mine), names);
            }
        }
        List<Row> k = rows.stream().filter(r -> r.group().equals("scaling") && r.op().startsWith("nola")
                && !Double.isNaN(r.medianS())).toList();
        if (!k.isEmpty()) {
            save(dir, "scaling-k-time", scalingK(k, false), names);
            save(dir, "scaling-k-memory", scalingK(k, true), names);
        }
        List<Row> tok = rows.stream().filter(r -> r.group().equals("scaling") && r.op().equals("gpt2_step")
                && !Double.isNaN(r.medianS())).toList();
        if (!tok.isEmpty()) {
            save(dir, "scaling-tokens", scalingTokens(tok), names);
        }
        return names;
    }

    /** Saves one chart; a chart that cannot be drawn is reported on stderr and left out, the rest still written. */
    private static void save(Path dir, String name, Chart<?, ?> chart, List<String> names) throws IOException {
        try {
            BitmapEncoder.saveBitmap(chart, dir.resolve(name).toString(), BitmapEncoder.BitmapFormat.PNG);
            names.add(name + ".png");
        } catch (RuntimeException e) {
            System.err.println("nola bench: chart " + name + " left out: " + e);
            e.printStackTrace();
        }
    }

    /** Median ms of each op (and shape) per device and the peer; a missing figure is left out of its series. */
    private static CategoryChart bars(String group, List<Row> rows, List<String> series) {
        Set<String> ops = new LinkedHashSet<>();
        Map<String, Integer> perOp = new LinkedHashMap<>();
        for (Row r : rows) {
            if (ops.add(r.op() + "\u0000" + r.shape())) {
                perOp.merge(r.op(), 1, Integer::sum);
            }
        }
        List<String> labels = new ArrayList<>();
        List<String> keys = new ArrayList<>(ops);
        for (String k : keys) {
            String[] os = k.split("\u0000");
            labels.add(perOp.get(os[0]) > 1 ? os[0] + " " + os[1] : os[0]);
        }
        CategoryChart c = new CategoryChartBuilder().width(W).height(H).title(group + ": median time per call (log scale;"
                + " lower is better)").xAxisTitle("op").yAxisTitle("ms").build();
        style(c.getStyler());
        c.getStyler().setYAxisLogarithmic(true);
        c.getStyler().setXAxisLabelRotation(20);
        double least = Double.MAX_VALUE;
        for (String s : series) {
            List<String> x = new ArrayList<>();
            List<Number> y = new ArrayList<>();
            for (int i = 0; i < keys.size(); i++) {
                String[] os = keys.get(i).split("\u0000");
                Row r = Report.find(rows, s, os[0], os[1]);
                if (r != null) { // a log axis takes no empty bar: a series lists only the ops it has
                    x.add(labels.get(i));
                    y.add(r.medianS() * 1e3);
                }
            }
            if (!y.isEmpty()) {
                c.addSeries(s, x, y);
                least = Math.min(least, y.stream().mapToDouble(Number::doubleValue).min().orElse(least));
            }
        }
        // bars start from the axis minimum, which on a log axis must be above zero
        c.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(least))));
        return c;
    }

    private static CategoryChart stepBars(List<Row> steps, List<String> series) {
        // one category per model and shape: "gpt2 nola_materialized L=12 …", "llama …"
        List<String> keys = new ArrayList<>(new LinkedHashSet<>(steps.stream().map(r -> r.op() + "|" + r.shape()).toList()));
        List<String> shapes = keys.stream().map(k -> k.replace("_step|", " ")).toList();
        CategoryChart c = new CategoryChartBuilder().width(W).height(H).title("Training step: tokens/s (higher is"
                + " better)").xAxisTitle("model, variant and shape").yAxisTitle("tokens/s").build();
        style(c.getStyler());
        for (String s : series) {
            List<Number> y = new ArrayList<>();
            for (String key : keys) {
                String[] k = key.split("\\|", 2);
                Row r = Report.find(steps, s, k[0], k[1]);
                y.add(r == null ? null : r.number("tokens_per_s"));
            }
            if (y.stream().anyMatch(v -> v != null)) {
                c.addSeries(s, shapes, y);
            }
        }
        return c;
    }

    private static XYChart roofline(String device, Map<String, Object> p, List<Row> rows) {
        double peak = ((Number) p.get("sgemm_gflops")).doubleValue();
        double bw = ((Number) p.get("bandwidth_gbps")).doubleValue();
        XYChart c = new XYChartBuilder().width(W).height(H).title("roofline of " + device + ": sgemm " + Math.round(peak)
                + " GFLOP/s, bandwidth " + Math.round(bw) + " GB/s (measured)").xAxisTitle("FLOP per byte")
                .yAxisTitle("GFLOP/s").build();
        style(c.getStyler());
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setYAxisLogarithmic(true);
        double lo = 0.01;
        double hi = 1000;
        for (Row r : rows) {
            lo = Math.min(lo, r.intensity() / 2);
            hi = Math.max(hi, r.intensity() * 2);
        }
        int n = 64;
        double[] ax = new double[n];
        double[] ay = new double[n];
        for (int i = 0; i < n; i++) {
            ax[i] = lo * Math.pow(hi / lo, i / (double) (n - 1));
            ay[i] = Math.min(peak, ax[i] * bw);
        }
        XYSeries roof = c.addSeries("roof", ax, ay);
        roof.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        roof.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        Map<String, List<Row>> byGroup = new LinkedHashMap<>();
        for (Row r : rows) {
            byGroup.computeIfAbsent(r.group(), g -> new ArrayList<>()).add(r);
        }
        for (Map.Entry<String, List<Row>> e : byGroup.entrySet()) {
            double[] x = e.getValue().stream().mapToDouble(Row::intensity).toArray();
            double[] y = e.getValue().stream().mapToDouble(Row::gflops).toArray();
            XYSeries s = c.addSeries(e.getKey(), x, y);
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        }
        return c;
    }

    private static XYChart scalingK(List<Row> rows, boolean memory) {
        XYChart c = new XYChartBuilder().width(W).height(H).title(memory
                ? "one NOLA layer, forward + backward: device memory against k (= l)"
                : "one NOLA layer, forward + backward: time against k (= l)").xAxisTitle("k")
                .yAxisTitle(memory ? "peak device MB" : "ms").build();
        style(c.getStyler());
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setYAxisLogarithmic(!memory);
        Map<String, TreeMap<Integer, Double>> lines = new LinkedHashMap<>();
        for (Row r : rows) {
            double v = memory ? r.number("memory_mb") : r.medianS() * 1e3;
            if (Double.isNaN(v)) {
                continue;
            }
            String mode = r.op().replace("_fwd_bwd", "").replace("nola_", "");
            lines.computeIfAbsent(r.device() + " " + mode, s -> new TreeMap<>()).put(Report.kOf(r.shape()), v);
        }
        for (Map.Entry<String, TreeMap<Integer, Double>> e : lines.entrySet()) {
            c.addSeries(e.getKey(), e.getValue().keySet().stream().mapToDouble(Integer::doubleValue).toArray(),
                    e.getValue().values().stream().mapToDouble(Double::doubleValue).toArray());
        }
        return c;
    }

    private static XYChart scalingTokens(List<Row> rows) {
        XYChart c = new XYChartBuilder().width(W).height(H).title("GPT-2 step (NOLA materialised): tokens/s against"
                + " batch × sequence").xAxisTitle("tokens per step").yAxisTitle("tokens/s").build();
        style(c.getStyler());
        c.getStyler().setXAxisLogarithmic(true);
        Map<String, TreeMap<Integer, Double>> lines = new LinkedHashMap<>();
        for (Row r : rows) {
            lines.computeIfAbsent(r.device(), s -> new TreeMap<>()).put(Report.tokensOf(r.shape()), r.number("tokens_per_s"));
        }
        for (Map.Entry<String, TreeMap<Integer, Double>> e : lines.entrySet()) {
            c.addSeries(e.getKey(), e.getValue().keySet().stream().mapToDouble(Integer::doubleValue).toArray(),
                    e.getValue().values().stream().mapToDouble(Double::doubleValue).toArray());
        }
        return c;
    }

    private static void style(Styler s) {
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setChartBackgroundColor(java.awt.Color.WHITE);
    }
}
