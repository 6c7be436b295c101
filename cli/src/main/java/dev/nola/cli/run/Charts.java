package dev.nola.cli.run;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The report's PNG charts, drawn with XChart (headless AWT): the loss curves of every method on one
 * chart, the metric of every method before and after training, and trainable numbers against the
 * metric. Each returns the PNG's bytes, so the report directory is written in one atomic step.
 */
public final class Charts {

    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;

    private Charts() {
    }

    /**
     * Training loss against step, one line per run: each curve is the running mean over a window of
     * about 2% of the steps (batch losses are noisy), drawn over the raw losses in a lighter line.
     */
    public static byte[] lossCurves(String title, List<RunLog> runs) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("step")
                .yAxisTitle("training loss (batch mean, smoothed)").build();
        style(c);
        c.getStyler().setMarkerSize(0);
        for (RunLog r : runs) {
            if (r.steps().isEmpty()) {
                continue;
            }
            int n = r.steps().size();
            double[] x = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                x[i] = r.steps().get(i).step() + 1;
                y[i] = r.steps().get(i).loss();
            }
            XYSeries s = c.addSeries(r.name(), x, smooth(y, Math.max(1, n / 50)));
            s.setMarker(SeriesMarkers.NONE);
        }
        return png(c);
    }

    /** The metric of each method before and after training, as grouped bars. */
    public static byte[] metricBars(String title, String metric, List<String> methods, List<Double> before, List<Double> after) {
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("method")
                .yAxisTitle(metric).build();
        style(c);
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setLabelsVisible(true);
        c.getStyler().setDecimalPattern("#,##0.###");
        c.addSeries("before", methods, before.stream().map(d -> (Number) (Double.isFinite(d) ? d : 0.0)).toList());
        c.addSeries("after", methods, after.stream().map(d -> (Number) (Double.isFinite(d) ? d : 0.0)).toList());
        return png(c);
    }

    /** One point per method: trainable numbers (log scale) against the metric after training. */
    public static byte[] parametersAgainstQuality(String title, String metric, List<String> methods, List<Long> trainable,
                                                  List<Double> quality) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("trainable numbers (log scale)").yAxisTitle(metric).build();
        style(c);
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setMarkerSize(12);
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        for (int i = 0; i < methods.size(); i++) {
            if (trainable.get(i) > 0 && Double.isFinite(quality.get(i))) {
                c.addSeries(methods.get(i) + " (" + String.format("%,d", trainable.get(i)) + ")",
                        new double[] {trainable.get(i)}, new double[] {quality.get(i)});
            }
        }
        return png(c);
    }

    static double[] smooth(double[] y, int window) {
        double[] out = new double[y.length];
        double sum = 0;
        List<Double> q = new ArrayList<>();
        for (int i = 0; i < y.length; i++) {
            sum += y[i];
            q.add(y[i]);
            if (q.size() > window) {
                sum -= q.removeFirst();
            }
            out[i] = sum / q.size();
        }
        return out;
    }

    private static void style(Chart<?, ?> c) {
        Styler s = c.getStyler();
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setLegendPosition(Styler.LegendPosition.InsideNE);
        s.setAntiAlias(true);
    }

    private static byte[] png(Chart<?, ?> c) {
        try {
            return BitmapEncoder.getBitmapBytes(c, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot draw chart '" + c.getTitle() + "': " + e.getMessage(), e);
        }
    }
}
