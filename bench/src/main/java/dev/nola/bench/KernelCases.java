package dev.nola.bench;

import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Every op family at GPT-2 124M shapes (B = 4, T = 128, N = B·T = 512 tokens, C = 768, 12 heads,
 * V = 50,257; NOLA r = 8 and k = 1000 bases of r·C = 6144 elements), and the matmuls of the
 * SmolLM2-135M-shaped LLaMA step as well (C = 576, 3 KV heads of 64, SwiGLU 1536, V = 49,152), as
 * {@link Case}s. The PyTorch peer ({@code bench/peers/torch_suite.py}) times its counterparts under
 * the same group, op and shape.
 */
final class KernelCases {

    static final int B = 4;
    static final int T = 128;
    static final int N = B * T;
    static final int C = 768;
    static final int NH = 12;
    static final int HS = C / NH;
    static final int V = 50257;
    static final int R = 8;
    static final int K = 1000;
    static final int BASIS = R * C;
    /** The LLaMA step's width, K/V width (3 KV heads of 64), SwiGLU width and vocabulary. */
    static final int LLAMA_C = 576;
    static final int LLAMA_KV = 3 * 64;
    static final int LLAMA_I = 1536;
    static final int LLAMA_V = 49152;
    /**
     * Rows of one block of the LLaMA step's fused LM head: N split evenly into blocks of at most 32 MiB of
     * logits ({@code LmHead.BLOCK_BYTES}), 171 at 512 × 49,152.
     */
    static final int LLAMA_HEAD_ROWS = headRows(N, LLAMA_V, 32L << 20);
    /** Elements of the optimizer's and the streaming ops' vectors. */
    static final int OPTIM_N = 1 << 22;
    static final int AXPY_N = 1 << 24;
    /** Rows the reference computes of a matmul or a loss (a prefix of the device's rows). */
    static final int CHECK_ROWS = 8;

    private KernelCases() {
    }

    /** The cases of the named groups, in a fixed order. */
    static List<Case> of(List<String> groups) {
        List<Case> all = new ArrayList<>();
        if (groups.contains("random")) {
            random(all);
        }
        if (groups.contains("nola")) {
            nola(all);
        }
        if (groups.contains("linalg")) {
            linalg(all);
        }
        if (groups.contains("adapter")) {
            adapter(all);
        }
        if (groups.contains("nn")) {
            nn(all);
        }
        if (groups.contains("optim")) {
            optim(all);
        }
        return all;
    }

    /** Rows of one head block for n rows at vocabulary v under a byte budget, as {@code LmHead.rowsFor} splits them. */
    static int headRows(int n, int v, long budget) {
        long bytes = (long) n * v * Float.BYTES;
        int blocks = (int) Math.max(1, (bytes + budget - 1) / budget);
        return (n + blocks - 1) / blocks;
    }

    private static BasisStream stream(int k) {
        return new BasisStream(0x5eedL, 3, BasisStream.DOMAIN_BASIS, (float) (1 / Math.sqrt(k)));
    }

    private static String kn(int k, int n) {
        return "k=" + k + " n=" + n;
    }

    static void random(List<Case> out) {
        out.add(new Case("random", "basis", kn(K, BASIS), 0, 4.0 * K * BASIS, (a, check) -> {
            Tensor basis = a.zeros(K, BASIS);
            return new Case.Prepared(() -> a.device().random().basis(stream(K), 0, K, basis), List.of(basis));
        }));
    }

