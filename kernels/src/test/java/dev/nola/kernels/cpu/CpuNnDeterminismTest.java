package dev.nola.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.NnOps.Gelu;
import dev.nola.kernels.NnOps.Pool;
import dev.nola.kernels.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The cpu nn family, the LLaMA family's ops included (and the nola and adapter reductions), gives the
 * same bits whatever the thread count and whatever the JIT has compiled:
 * a fingerprint of every op's outputs computed here must equal the one computed by a child JVM with a
 * common pool of another size (7 threads, or 1 where this one has 7) and, at small sizes, by an
 * interpreted child ({@code -Xint}: the Vector API's Java fallback instead of C2's instructions).
 */
class CpuNnDeterminismTest {

    /** GPT-2-like widths with several parallel tasks in every op, and small sizes for the interpreter. */
    private static final int[] LARGE = {2, 32, 768, 12, 5000};
    private static final int[] SMALL = {2, 9, 48, 4, 301};

    @Test
    void sameBitsWithAnyPoolSize() throws Exception {
        String here = fingerprint(LARGE).strip();
        int other = ForkJoinPool.getCommonPoolParallelism() == 7 ? 1 : 7;
        assertEquals(here, child(LARGE, "-Djava.util.concurrent.ForkJoinPool.common.parallelism=" + other), "pool of " + other);
    }

    @Test
    void sameBitsInterpreted() throws Exception {
        assertEquals(fingerprint(SMALL).strip(), child(SMALL, "-Xint"), "interpreted");
    }

