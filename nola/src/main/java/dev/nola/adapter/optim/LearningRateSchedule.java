package dev.nola.adapter.optim;

/**
 * The learning rate at a step (0-based). Implementations are pure functions of the step.
 */
@FunctionalInterface
public interface LearningRateSchedule {

    /** The learning rate for step {@code step} (≥ 0). */
    double at(long step);

    /** A constant rate. */
    static LearningRateSchedule constant(double peak) {
        check(peak, 0, 1);
        return step -> peak;
    }

    /**
     * Linear warm-up from 0 to {@code peak} over {@code warmup} steps, then linear decay to 0 at
     * {@code total} (the HF "linear" schedule: rate = peak·step/warmup, then
     * peak·(total−step)/(total−warmup), 0 from {@code total} on).
     */
    static LearningRateSchedule linear(double peak, long warmup, long total) {
        check(peak, warmup, total);
        return step -> {
            if (step < warmup) {
                return peak * step / warmup;
            }
            if (step >= total) {
                return 0.0;
            }
            return peak * (total - step) / (double) (total - warmup);
        };
    }

    /**
     * Linear warm-up over {@code warmup} steps, then cosine decay from {@code peak} to {@code floor}
     * at {@code total}, {@code floor} afterwards.
     */
    static LearningRateSchedule cosine(double peak, double floor, long warmup, long total) {
        check(peak, warmup, total);
        if (!(floor >= 0 && floor <= peak)) {
            throw new IllegalArgumentException("floor must be in [0, peak=" + peak + "], got " + floor);
        }
        return step -> {
            if (step < warmup) {
                return peak * step / warmup;
            }
            if (step >= total) {
                return floor;
            }
            double progress = (step - warmup) / (double) (total - warmup);
            return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
        };
    }

    private static void check(double peak, long warmup, long total) {
        if (!(peak >= 0) || Double.isInfinite(peak)) {
            throw new IllegalArgumentException("peak learning rate must be finite and >= 0, got " + peak);
        }
        if (warmup < 0) {
            throw new IllegalArgumentException("warmup must be >= 0, got " + warmup);
        }
        if (total <= warmup) {
            throw new IllegalArgumentException("total steps must be > warmup=" + warmup + ", got " + total);
        }
    }
}