    static void nola(List<Case> out) {
        double kn = (double) K * BASIS;
        out.add(new Case("nola", "mix", kn(K, BASIS), 2 * kn, 4 * kn, (a, check) -> {
            Tensor c = a.random(1, 1, K);
            Tensor basis = a.zeros(K, BASIS);
            a.device().random().basis(stream(K), 0, K, basis);
            Tensor y = a.zeros(BASIS);
            return new Case.Prepared(() -> a.device().nola().mix(c, basis, null, y), List.of(y));
        }));
        out.add(new Case("nola", "mix_generated", kn(K, BASIS), 2 * kn, 4.0 * BASIS, (a, check) -> {
            Tensor c = a.random(1, 1, K);
            Tensor y = a.zeros(BASIS);
            return new Case.Prepared(() -> a.device().nola().mixGenerated(c, stream(K), null, y), List.of(y));
        }));
        out.add(new Case("nola", "coefficient_gradient", kn(K, BASIS), 2 * kn, 4 * kn, (a, check) -> {
            Tensor g = a.random(2, 1, BASIS);
            Tensor basis = a.zeros(K, BASIS);
            a.device().random().basis(stream(K), 0, K, basis);
            Tensor dc = a.zeros(K);
            return new Case.Prepared(() -> a.device().nola().coefficientGradient(basis, g, dc), List.of(dc));
        }));
        out.add(new Case("nola", "coefficient_gradient_generated", kn(K, BASIS), 2 * kn, 4.0 * BASIS, (a, check) -> {
            Tensor g = a.random(2, 1, BASIS);
            Tensor dc = a.zeros(K);
            return new Case.Prepared(() -> a.device().nola().coefficientGradientGenerated(stream(K), g, dc), List.of(dc));
        }));
    }

    /** {@code C[m, n] = A[m, k]·B[k, n]} (or ·Bᵀ with B [n, k]); the reference computes the first rows. */
    private static Case matmul(String op, int m, int k, int n, boolean transB) {
        return matmul(op, m, k, n, false, transB, 0f);
    }

    /**
     * {@code C[m, n] = op(A)·op(B) + beta·C} as a model's layer calls it: A stored [m, k] (or [k, m]
     * when {@code transA}), B stored [k, n] (or [n, k] when {@code transB}). The check version computes
     * the first rows of C only, reading a transposed A with its full leading dimension, so its rows
     * are a prefix of the device's.
     */
    private static Case matmul(String op, int m, int k, int n, boolean transA, boolean transB, float beta) {
        double bytes = 4.0 * ((double) m * k + (double) k * n + (beta == 0f ? 1 : 2) * (double) m * n);
        return new Case("linalg", op, m + "x" + k + "x" + n, 2.0 * m * k * n, bytes, (a, check) -> {
            int rows = check ? CHECK_ROWS : m;
            Tensor x = transA ? a.random(1, 1, k, m) : a.random(1, 1, rows, k);
            Tensor w = transB ? a.random(2, 0.05, n, k) : a.random(2, 0.05, k, n);
            Tensor y = beta == 0f ? a.zeros(rows, n) : a.random(3, 1, rows, n);
            return new Case.Prepared(() -> a.device().linalg().matmulBatched(transA, transB, 1, rows, n, k, 1f,
                    x, transA ? m : k, 0, w, transB ? k : n, 0, beta, y, n, 0), List.of(y));
        });
    }

    /**
     * Every matmul of a GPT-2 124M training step at 4 × 128 tokens (Conv1D weights stored [in, out]):
     * the forward products ({@code matmul}, x·W), the input gradients ({@code matmul_dx}, dy·Wᵀ added
     * into dx), the weight gradients ({@code matmul_dw}, xᵀ·dy added into dW; only when the base
     * weights train), and the LM head, whole ({@code matmul_bt}) and as the step runs it, in blocks of
     * 128 rows: logits = x·wteᵀ and the hidden state's gradient dlogits·wte ({@code matmul}).
     */
    static void linalg(List<Case> out) {
        int[][] layers = {{C, 3 * C}, {C, C}, {C, 4 * C}, {4 * C, C}};
        for (int[] io : layers) {
            out.add(matmul("matmul", N, io[0], io[1], false));
        }
        for (int[] io : layers) {
            out.add(matmul("matmul_dx", N, io[1], io[0], false, true, 1f));
        }
        for (int[] io : layers) {
            out.add(matmul("matmul_dw", io[0], N, io[1], true, false, 1f));
        }
        out.add(matmul("matmul_bt", N, C, V, true));
        out.add(matmul("matmul_bt", T, C, V, true));
        out.add(matmul("matmul", T, V, C, false));
        llamaMatmuls(out);
        int batch = B * NH;
        // attention scores of every head: Q·Kᵀ, [48, 128, 64]·[48, 128, 64]ᵀ
        out.add(new Case("linalg", "matmul_batched", batch + "x" + T + "x" + HS + "x" + T, 2.0 * batch * T * T * HS,
                4.0 * batch * (2.0 * T * HS + (double) T * T), (a, check) -> {
                    int nb = check ? 1 : batch;
                    Tensor q = a.random(1, 1, nb, T, HS);
                    Tensor k = a.random(2, 1, nb, T, HS);
                    Tensor s = a.zeros(nb, T, T);
                    return new Case.Prepared(() -> a.device().linalg().matmulBatched(false, true, nb, T, T, HS, 1f, q, HS,
                            (long) T * HS, k, HS, (long) T * HS, 0f, s, T, (long) T * T), List.of(s));
                }));
        out.add(new Case("linalg", "axpy", "n=" + AXPY_N, 2.0 * AXPY_N, 12.0 * AXPY_N, (a, check) -> {
            Tensor x = a.random(1, 1, AXPY_N);
            Tensor y = a.random(2, 1, AXPY_N);
            // y grows by 0.5·x per call; the comparison is of the first call's result
            return new Case.Prepared(() -> a.device().linalg().axpy(0.5f, x, y), List.of(y));
        }));
    }

