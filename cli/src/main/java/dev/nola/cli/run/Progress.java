package dev.nola.cli.run;

import dev.nola.models.train.Evaluation;
import dev.nola.models.train.TrainingListener;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Draws a {@link dev.nola.models.train.Trainer} run's progress: a progress bar (step, loss, items/s,
 * ETA) on the terminal when stdout is one (drawn there, so a filter on stderr cannot hold back its
 * carriage returns), else plain lines on stderr (about 20 per run, and every evaluation), or nothing
 * with {@code --quiet}. The library never prints; this listener is where
 * training becomes visible.
 */
public final class Progress implements TrainingListener {

    /** How progress is shown. */
    public enum Mode {
        /** A redrawn bar on the terminal (me.tongfei:progressbar). */
        BAR,
        /** One line every ~5% of the run and at every evaluation (pipes, logs, CI). */
        LINES,
        /** Nothing. */
        QUIET
    }

    private final Mode mode;
    private final PrintWriter err;
    private final String task;
    private final String unit;
    private ProgressBar bar;
    private long started;
    private long lastLine;
    private long firstStep = -1;

    /**
     * @param task the run's name, shown before each line ("nola", "lora r=4", "pretrain")
     * @param unit what a step processes, plural ("tokens", "images")
     */
    public Progress(Mode mode, PrintWriter err, String task, String unit) {
        this.mode = mode;
        this.err = err;
        this.task = task;
        this.unit = unit;
    }

    /** BAR in a terminal, LINES elsewhere, QUIET when asked. */
    public static Mode mode(boolean quiet) {
        if (quiet) {
            return Mode.QUIET;
        }
        java.io.Console c = System.console();
        return c != null && c.isTerminal() ? Mode.BAR : Mode.LINES;
    }

    @Override
    public void onStep(long step, long steps, double loss, double gradNorm, double learningRate, double itemsPerSecond) {
        if (mode == Mode.QUIET) {
            return;
        }
        long done = step + 1;
        if (mode == Mode.BAR) {
            if (bar == null) {
                bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(steps).setStyle(ProgressBarStyle.ASCII)
                        .setUpdateIntervalMillis(250).setMaxRenderedLength(110)
                        .setConsumer(new ConsoleProgressBarConsumer(System.out, 110))
                        .startsFrom(step, Duration.ZERO).build();
            }
            bar.stepTo(done);
            bar.setExtraMessage(String.format("loss %.4f  %s %s/s", loss, rate(itemsPerSecond), unit));
            if (done == steps) {
                close();
            }
            return;
        }
        long now = System.nanoTime();
        if (firstStep < 0) {
            firstStep = step;
            started = now;
            lastLine = now - Long.MAX_VALUE / 2;
        }
        long every = Math.max(1, steps / 20);
        if (done % every == 0 || done == steps || step == firstStep || now - lastLine > 30_000_000_000L) {
            lastLine = now;
            double elapsed = (now - started) / 1e9;
            double eta = step == firstStep ? Double.NaN : elapsed / (step - firstStep) * (steps - done);
            err.printf("%s: step %d/%d  loss %.4f  %s %s/s  eta %s%n", task, done, steps, loss, rate(itemsPerSecond), unit,
                    Double.isNaN(eta) ? "?" : clock(eta));
            err.flush();
        }
    }

    @Override
    public void onEvaluation(long step, Evaluation e) {
        if (mode == Mode.QUIET) {
            return;
        }
        close();
        err.printf("%s: eval at step %d  loss %.4f  %s%n", task, step, e.loss(),
                Double.isNaN(e.accuracy()) ? String.format("perplexity %.2f", e.perplexity())
                        : String.format("accuracy %.2f%%", 100 * e.accuracy()));
        err.flush();
    }

    @Override
    public void onCheckpoint(long step, Path dir) {
        // checkpoints are frequent and silent; a stopped run names the last one (FinetuneCommand)
    }

    /** Ends the bar, if one is drawn (before anything else is printed). */
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }

    static String rate(double perSecond) {
        if (!Double.isFinite(perSecond)) {
            return "?";
        }
        return perSecond >= 10_000 ? String.format("%.1fk", perSecond / 1000) : String.format("%.0f", perSecond);
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
    }
}
