package dev.nola.cli.demo;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.LoraAdapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.StreamId;
import dev.nola.adapter.optim.AdamW;
import dev.nola.adapter.optim.LearningRateSchedule;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * A toy fine-tuning task on a frozen random linear layer, to show NOLA at work in seconds: the layer
 * {@code W [out, in]} is frozen, the targets are {@code t = x·(W + ΔW*)ᵀ + noise}, and an adapter is
 * trained with AdamW on the mean squared error over a fixed set of tokens. The same task is run with
 * NOLA (k + l coefficients), LoRA r = 1 and LoRA r = 4.
 *
 * <p>The planted change ΔW* has rank {@code plantedRank} and is <em>realizable by NOLA</em>: it is a NOLA
 * update of the same seed and bases with random coefficients (rescaled to a chosen size). It models
 * the premise of the method — the needed update has few intrinsic degrees of freedom — not a random
 * rank-r matrix: a random ΔW* of rank 1 has in + out − 1 degrees of freedom, more than NOLA's k + l
 * here, and NOLA could not fit it. With ΔW* of rank {@code plantedRank} &gt; 1, LoRA r = 1 cannot fit
 * it while NOLA, with fewer numbers than LoRA r = 1, and LoRA r = 4 reach the noise floor.
 *
 * <p>Deterministic for fixed settings on a given backend (losses agree across backends within float
 * rounding of the summation order).
 */
public final class PlantedLowRankTask {

    /**
     * @param in          layer input width
     * @param out         layer output width
     * @param tokens      training tokens (rows of x)
     * @param nolaRank    r of the NOLA adapter and of the planted change
     * @param k           NOLA basis count of A
     * @param l           NOLA basis count of B
     * @param deltaRms    root mean square of the planted ΔW* entries
     * @param noise       standard deviation of the target noise
     * @param steps       training steps (full batch)
     * @param nolaLr      peak learning rate for NOLA coefficients
     * @param loraLr      peak learning rate for LoRA factors
     * @param seed        seed of everything (data, W, bases, planted coefficients)
     * @param change      what kind of planted change: one NOLA can express, or a generic low-rank one
     */
    public record Settings(int in, int out, int tokens, int nolaRank, int k, int l, double deltaRms, double noise,
                           int steps, double nolaLr, double loraLr, long seed, Change change) {
        public Settings {
            Checks.notNull("change", change);
            Checks.positive("in", in);
            Checks.positive("out", out);
            Checks.positive("tokens", tokens);
            Checks.positive("nolaRank", nolaRank);
            Checks.positive("k", k);
            Checks.positive("l", l);
            Checks.positive("steps", steps);
            if (!(deltaRms > 0) || !(noise >= 0) || !(nolaLr > 0) || !(loraLr > 0)) {
                throw new IllegalArgumentException("deltaRms, nolaLr, loraLr must be > 0 and noise >= 0, got deltaRms="
                        + deltaRms + " noise=" + noise + " nolaLr=" + nolaLr + " loraLr=" + loraLr);
            }
        }
    }

    /**
     * One method's run.
     *
     * @param method     "NOLA", "LoRA r=1", "LoRA r=4"
     * @param parameters trainable numbers
     * @param losses     mean squared error before each step, then after the last (steps + 1 values)
     */
    public record Run(String method, int parameters, float[] losses) {
        /** The loss after the last step. */
        public float finalLoss() {
            return losses[losses.length - 1];
        }
    }

    /**
     * The three runs and the loss floor.
     *
     * @param noiseFloor the mean squared noise actually drawn (what a perfect fit of ΔW* would leave)
     */
    public record Result(Settings settings, double noiseFloor, Run nola, Run loraR1, Run loraR4) {
        /** A few lines for a console. */
        public String summary() {
            return String.format((settings.change() == Change.GENERIC ? "generic" : "NOLA-expressible") + " planted rank-%d change on a frozen %dx%d layer, %d tokens, %d steps; noise floor %.5f%n"
                            + "  NOLA k+l=%-5d final loss %.5f%n  LoRA r=1 %5d params final loss %.5f%n"
                            + "  LoRA r=4 %5d params final loss %.5f%n",
                    settings.nolaRank(), settings.out(), settings.in(), settings.tokens(), settings.steps(), noiseFloor,
                    nola.parameters(), nola.finalLoss(), loraR1.parameters(), loraR1.finalLoss(),
                    loraR4.parameters(), loraR4.finalLoss());
        }
    }

