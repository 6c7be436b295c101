package dev.nola.cli.run;

import dev.nola.models.train.Evaluation;
import dev.nola.models.train.TrainingListener;
import java.util.ArrayList;
import java.util.List;

/**
 * What one training run did, step by step, for the report: every step's loss, gradient norm,
 * learning rate and throughput, and every evaluation. Also passes each event on to another listener.
 */
public final class RunLog implements TrainingListener {

    /** One step's figures. */
    public record Step(long step, double loss, double gradNorm, double learningRate, double itemsPerSecond) {
    }

    /** One evaluation. */
    public record Eval(long step, double loss, double accuracy) {
    }

    private final String name;
    private final TrainingListener next;
    private final List<Step> steps = new ArrayList<>();
    private final List<Eval> evaluations = new ArrayList<>();

    /** @param next the listener that also sees every event (a {@link Progress}), or null */
    public RunLog(String name, TrainingListener next) {
        this.name = name;
        this.next = next == null ? TrainingListener.NONE : next;
    }

    @Override
    public void onStep(long step, long total, double loss, double gradNorm, double learningRate, double itemsPerSecond) {
        steps.add(new Step(step, loss, gradNorm, learningRate, itemsPerSecond));
        next.onStep(step, total, loss, gradNorm, learningRate, itemsPerSecond);
    }

    @Override
    public void onEvaluation(long step, Evaluation e) {
        evaluations.add(new Eval(step, e.loss(), e.accuracy()));
        next.onEvaluation(step, e);
    }

    @Override
    public void onCheckpoint(long step, java.nio.file.Path dir) {
        next.onCheckpoint(step, dir);
    }

    /** The run's name ("nola", "lora-r4", …). */
    public String name() {
        return name;
    }

    public List<Step> steps() {
        return steps;
    }

    public List<Eval> evaluations() {
        return evaluations;
    }

    /** The mean throughput over the steps, items per second (NaN without steps). */
    public double meanItemsPerSecond() {
        return steps.stream().mapToDouble(Step::itemsPerSecond).filter(Double::isFinite).average().orElse(Double.NaN);
    }
}
