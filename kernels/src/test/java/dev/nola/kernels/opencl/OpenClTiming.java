package dev.nola.kernels.opencl;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A rough timing driver, not a benchmark (JMH benches in {@code bench/} are the measure of speed):
 * per device, the median over repetitions of each op's kernel time (enqueue then
 * {@code synchronize()}) and, separately, of the transfers of its inputs and outputs (blocking
 * {@code write}/{@code read}).
 *
 * <p>Usage: {@code java -cp <test classpath> dev.nola.kernels.opencl.OpenClTiming [device ...]},
 * default {@code cpu opencl:0:0}.
 */
public final class OpenClTiming {

    private static final int REPS = 15;

    private OpenClTiming() {
    }

    private interface Body {
        void run(Device d);
    }

    public static void main(String[] args) {
        String[] devices = args.length > 0 ? args : new String[] {"cpu", "opencl:0:0"};
        SplittableRandom r = new SplittableRandom(1);
        int k = 64;
        int n = 768 * 768;
        int m = 512;
        float[] c = random(r, k);
        float[] basis = random(r, k * n);
        float[] grad = random(r, n);
        float[] a = random(r, m * m);
        BasisStream s = new BasisStream(7, 1, 0, 0.125f);
        System.out.printf(Locale.ROOT, "%-12s %-34s %12s %12s %10s%n", "device", "op", "kernel ms", "transfer ms", "MB moved");
        for (String id : devices) {
            try (Device d = Backends.open(id)) {
                Tensor ct = d.upload(c, k);
                Tensor bt = d.upload(basis, k, n);
                Tensor gt = d.upload(grad, n);
                Tensor out = d.allocate(n);
                Tensor kt = d.allocate(k);
                Tensor at = d.upload(a, m, m);
                Tensor bt2 = d.upload(a, m, m);
                Tensor mt = d.allocate(m, m);
                String shape = "k=" + k + " n=" + n;
                row(d, "basis " + shape, dv -> dv.random().basis(s, 0, k, bt), bt, null, null);
                d.write(bt, basis);
                row(d, "mix " + shape, dv -> dv.nola().mix(ct, bt, null, out), out, new Tensor[] {ct, bt}, new float[][] {c, basis});
                row(d, "mixGenerated " + shape, dv -> dv.nola().mixGenerated(ct, s, null, out), out, new Tensor[] {ct}, new float[][] {c});
                row(d, "coefficientGradient " + shape, dv -> dv.nola().coefficientGradient(bt, gt, kt), kt,
                        new Tensor[] {bt, gt}, new float[][] {basis, grad});
                row(d, "coefficientGradientGenerated " + shape, dv -> dv.nola().coefficientGradientGenerated(s, gt, kt), kt,
                        new Tensor[] {gt}, new float[][] {grad});
                row(d, "matmul " + m + "^3", dv -> dv.linalg().matmul(false, true, 1f, at, bt2, 0f, mt), mt,
                        new Tensor[] {at, bt2}, new float[][] {a, a});
                if (d.linalg() instanceof OpenClLinalgOps cl) {
                    for (OpenClLinalgOps.MatmulVariant v : new OpenClLinalgOps.MatmulVariant[] {
                            OpenClLinalgOps.MatmulVariant.TILED, OpenClLinalgOps.MatmulVariant.BLOCKED,
                            OpenClLinalgOps.MatmulVariant.PANEL, OpenClLinalgOps.MatmulVariant.DOTS}) {
                        cl.matmulVariant = v;
                        row(d, "matmul " + m + "^3 " + v, dv -> dv.linalg().matmul(false, true, 1f, at, bt2, 0f, mt), mt,
                                new Tensor[] {at, bt2}, new float[][] {a, a});
                    }
                    cl.matmulVariant = OpenClLinalgOps.MatmulVariant.AUTO;
                }
            }
        }
    }

    /** Times an op: kernel = enqueue + synchronize; transfer = writing its inputs + reading its output. */
    private static void row(Device d, String op, Body body, Tensor out, Tensor[] in, float[][] inData) {
        body.run(d); // builds the program and warms up
        d.synchronize();
        double[] kernel = new double[REPS];
        double[] transfer = new double[REPS];
        float[] result = new float[(int) out.size()];
        long bytes = out.size() * 4L;
        if (in != null) {
            for (Tensor t : in) {
                bytes += t.size() * 4L;
            }
        }
        for (int i = 0; i < REPS; i++) {
            long t0 = System.nanoTime();
            body.run(d);
            d.synchronize();
            long t1 = System.nanoTime();
            if (in != null) {
                for (int j = 0; j < in.length; j++) {
                    d.write(in[j], inData[j]);
                }
            }
            d.read(out, 0, result, 0, result.length);
            long t2 = System.nanoTime();
            kernel[i] = (t1 - t0) / 1e6;
            transfer[i] = (t2 - t1) / 1e6;
        }
        System.out.printf(Locale.ROOT, "%-12s %-34s %12.3f %12.3f %10.1f%n", d.id(), op, median(kernel), median(transfer), bytes / 1e6);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }
}