    /** The kind of planted change. */
    public enum Change {
        /** A NOLA update of the adapter's own seed and bases: the method's premise, few degrees of freedom. */
        NOLA_SPAN,
        /**
         * A generic rank-{@code nolaRank} matrix U·Vᵀ with Gaussian factors: (in + out)·rank degrees of
         * freedom, more than NOLA's k + l, so NOLA is expected to fall short here. Shown for honesty.
         */
        GENERIC
    }

    /** The same settings with another kind of planted change. */
    public static Settings withChange(Settings s, Change change) {
        return new Settings(s.in(), s.out(), s.tokens(), s.nolaRank(), s.k(), s.l(), s.deltaRms(), s.noise(), s.steps(),
                s.nolaLr(), s.loraLr(), s.seed(), change);
    }

    private PlantedLowRankTask() {
    }

    /** The settings of the quick start and of the test: 64×64 layer, k = l = 48 (96 &lt; 128 of LoRA r = 1). */
    public static Settings defaults() {
        return new Settings(64, 64, 1024, 4, 48, 48, 0.05, 0.1, 400, 0.1, 0.01, 20240501L, Change.NOLA_SPAN);
    }

    /** Runs the three methods on a device. */
    public static Result run(Device device, Settings s) {
        NolaConfig config = NolaConfig.offset(s.nolaRank(), s.k(), s.l(), s.nolaRank(), s.seed(), List.of("layer"))
                .withBasisMode(NolaConfig.BasisMode.MATERIALIZED);
        SplittableRandom rnd = new SplittableRandom(s.seed());
        float[] x = gaussian(rnd, s.tokens() * s.in(), 1.0);
        float[] w = gaussian(rnd, s.out() * s.in(), 1.0 / Math.sqrt(s.in()));
        float[] delta = plantedDelta(device, config, s, rnd);
        float[] noise = gaussian(rnd, s.tokens() * s.out(), s.noise());
        double floor = 0;
        for (float v : noise) {
            floor += (double) v * v;
        }
        floor /= noise.length;
        try (Tensor xt = device.upload(x, s.tokens(), s.in());
             Tensor wt = device.upload(w, s.out(), s.in());
             Tensor base = device.allocate(s.tokens(), s.out());
             Tensor target = device.allocate(s.tokens(), s.out())) {
            device.linalg().matmul(false, true, 1f, xt, wt, 0f, base);
            for (int i = 0; i < w.length; i++) {
                w[i] += delta[i];
            }
            device.write(wt, w);
            device.linalg().matmul(false, true, 1f, xt, wt, 0f, target);
            float[] t = device.read(target);
            for (int i = 0; i < t.length; i++) {
                t[i] += noise[i];
            }
            int stream = StreamId.of(0, true, 0, StreamId.FACTOR_A).packed();
            Run nola = train("NOLA", device, xt, base, t, s, s.nolaLr(),
                    d -> NolaAdapter.create(d, config, s.in(), s.out(), 0, "layer"));
            Run r1 = train("LoRA r=1", device, xt, base, t, s, s.loraLr(),
                    d -> new LoraAdapter(d, s.in(), s.out(), 1, 1f, s.seed(), stream));
            Run r4 = train("LoRA r=4", device, xt, base, t, s, s.loraLr(),
                    d -> new LoraAdapter(d, s.in(), s.out(), 4, 4f, s.seed(), stream));
            return new Result(s, floor, nola, r1, r4);
        }
    }

