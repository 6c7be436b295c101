package dev.nola.models.train;

/**
 * Held-out metrics of a task.
 *
 * @param loss     the mean loss (cross-entropy, nats)
 * @param accuracy the fraction classified right, or NaN for tasks that do not classify
 */
public record Evaluation(double loss, double accuracy) {

    /** Perplexity, exp(loss), for language models. */
    public double perplexity() {
        return Math.exp(loss);
    }
}
