package dev.nola.bench;

import java.util.Arrays;

/**
 * Careful timing for the suite: warm-up calls, then repetitions until both a minimum count and a
 * minimum total time are reached (capped at {@code maxReps}); min, median and max wall time in seconds.
 * The caller's body ends with {@code device.synchronize()}, so a repetition is the op's whole time.
 */
final class Timing {

    /**
     * How long to measure.
     *
     * @param warmup     untimed calls first
     * @param minReps    timed calls at least
     * @param minSeconds timed work at least, in seconds
     * @param maxReps    timed calls at most
     */
    record Plan(int warmup, int minReps, double minSeconds, int maxReps) {

        /** The suite's default: 2 warm-ups, at least 5 reps and 0.5 s, at most 200 reps. */
        static final Plan FULL = new Plan(2, 5, 0.5, 200);
        /** {@code --quick}: 1 warm-up, at least 3 reps and 0.05 s, at most 20 reps. */
        static final Plan QUICK = new Plan(1, 3, 0.05, 20);

        /** The same plan for calls that take seconds: one warm-up, the minimum reps only. */
        Plan slow() {
            return new Plan(1, minReps, 0, minReps);
        }
    }

    /** Min, median and max of the repetitions, in seconds. */
    record Result(double best, double median, double max, int reps, int warmup) {
    }

    private Timing() {
    }

    static Result measure(int warmup, int minReps, double minSeconds, Runnable op) {
        return measure(new Plan(warmup, minReps, minSeconds, 1000), op);
    }

    static Result measure(Plan plan, Runnable op) {
        for (int i = 0; i < plan.warmup(); i++) {
            op.run();
        }
        double[] t = new double[Math.max(plan.minReps(), 1) * 4];
        int reps = 0;
        double total = 0;
        while (reps < plan.minReps() || (total < plan.minSeconds() && reps < plan.maxReps())) {
            long t0 = System.nanoTime();
            op.run();
            double dt = (System.nanoTime() - t0) * 1e-9;
            if (reps == t.length) {
                t = Arrays.copyOf(t, t.length * 2);
            }
            t[reps++] = dt;
            total += dt;
        }
        double[] s = Arrays.copyOf(t, reps);
        Arrays.sort(s);
        return new Result(s[0], s[reps / 2], s[reps - 1], reps, plan.warmup());
    }
}