    /**
     * Every matmul of the SmolLM2-135M-shaped LLaMA step at 4 × 128 tokens (nn.Linear weights stored
     * [out, in]): the forward products x·Wᵀ ({@code matmul_bt}: q and o 576 → 576, k and v 576 → 192,
     * gate and up 576 → 1536, down 1536 → 576), the input gradients dy·W added into dx
     * ({@code matmul_dx}; m × out × in), and the tied LM head — whole and as the step runs it, in blocks
     * of {@link #LLAMA_HEAD_ROWS} rows: logits = x·embᵀ ({@code matmul_bt}) and the hidden state's
     * gradient dlogits·emb ({@code matmul}).
     */
    static void llamaMatmuls(List<Case> out) {
        int[][] layers = {{LLAMA_C, LLAMA_C}, {LLAMA_C, LLAMA_KV}, {LLAMA_C, LLAMA_I}, {LLAMA_I, LLAMA_C}};
        for (int[] io : layers) {
            out.add(matmul("matmul_bt", N, io[0], io[1], true));
        }
        for (int[] io : layers) {
            out.add(matmul("matmul_dx", N, io[1], io[0], false, false, 1f));
        }
        out.add(matmul("matmul_bt", N, LLAMA_C, LLAMA_V, true));
        out.add(matmul("matmul_bt", LLAMA_HEAD_ROWS, LLAMA_C, LLAMA_V, true));
        out.add(matmul("matmul", LLAMA_HEAD_ROWS, LLAMA_V, LLAMA_C, false));
    }

    static void adapter(List<Case> out) {
        String shape = "N=" + N + " in=" + C + " out=" + C + " r=" + R;
        double fwdFlops = 2.0 * N * C * R * 2;
        out.add(new Case("adapter", "forward", shape, fwdFlops, 4.0 * (N * C * 3.0), (a, check) -> {
            Tensor x = a.random(1, 1, N, C);
            Tensor fa = a.random(2, 0.05, R, C);
            Tensor fb = a.random(3, 0.05, C, R);
            Tensor h = a.zeros(N, R);
            Tensor y = a.random(4, 1, N, C);
            return new Case.Prepared(() -> a.device().adapter().forward(x, fa, fb, 2f, h, y), List.of(h, y));
        }));
        out.add(new Case("adapter", "backward", shape, 2 * fwdFlops, 4.0 * (N * C * 3.0), (a, check) -> {
            Tensor x = a.random(1, 1, N, C);
            Tensor fa = a.random(2, 0.05, R, C);
            Tensor fb = a.random(3, 0.05, C, R);
            Tensor h = a.random(5, 1, N, R);
            Tensor dy = a.random(6, 1, N, C);
            Tensor dh = a.zeros(N, R);
            Tensor dx = a.zeros(N, C);
            Tensor da = a.zeros(R, C);
            Tensor db = a.zeros(C, R);
            return new Case.Prepared(() -> a.device().adapter().backward(x, fa, fb, 2f, h, dy, dh, dx, da, db),
                    List.of(dh, dx, da, db));
        }));
    }

