package dev.nola.kernels.tornado;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
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
        if (Boolean.getBoolean("nola.timing.nn")) {
            nn(devices);
            return;
        }
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

    /**
     * Median ms of the fused attention (forward; forward and backward) at B = 4, T = 128, C = 768,
     * NH = 12 causal, layernorm forward at 512 × 768 and cross-entropy forward and backward at 64 ×
     * 50,257, each op {@link Device#capture captured} (a replayed segment on tornado: its operands stay
     * on the device, so the figure is the kernels' and the launch's, not the copies').
     */
    private static void nn(String[] devices) {
        int b = 4;
        int t = 128;
        int c = 768;
        int n = 512;
        int rows = 64;
        int v = 50257;
        System.out.printf("%-14s %14s %14s %14s %14s %14s%n", "device", "fused fwd", "fused fwd+bwd", "layernorm fwd", "xent fwd",
                "xent bwd");
        for (String id : devices) {
            try (Device d = open(id)) {
                SplittableRandom r = new SplittableRandom(2);
                Tensor q = d.upload(random(r, b * t * c), b, t, c);
                Tensor k = d.upload(random(r, b * t * c), b, t, c);
                Tensor val = d.upload(random(r, b * t * c), b, t, c);
                Tensor out = d.allocate(b, t, c);
                Tensor lse = d.allocate(b, 12, t);
                Tensor dq = d.allocate(b, t, c);
                Tensor dk = d.allocate(b, t, c);
                Tensor dv = d.allocate(b, t, c);
                Tensor x = d.upload(random(r, n * c), n, c);
                Tensor w = d.upload(random(r, c), c);
                Tensor y = d.allocate(n, c);
                Tensor mean = d.allocate(n);
                Tensor rstd = d.allocate(n);
                Tensor logits = d.upload(random(r, rows * v), rows, v);
                int[] tv = new int[rows];
                for (int i = 0; i < rows; i++) {
                    tv[i] = r.nextInt(v);
                }
                Tensor targets = d.upload(tv, rows);
                Tensor losses = d.allocate(rows);
                Tensor dlogits = d.allocate(rows, v);
                double tf = time(() -> d.capture(() -> d.nn().fusedAttentionForward(q, k, val, out, lse, true)), d);
                double tb = time(() -> d.capture(() -> {
                    d.nn().fusedAttentionForward(q, k, val, out, lse, true);
                    d.nn().fusedAttentionBackward(q, q, k, val, out, lse, dq, dk, dv, true);
                }), d);
                double tl = time(() -> d.capture(() -> d.nn().layerNormForward(x, w, w, 1e-5f, y, mean, rstd)), d);
                double tx = time(() -> d.capture(() -> d.nn().crossEntropyForward(logits, targets, losses, 0f, -1)), d);
                double tg = time(() -> d.capture(() -> d.nn().crossEntropyBackward(logits, targets, dlogits, 0f, -1, 1f / rows)), d);
                System.out.printf("%-14s %11.2f ms %11.2f ms %11.2f ms %11.2f ms %11.2f ms%n", id, tf, tb, tl, tx, tg);
            } catch (RuntimeException e) {
                System.out.printf("%-14s unavailable: %s%n", id, e.getMessage());
            }
        }
    }

    /** {@code id}, or with {@code tornado:0:0/elements} tornado:0:0 in the GPU layout (as TornadoContractTest's second run). */
    private static Device open(String id) {
        if (!id.equals("tornado:0:0/elements")) {
            return Backends.open(id);
        }
        DeviceInfo d = Backends.find("tornado").orElseThrow().devices().get(0);
        DeviceInfo info = new DeviceInfo(id, d.name(), d.vendor(), d.type(), d.version(), d.computeUnits(), d.globalMemBytes(),
                d.localMemBytes(), d.maxWorkGroupSize(), d.maxAllocBytes());
        var td = TornadoRuntimeAccess.device(0, 0);
        return new TornadoVmDevice(info, td, new TornadoPlans(td, td.getMaxGlobalMemory() / 2, false));
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
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
