package dev.nola.kernels.opencl;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.NnOps.Gelu;
import dev.nola.kernels.Tensor;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A rough timing driver for the nn family, not a benchmark: the median kernel time (enqueue, then
 * {@code synchronize()}) of each op at GPT-2 124M shapes (B = 4, T = 128, C = 768, NH = 12,
 * V = 50,257), in each OpenCL layout, with the bytes each op must move and the GB/s that makes.
 *
 * <p>Usage: {@code java -cp <test classpath> dev.nola.kernels.opencl.OpenClNnTiming [device]},
 * default {@code opencl:0:0}.
 */
public final class OpenClNnTiming {

    private static final int REPS = 9;
    private static final int B = 4;
    private static final int T = 128;
    private static final int C = 768;
    private static final int NH = 12;
    private static final int V = 50_257;
    private static final int N = B * T;

    private OpenClNnTiming() {
    }

    private interface Body {
        void run(NnOps nn);
    }

    public static void main(String[] args) {
        String id = args.length > 0 ? args[0] : "opencl:0:0";
        SplittableRandom r = new SplittableRandom(3);
        System.out.printf(Locale.ROOT, "%-10s %-40s %10s %10s %8s%n", "layout", "op (GPT-2 124M, B=4 T=128)", "ms", "MB", "GB/s");
        for (String layout : new String[] {"-DCHUNKED", ""}) {
            try (Device d = Backends.open(id)) {
                if (d instanceof OpenClDevice cl) {
                    cl.layoutOptions = layout;
                }
                String name = layout.isEmpty() ? "gpu" : "cpu";
                int[] ids = new int[N];
                for (int i = 0; i < N; i++) {
                    ids[i] = r.nextInt(V);
                }
                Tensor idt = d.upload(ids, N);
                Tensor targets = d.upload(ids, N);
                Tensor wte = d.upload(random(r, V * C), V, C);
                Tensor wpe = d.upload(random(r, 1024 * C), 1024, C);
                Tensor x = d.upload(random(r, N * C), N, C);
                Tensor g = d.upload(random(r, N * C), N, C);
                Tensor out = d.allocate(N, C);
                Tensor w = d.upload(random(r, C), C);
                Tensor bias = d.upload(random(r, C), C);
                Tensor dw = d.allocate(C);
                Tensor db = d.allocate(C);
                Tensor mean = d.allocate(N);
                Tensor rstd = d.allocate(N);
                Tensor h = d.upload(random(r, N * 4 * C), N, 4 * C);
                Tensor gh = d.upload(random(r, N * 4 * C), N, 4 * C);
                Tensor dh = d.allocate(N, 4 * C);
                Tensor qkv = d.upload(random(r, N * 3 * C), 3, B, T, C);
                Tensor dqkv = d.allocate(3, B, T, C);
                long btc = (long) N * C;
                Tensor q = qkv.view(0, B, T, C);
                Tensor k = qkv.view(btc, B, T, C);
                Tensor v = qkv.view(2 * btc, B, T, C);
                Tensor att = d.allocate(B, NH, T, T);
                Tensor datt = d.allocate(B, NH, T, T);
                Tensor ao = d.allocate(B, T, C);
                Tensor lse = d.allocate(B, NH, T);
                Tensor logits = d.upload(random(r, N * V), N, V);
                Tensor dlogits = d.allocate(N, V);
                Tensor losses = d.allocate(N);
                long nc = 4L * N * C;
                long tt = 4L * B * NH * T * T;
                row(d, name, "encoderForward", nn -> nn.encoderForward(idt, wte, wpe, out, T), 3 * nc);
                row(d, name, "encoderBackward (dwte, dwpe)", nn -> nn.encoderBackward(idt, g, wte, wpe, T), 5 * nc);
                row(d, name, "layerNormForward", nn -> nn.layerNormForward(x, w, bias, 1e-5f, out, mean, rstd), 2 * nc);
                row(d, name, "layerNormBackward (dx, dw, db)", nn -> nn.layerNormBackward(g, x, w, mean, rstd, out, dw, db),
                        5 * nc);
                row(d, name, "geluForward TANH [N, 4C]", nn -> nn.geluForward(Gelu.TANH, h, dh), 8 * nc);
                row(d, name, "geluForward ERF [N, 4C]", nn -> nn.geluForward(Gelu.ERF, h, dh), 8 * nc);
                row(d, name, "geluBackward TANH [N, 4C]", nn -> nn.geluBackward(Gelu.TANH, h, gh, dh), 16 * nc);
                row(d, name, "geluBackward ERF [N, 4C]", nn -> nn.geluBackward(Gelu.ERF, h, gh, dh), 16 * nc);
                row(d, name, "biasForward [N, 4C]", nn -> nn.biasForward(dh, h.view(0, 4 * C)), 8 * nc);
                row(d, name, "biasBackward [N, 4C]", nn -> nn.biasBackward(gh, dh.view(0, 4 * C)), 4 * nc);
                row(d, name, "residualForward", nn -> nn.residualForward(x, g, out), 3 * nc);
                row(d, name, "softmaxForward causal [B,NH,T,T]", nn -> nn.softmaxForward(att, att, 0.125f, true), 2 * tt);
                row(d, name, "softmaxBackward [B,NH,T,T]", nn -> nn.softmaxBackward(att, datt, datt, 0.125f), 3 * tt);
                long rows = 4L * B * NH * T;
                // q, k, v read, out and lse written; backward: dout, q, k, v, out, lse read, dq, dk, dv read and written
                row(d, name, "fusedAttentionForward causal", nn -> nn.fusedAttentionForward(q, k, v, ao, lse, true),
                        4 * nc + rows);
                row(d, name, "fusedAttentionBackward causal", nn -> nn.fusedAttentionBackward(g.reshape(B, T, C), q, k, v, ao, lse,
                        dqkv.view(0, B, T, C), dqkv.view(btc, B, T, C), dqkv.view(2 * btc, B, T, C), true), 11 * nc + rows);
                long nv = 4L * N * V;
                row(d, name, "crossEntropyForward V=50257", nn -> nn.crossEntropyForward(logits, targets, losses, 0.1f, -1), nv);
                row(d, name, "crossEntropyBackward V=50257", nn -> nn.crossEntropyBackward(logits, targets, dlogits, 0.1f, -1,
                        1f / N), 2 * nv);
                row(d, name, "crossEntropyBackward in place", nn -> nn.crossEntropyBackward(dlogits, targets, dlogits, 0.1f,
                        -1, 1f / N), 2 * nv);
            }
        }
    }

    private static void row(Device d, String layout, String op, Body body, long bytes) {
        body.run(d.nn()); // builds the program and warms up
        d.synchronize();
        double[] ms = new double[REPS];
        for (int i = 0; i < REPS; i++) {
            long t0 = System.nanoTime();
            body.run(d.nn());
            d.synchronize();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        double med = ms[REPS / 2];
        System.out.printf(Locale.ROOT, "%-10s %-40s %10.3f %10.1f %8.1f%n", layout, op, med, bytes / 1e6, bytes / 1e6 / med);
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }
}