    static void nn(List<Case> out) {
        String nc = N + "x" + C;
        out.add(new Case("nn", "layernorm_forward", nc, 8.0 * N * C, 8.0 * N * C, (a, check) -> {
            Tensor x = a.random(1, 1, N, C);
            Tensor w = a.random(2, 1, C);
            Tensor bias = a.random(3, 1, C);
            Tensor y = a.zeros(N, C);
            Tensor mean = a.zeros(N);
            Tensor rstd = a.zeros(N);
            return new Case.Prepared(() -> a.device().nn().layerNormForward(x, w, bias, 1e-5f, y, mean, rstd),
                    List.of(y, mean, rstd));
        }));
        out.add(new Case("nn", "layernorm_backward", nc, 10.0 * N * C, 12.0 * N * C, (a, check) -> {
            Tensor x = a.random(1, 1, N, C);
            Tensor w = a.random(2, 1, C);
            Tensor bias = a.random(3, 1, C);
            Tensor dy = a.random(4, 1, N, C);
            Tensor mean = a.zeros(N);
            Tensor rstd = a.zeros(N);
            Tensor dx = a.zeros(N, C);
            Tensor y = a.zeros(N, C);
            a.device().nn().layerNormForward(x, w, bias, 1e-5f, y, mean, rstd);
            return new Case.Prepared(() -> a.device().nn().layerNormBackward(dy, x, w, mean, rstd, dx, null, null),
                    List.of(dx));
        }));
        String h4 = N + "x" + 4 * C;
        double h = (double) N * 4 * C;
        out.add(new Case("nn", "gelu_forward", h4, 12 * h, 8 * h, (a, check) -> {
            Tensor x = a.random(1, 3, N, 4 * C);
            Tensor y = a.zeros(N, 4 * C);
            return new Case.Prepared(() -> a.device().nn().geluForward(NnOps.Gelu.TANH, x, y), List.of(y));
        }));
        out.add(new Case("nn", "gelu_backward", h4, 20 * h, 16 * h, (a, check) -> {
            Tensor x = a.random(1, 3, N, 4 * C);
            Tensor dy = a.random(2, 1, N, 4 * C);
            Tensor dx = a.zeros(N, 4 * C);
            return new Case.Prepared(() -> a.device().nn().geluBackward(NnOps.Gelu.TANH, x, dy, dx), List.of(dx));
        }));
        double att = (double) B * NH * T * T;
        out.add(new Case("nn", "softmax_forward", B + "x" + NH + "x" + T + "x" + T, 5 * att, 8 * att, (a, check) -> {
            Tensor x = a.random(1, 4, B, NH, T, T);
            Tensor y = a.zeros(B, NH, T, T);
            return new Case.Prepared(() -> a.device().nn().softmaxForward(x, y, 1f, true), List.of(y));
        }));
        String attShape = B + "x" + T + "x" + C + " nh=" + NH;
        double attFlops = 4.0 * B * NH * T * T * HS;
        // the attention (fused: lse kept, nothing T × T); beside it torch's scaled_dot_product_attention where that
        // torch has it, else torch's composed attention (matmul, masked softmax, matmul)
        double fusedBytes = 4.0 * 4.0 * N * C;
        out.add(new Case("nn", "fused_attention_forward", attShape, attFlops, fusedBytes, (a, check) -> {
            Tensor[] qkv = qkv(a);
            Tensor lse = a.zeros(B, NH, T);
            Tensor y = a.zeros(B, T, C);
            return new Case.Prepared(() -> a.device().nn().fusedAttentionForward(qkv[0], qkv[1], qkv[2], y, lse, true),
                    List.of(lse, y));
        }));
        out.add(new Case("nn", "fused_attention_forward_backward", attShape, 3.5 * attFlops, 3 * fusedBytes, (a, check) -> {
            Tensor[] qkv = qkv(a);
            Tensor lse = a.zeros(B, NH, T);
            Tensor y = a.zeros(B, T, C);
            Grads g = grads(a);
            return new Case.Prepared(() -> {
                a.device().nn().fusedAttentionForward(qkv[0], qkv[1], qkv[2], y, lse, true);
                a.device().nn().fusedAttentionBackward(g.dy, qkv[0], qkv[1], qkv[2], y, lse, g.dq, g.dk, g.dv, true);
            }, List.of(y, g.dq, g.dk, g.dv));
        }));
        String nv = N + "x" + V;
        double logits = (double) N * V;
        out.add(new Case("nn", "cross_entropy_forward", nv, 4 * logits, 4 * logits, (a, check) -> {
            int rows = check ? CHECK_ROWS : N;
            Tensor x = a.random(1, 3, rows, V);
            Tensor targets = a.ids(V, rows);
            Tensor losses = a.zeros(rows);
            return new Case.Prepared(() -> a.device().nn().crossEntropyForward(x, targets, losses, 0f, -1), List.of(losses));
        }));
        out.add(new Case("nn", "cross_entropy_backward", nv, 5 * logits, 8 * logits, (a, check) -> {
            int rows = check ? CHECK_ROWS : N;
            Tensor x = a.random(1, 3, rows, V);
            Tensor targets = a.ids(V, rows);
            Tensor dx = a.zeros(rows, V);
            return new Case.Prepared(() -> a.device().nn().crossEntropyBackward(x, targets, dx, 0f, -1, 1f / N),
                    List.of(dx));
        }));
        out.add(new Case("nn", "cross_entropy_forward_backward", nv, 9 * logits, 12 * logits, (a, check) -> {
            int rows = check ? CHECK_ROWS : N;
            Tensor x = a.random(1, 3, rows, V);
            Tensor targets = a.ids(V, rows);
            Tensor losses = a.zeros(rows);
            Tensor dx = a.zeros(rows, V);
            return new Case.Prepared(() -> {
                a.device().nn().crossEntropyForward(x, targets, losses, 0f, -1);
                a.device().nn().crossEntropyBackward(x, targets, dx, 0f, -1, 1f / N);
            }, List.of(losses, dx));
        }));
    }

