package dev.nola.bench;

import java.util.Arrays;

/**
 * Simple careful timing for the report driver: warm-up calls, then repetitions until both a
 * minimum count and a minimum total time are reached; best and median wall time in seconds.
 * (The JMH classes are the rigorous benchmarks; this is for one-run tables.)
 */
final class Timing {

    /** Best and median of the repetitions, in seconds. */
    record Result(double best, double median, int reps) {
    }

    private Timing() {
    }

    static Result measure(int warmup, int minReps, double minSeconds, Runnable op) {
        for (int i = 0; i < warmup; i++) {
            op.run();
        }
        double[] t = new double[Math.max(minReps, 1) * 4];
        int reps = 0;
        double total = 0;
        while (reps < minReps || (total < minSeconds && reps < 1000)) {
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
        return new Result(s[0], s[reps / 2], reps);
    }
}
