package dev.nola.kernels.tornado;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Rough figures for the report (not a benchmark: the JMH benches in {@code bench/} are the
 * measurement): median wall time of basis generation, mix, fused mix, coefficient gradient and
 * sgemm per device, after warm-up (which includes TornadoVM's JIT compilation). Run with TornadoVM's JVM flags:
 * {@code java @$TORNADOVM_HOME/tornado-argfile -cp <test classpath> dev.nola.kernels.tornado.TornadoTiming cpu tornado:0:0};
 * sizes from {@code -Dnola.timing.k} (default 64), {@code -Dnola.timing.n} (65536), {@code -Dnola.timing.m} (256).
 */
public final class TornadoTiming {

    private TornadoTiming() {
    }

    public static void main(String[] args) {
        String[] devices = args.length > 0 ? args : new String[] {"cpu", "tornado:0:0"};
        int k = Integer.getInteger("nola.timing.k", 64);
        int n = Integer.getInteger("nola.timing.n", 1 << 16);
        int m = Integer.getInteger("nola.timing.m", 256);
        System.out.printf("%-14s %14s %14s %14s %14s %14s%n", "device", "basis k x n", "mix k x n", "fused mix", "gradient", "sgemm m^3");
        for (String id : devices) {
            try (Device d = Backends.open(id)) {
                SplittableRandom r = new SplittableRandom(1);
                float[] cv = new float[k];
                for (int i = 0; i < k; i++) {
                    cv[i] = (float) r.nextDouble();
                }
                float[] mv = new float[m * m];
                for (int i = 0; i < mv.length; i++) {
                    mv[i] = (float) r.nextDouble();
                }
                BasisStream s = new BasisStream(7L, 3, 0, 0.125f);
                Tensor c = d.upload(cv, k);
                Tensor basis = d.allocate(k, n);
                Tensor out = d.allocate(n);
                Tensor a = d.upload(mv, m, m);
                Tensor b = d.upload(mv, m, m);
                Tensor cm = d.allocate(m, m);
                Tensor cg = d.allocate(k);
                double tb = time(() -> d.random().basis(s, 0, k, basis), d);
                double tm = time(() -> d.nola().mix(c, basis, null, out), d);
                double tf = time(() -> d.nola().mixGenerated(c, s, null, out), d);
                double tr = time(() -> d.nola().coefficientGradient(basis, out, cg), d);
                double tg = time(() -> d.linalg().matmul(false, false, 1f, a, b, 0f, cm), d);
                double gflops = 2.0 * m * m * m / (tg * 1e6);
                System.out.printf("%-14s %11.2f ms %11.2f ms %11.2f ms %11.2f ms %8.2f ms (%.1f GFLOP/s)%n", id, tb, tm, tf, tr, tg,
                        gflops);
            } catch (RuntimeException e) {
                System.out.printf("%-14s unavailable: %s%n", id, e.getMessage());
            }
        }
    }

    private static double time(Runnable op, Device d) {
        for (int i = 0; i < 3; i++) {
            op.run();
        }
        d.synchronize();
        double[] t = new double[9];
        for (int i = 0; i < t.length; i++) {
            long t0 = System.nanoTime();
            op.run();
            d.synchronize();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(t);
        return t[t.length / 2];
    }
}