    /** q, k, v as views of one planar [3, B, T, C] buffer, as GPT-2's block holds them. */
    private static Tensor[] qkv(Arena a) {
        Tensor all = a.random(5, 1, 3, B, T, C);
        long btc = (long) N * C;
        return new Tensor[] {all.view(0, B, T, C), all.view(btc, B, T, C), all.view(2 * btc, B, T, C)};
    }

    /** An attention backward's incoming gradient dy (seeded) and its zeroed dq, dk, dv, all [B, T, C]. */
    private record Grads(Tensor dy, Tensor dq, Tensor dk, Tensor dv) {
    }

    private static Grads grads(Arena a) {
        return new Grads(a.random(7, 1, B, T, C), a.zeros(B, T, C), a.zeros(B, T, C), a.zeros(B, T, C));
    }

    static void optim(List<Case> out) {
        String n = "n=" + OPTIM_N;
        out.add(new Case("optim", "adamw", n, 14.0 * OPTIM_N, 28.0 * OPTIM_N, (a, check) -> {
            Tensor p = a.random(1, 1, OPTIM_N);
            Tensor g = a.random(2, 1, OPTIM_N);
            Tensor m = a.zeros(OPTIM_N);
            Tensor v = a.zeros(OPTIM_N);
            AdamWStep step = AdamWStep.of(1e-3, 0.9, 0.999, 1e-8, 0.01, 1);
            return new Case.Prepared(() -> a.device().optim().adamw(p, g, m, v, step, null), List.of(p, m, v));
        }));
        out.add(new Case("optim", "sum_of_squares", n, 2.0 * OPTIM_N, 4.0 * OPTIM_N, (a, check) -> {
            Tensor g = a.random(2, 1, OPTIM_N);
            Tensor sum = a.zeros(1);
            // accumulates; fill first so every call computes the same sum
            return new Case.Prepared(() -> {
                a.device().linalg().fill(sum, 0f);
                a.device().optim().sumOfSquares(g, sum);
            }, List.of(sum));
        }));
    }
}
