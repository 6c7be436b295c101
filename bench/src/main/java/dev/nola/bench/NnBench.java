package dev.nola.bench;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The nn family at GPT-2 124M shapes (B = 4, T = 128, C = 768, NH = 12, V = 50,257), each op timed to
 * {@code synchronize()} on every device given, beside the Java triad measured in the same run:
 * memory-bound ops as GB/s and as a fraction of the triad, attention and cross-entropy in ms (the
 * PyTorch peer, {@code bench/peers/torch_nn_ops.py}, times the same ops with the same shapes).
 * <pre>
 *   java … dev.nola.bench.NnBench cpu opencl:0:0
 * </pre>
 * Prints one JSON object per line.
 */
public final class NnBench {

    private NnBench() {
    }

    public static void main(String[] args) {
        int b = 4;
        int t = 128;
        int c = 768;
        int nh = 12;
        int v = 50257;
        int n = b * t;
        Timing.Result triad = Triad.measure(1 << 24, 10);
        double triadGbs = Triad.bytes(1 << 24) / triad.best() / 1e9;
        System.out.printf(Locale.ROOT, "{\"op\": \"triad\", \"gbs\": %.2f}%n", triadGbs);
        for (String id : args.length == 0 ? new String[] {"cpu"} : args) {
            try (Device d = Backends.open(id)) {
                NnOps nn = d.nn();
                Tensor x = Fixtures.upload(d, 1, 1, n, c);
                Tensor w = Fixtures.upload(d, 2, 1, c);
                Tensor bias = Fixtures.upload(d, 3, 1, c);
                Tensor out = d.allocate(n, c);
                Tensor mean = d.allocate(n);
                Tensor rstd = d.allocate(n);
                Tensor dx = d.allocate(n, c);
                Tensor h = Fixtures.upload(d, 4, 1, n, 4 * c);
                Tensor ho = d.allocate(n, 4 * c);
                Tensor hd = d.allocate(n, 4 * c);
                Tensor qkv = Fixtures.upload(d, 5, 1, 3, b, t, c);
                long btc = (long) n * c;
                Tensor q = qkv.view(0, b, t, c);
                Tensor k = qkv.view(btc, b, t, c);
                Tensor vv = qkv.view(2 * btc, b, t, c);
                Tensor att = d.allocate(b, nh, t, t);
                Tensor datt = d.allocate(b, nh, t, t);
                Tensor ao = d.allocate(b, t, c);
                Tensor dqkv = d.allocate(3, b, t, c);
                Tensor dout = Fixtures.upload(d, 6, 1, b, t, c);
                Tensor logits = Fixtures.upload(d, 7, 3, n, v);
                Tensor dlogits = d.allocate(n, v);
                int[] tg = new int[n];
                for (int i = 0; i < n; i++) {
                    tg[i] = (i * 7919) % v;
                }
                Tensor targets = d.upload(tg, n);
                Tensor losses = d.allocate(n);
                List<String> lines = new ArrayList<>();
                // bytes moved: reads + writes of the op's tensors (what a memory-bound kernel must move)
                row(lines, d, id, "layernorm_forward", 8.0 * n * c, () -> nn.layerNormForward(x, w, bias, 1e-5f, out, mean, rstd), triadGbs);
                row(lines, d, id, "layernorm_backward", 12.0 * n * c, () -> nn.layerNormBackward(out, x, w, mean, rstd, dx, null, null), triadGbs);
                row(lines, d, id, "gelu_forward", 8.0 * n * 4 * c, () -> nn.geluForward(NnOps.Gelu.TANH, h, ho), triadGbs);
                row(lines, d, id, "gelu_backward", 16.0 * n * 4 * c, () -> nn.geluBackward(NnOps.Gelu.TANH, h, ho, hd), triadGbs);
                row(lines, d, id, "softmax_forward", 8.0 * b * nh * t * t, () -> nn.softmaxForward(att, datt, 1f, true), triadGbs);
                row(lines, d, id, "attention_forward", 0, () -> nn.attentionForward(q, k, vv, att, ao, true), triadGbs);
                row(lines, d, id, "attention_forward_backward", 0, () -> {
                    nn.attentionForward(q, k, vv, att, ao, true);
                    nn.attentionBackward(dout, q, k, vv, att, datt, dqkv.view(0, b, t, c), dqkv.view(btc, b, t, c),
                            dqkv.view(2 * btc, b, t, c), true);
                }, triadGbs);
                row(lines, d, id, "cross_entropy_forward", 4.0 * n * v, () -> nn.crossEntropyForward(logits, targets, losses, 0f, -1), triadGbs);
                row(lines, d, id, "cross_entropy_backward", 8.0 * n * v, () -> nn.crossEntropyBackward(logits, targets, dlogits, 0f, -1, 1f / n), triadGbs);
                row(lines, d, id, "cross_entropy_forward_backward", 12.0 * n * v, () -> {
                    nn.crossEntropyForward(logits, targets, losses, 0f, -1);
                    nn.crossEntropyBackward(logits, targets, dlogits, 0f, -1, 1f / n);
                }, triadGbs);
                lines.forEach(System.out::println);
            }
        }
    }

    private static void row(List<String> lines, Device d, String id, String op, double bytes, Runnable body, double triad) {
        Timing.Result r = Timing.measure(3, 10, 0.5, () -> {
            body.run();
            d.synchronize();
        });
        String bw = bytes > 0 ? String.format(Locale.ROOT, ", \"gbs\": %.2f, \"of_triad\": %.2f", bytes / r.best() / 1e9,
                bytes / r.best() / 1e9 / triad) : "";
        lines.add(String.format(Locale.ROOT, "{\"device\": \"%s\", \"op\": \"%s\", \"best_ms\": %.3f, \"median_ms\": %.3f%s}",
                id, op, r.best() * 1e3, r.median() * 1e3, bw));
    }
}