    private static String child(int[] sizes, String flag) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", flag, "-cp",
                System.getProperty("java.class.path"), Fingerprint.class.getName()));
        for (int s : sizes) {
            cmd.add(Integer.toString(s));
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child " + flag + " finished");
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** Prints {@link #fingerprint} for the sizes B T C NH V given as arguments. */
    static final class Fingerprint {
        public static void main(String[] args) {
            System.out.println(fingerprint(Arrays.stream(args).mapToInt(Integer::parseInt).toArray()));
        }
    }

    /** Every op (forward and backward) on seeded inputs, one hash per op, as text. */
    static String fingerprint(int[] sizes) {
        int b = sizes[0];
        int t = sizes[1];
        int c = sizes[2];
        int nh = sizes[3];
        int v = sizes[4];
        int n = b * t;
        StringBuilder sb = new StringBuilder();
        try (Device d = Backends.open("cpu")) {
            SplittableRandom r = new SplittableRandom(7);
            NnOps nn = d.nn();
            Tensor x = random(d, r, 2, n, c);
            Tensor w = random(d, r, 1, c);
            Tensor bias = random(d, r, 1, c);
            Tensor out = d.allocate(n, c);
            Tensor mean = d.allocate(n);
            Tensor rstd = d.allocate(n);
            nn.layerNormForward(x, w, bias, 1e-5f, out, mean, rstd);
            hash(sb, d, "layerNormForward", out, mean, rstd);
            Tensor dout = random(d, r, 1, n, c);
            Tensor dx = random(d, r, 1, n, c);
            Tensor dw = random(d, r, 1, c);
            Tensor db = random(d, r, 1, c);
            nn.layerNormBackward(dout, x, w, mean, rstd, dx, dw, db);
            hash(sb, d, "layerNormBackward", dx, dw, db);
            Tensor h = random(d, r, 6, n, 4 * c);
            Tensor ho = d.allocate(n, 4 * c);
            Tensor hd = random(d, r, 1, n, 4 * c);
            Tensor hdx = random(d, r, 1, n, 4 * c);
            for (Gelu kind : Gelu.values()) {
                nn.geluForward(kind, h, ho);
                nn.geluBackward(kind, h, hd, hdx);
                hash(sb, d, "gelu " + kind, ho, hdx);
            }
            Tensor q = random(d, r, 1, n, 3 * c);
            Tensor dq = random(d, r, 1, 3 * c);
            nn.biasBackward(q, dq);
            hash(sb, d, "biasBackward", dq);
            // q, k, v as the three views of one planar [3, B, T, C] buffer, as the models hold them
            // (the attention itself is hashed after the LLaMA family's ops below)
            Tensor qkv = random(d, r, 1, 3, b, t, c);
            Tensor ao = d.allocate(b, t, c);
            Tensor dqkv = random(d, r, 1, 3, b, t, c);
            long btc = (long) b * t * c;
            Tensor logits = random(d, r, 5, n, v);
            Tensor losses = d.allocate(n);
            int[] tg = new int[n];
            for (int i = 0; i < n; i++) {
                tg[i] = i % 5 == 0 ? -1 : r.nextInt(v);
            }
            Tensor targets = d.upload(tg, n);
            nn.crossEntropyForward(logits, targets, losses, 0.1f, -1);
            nn.crossEntropyBackward(logits, targets, logits, 0.1f, -1, 1f / n);
            hash(sb, d, "crossEntropy", losses, logits);
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = r.nextInt(50);
            }
            Tensor dwte = random(d, r, 1, 50, c);
            Tensor dwpe = random(d, r, 1, t, c);
            nn.encoderBackward(d.upload(ids, n), dout, dwte, dwpe, t);
            hash(sb, d, "encoderBackward", dwte, dwpe);
            Tensor pooled = random(d, r, 1, b, c);
            nn.poolForward(Pool.MEAN, x.reshape(b, t, c), pooled);
            nn.poolBackward(Pool.MEAN, pooled, dx.reshape(b, t, c));
            hash(sb, d, "pool", pooled, dx);
            // the LLaMA family: RMSNorm, SwiGLU, RoPE, grouped-query attention (NH / 2 KV heads)
            Tensor rstdR = d.allocate(n);
            nn.rmsNormForward(x, w, 1e-6f, out, rstdR);
            nn.rmsNormBackward(dout, x, w, rstdR, dx, dw);
            hash(sb, d, "rmsNorm", out, rstdR, dx, dw);
            Tensor hup = random(d, r, 1, n, 4 * c);
            nn.swigluForward(h, hup, ho);
            Tensor hdup = random(d, r, 1, n, 4 * c);
            nn.swigluBackward(h, hup, hd, hdx, hdup);
            hash(sb, d, "swiglu", ho, hdx, hdup);
            int hs = c / nh;
            Tensor cos = random(d, r, 1, t + 3, hs / 2);
            Tensor sin = random(d, r, 1, t + 3, hs / 2);
            nn.ropeForward(x.reshape(b, t, c), cos, sin, hs, 3, out.reshape(b, t, c));
            nn.ropeBackward(dout.reshape(b, t, c), cos, sin, hs, 2, dout.reshape(b, t, c));
            hash(sb, d, "rope", out, dout);
            int ck = c / 2;
            Tensor kv = random(d, r, 1, 2, b, t, ck);
            Tensor dkv = random(d, r, 1, 2, b, t, ck);
            long btk = (long) b * t * ck;
            // the fused attention (lse kept), plain and grouped, causal and not
            Tensor lse = d.allocate(b, nh, t);
            nn.fusedAttentionForward(qkv.view(0, b, t, c), qkv.view(btc, b, t, c), qkv.view(2 * btc, b, t, c), ao, lse, true);
            nn.fusedAttentionBackward(dout.reshape(b, t, c), qkv.view(0, b, t, c), qkv.view(btc, b, t, c),
                    qkv.view(2 * btc, b, t, c), ao, lse, dqkv.view(0, b, t, c), dqkv.view(btc, b, t, c),
                    dqkv.view(2 * btc, b, t, c), true);
            hash(sb, d, "fusedAttention", lse, ao, dqkv);
            nn.fusedAttentionForward(qkv.view(0, b, t, c), kv.view(0, b, t, ck), kv.view(btk, b, t, ck), ao, lse, false);
            nn.fusedAttentionBackward(dout.reshape(b, t, c), qkv.view(0, b, t, c), kv.view(0, b, t, ck), kv.view(btk, b, t, ck),
                    ao, lse, dqkv.view(0, b, t, c), dkv.view(0, b, t, ck), dkv.view(btk, b, t, ck), false);
            hash(sb, d, "fusedGroupedAttention", lse, ao, dqkv, dkv);
            nn.fusedAttentionForward(qkv.view(0, b, t, c), kv.view(0, b, t, ck), kv.view(btk, b, t, ck), ao, lse, true);
            nn.fusedAttentionBackward(dout.reshape(b, t, c), qkv.view(0, b, t, c), kv.view(0, b, t, ck), kv.view(btk, b, t, ck),
                    ao, lse, dqkv.view(0, b, t, c), dkv.view(0, b, t, ck), dkv.view(btk, b, t, ck), true);
            hash(sb, d, "fusedGroupedCausalAttention", lse, ao, dqkv, dkv);
            // the nola and adapter families' reductions: coefficient gradients (materialised and fused)
            // and the adapter's row kernels, which a resumed training run depends on too
            // (331 elements: long enough for the vector loops even at the interpreter's small sizes)
            int k = Math.max(4, c / 8);
            int len = Math.max(331, n);
            Tensor grad = random(d, r, 1, len);
            Tensor cg = d.allocate(k);
            d.nola().coefficientGradient(random(d, r, 1, k, len), grad, cg);
            Tensor cgg = d.allocate(k);
            d.nola().coefficientGradientGenerated(new BasisStream(5L, 3, BasisStream.DOMAIN_BASIS, 0.1f), grad, cgg);
            hash(sb, d, "coefficientGradient", cg, cgg);
            int rank = 4;
            Tensor fa = random(d, r, 1, rank, c);
            Tensor fb = random(d, r, 1, c, rank);
            Tensor lowRank = d.allocate(n, rank);
            Tensor y = random(d, r, 1, n, c);
            d.adapter().forward(x, fa, fb, 2f, lowRank, y);
            Tensor dLowRank = d.allocate(n, rank);
            Tensor dxa = random(d, r, 1, n, c);
            Tensor da = d.allocate(rank, c);
            Tensor dfb = d.allocate(c, rank);
            d.adapter().backward(x, fa, fb, 2f, lowRank, dout, dLowRank, dxa, da, dfb);
            hash(sb, d, "adapter", lowRank, y, dLowRank, dxa, da, dfb);
        }
        return sb.toString();
    }

    private static Tensor random(Device d, SplittableRandom r, double range, int... shape) {
        float[] a = new float[Arrays.stream(shape).reduce(1, (p, q) -> p * q)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (range * (2 * r.nextDouble() - 1));
        }
        return d.upload(a, shape);
    }

    private static void hash(StringBuilder sb, Device d, String op, Tensor... ts) {
        long k = 0;
        for (Tensor t : ts) {
            k = 31 * k + Arrays.hashCode(d.read(t));
        }
        sb.append(op).append(' ').append(Long.toHexString(k)).append('\n');
    }
}