    /**
     * NOLA_SPAN: ΔW* = s·B*·A* of a NOLA adapter of the same seed with random coefficients; GENERIC:
     * ΔW* = U·Vᵀ with Gaussian U [out, rank], V [in, rank]; either rescaled to deltaRms.
     */
    private static float[] plantedDelta(Device device, NolaConfig config, Settings s, SplittableRandom rnd) {
        if (s.change() == Change.GENERIC) {
            int rank = s.nolaRank();
            float[] u = gaussian(rnd, s.out() * rank, 1.0);
            float[] v = gaussian(rnd, s.in() * rank, 1.0);
            float[] d = new float[s.out() * s.in()];
            for (int o = 0; o < s.out(); o++) {
                for (int i = 0; i < s.in(); i++) {
                    double acc = 0;
                    for (int q = 0; q < rank; q++) {
                        acc += (double) u[o * rank + q] * v[i * rank + q];
                    }
                    d[o * s.in() + i] = (float) acc;
                }
            }
            return rescale(d, s.deltaRms());
        }
        try (NolaAdapter planted = NolaAdapter.create(device, config, s.in(), s.out(), 0, "layer")) {
            planted.setCoefficients(gaussian(rnd, s.k(), 1.0), gaussian(rnd, s.l(), 1.0));
            float[] d;
            try (Tensor dt = planted.deltaWeight()) {
                d = device.read(dt);
            }
            return rescale(d, s.deltaRms());
        }
    }

    private static float[] rescale(float[] d, double rms) {
        double sq = 0;
        for (float v : d) {
            sq += (double) v * v;
        }
        double f = rms / Math.sqrt(sq / d.length);
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (d[i] * f);
        }
        return d;
    }

    private static Run train(String method, Device device, Tensor x, Tensor base, float[] target, Settings s,
                             double lr, Function<Device, Adapter> make) {
        float[] losses = new float[s.steps() + 1];
        LearningRateSchedule schedule = LearningRateSchedule.cosine(lr, lr * 0.01, s.steps() / 20, s.steps());
        try (Adapter a = make.apply(device);
             Tensor y = device.allocate(s.tokens(), s.out());
             Tensor dy = device.allocate(s.tokens(), s.out());
             AdamW opt = new AdamW(a.parameterSet(), 0.9, 0.999, 1e-8, 0.0)) {
            float[] g = new float[target.length];
            for (int step = 0; step <= s.steps(); step++) {
                device.copy(base, y);
                a.forward(x, y);
                float[] out = device.read(y);
                double loss = 0;
                for (int i = 0; i < out.length; i++) {
                    double e = (double) out[i] - target[i];
                    loss += e * e;
                    g[i] = (float) (2 * e / out.length);
                }
                losses[step] = (float) (loss / out.length);
                if (step == s.steps()) {
                    break;
                }
                device.write(dy, g);
                a.zeroGradients();
                a.backward(dy, null);
                opt.step(schedule.at(step));
            }
            return new Run(method, a.parameterCount(), losses);
        }
    }

    private static float[] gaussian(SplittableRandom rnd, int n, double sd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i += 2) {
            double u1 = 1.0 - rnd.nextDouble();
            double u2 = rnd.nextDouble();
            double m = Math.sqrt(-2 * Math.log(u1)) * sd;
            v[i] = (float) (m * Math.cos(2 * Math.PI * u2));
            if (i + 1 < n) {
                v[i + 1] = (float) (m * Math.sin(2 * Math.PI * u2));
            }
        }
        return v;
    }

    /** Runs the defaults on the {@code cpu} device (or the device string given) and prints the summary. */
    public static void main(String[] args) {
        try (Device d = dev.nola.kernels.Backends.open(args.length > 0 ? args[0] : "cpu")) {
            long t0 = System.nanoTime();
            Result r = run(d, defaults());
            System.out.print(r.summary());
            System.out.printf("  (%.1f s)%n", (System.nanoTime() - t0) / 1e9);
        }
    }
}
