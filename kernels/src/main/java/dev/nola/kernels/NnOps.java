package dev.nola.kernels;

/**
 * The nn family: the ops of a transformer block (GPT-2's pre-LN causal block and a ViT's non-causal
 * one), each a forward and a backward, in the manner of llm.c. Shapes use N = B·T rows (tokens),
 * C channels, V vocabulary entries, NH heads of hs = C / NH channels; everything row-major, and every
 * tensor may be a view.
 *
 * <p>Gradients: unless an op says otherwise, a backward op <em>adds</em> into its gradient outputs
 * ({@code dx += …}, {@code dweight += …}), so gradients from several paths sum without extra
 * buffers; callers zero them once per step. A parameter gradient given as null is not computed
 * (a frozen weight). Reductions run in a fixed order on each backend, so results do not depend on
 * thread timing. Results agree with the reference within the tolerances of the contract suite.
 */
public interface NnOps {

    /** The two forms of GELU. */
    enum Gelu {
        /** {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}: GPT-2's {@code gelu_new}. */
        TANH,
        /** {@code 0.5·x·(1 + erf(x/√2))}: the exact form ViTs use. */
        ERF
    }

    /** How a classification head pools the tokens of each sequence. */
    enum Pool {
        /** The mean over the T tokens. */
        MEAN,
        /** Token 0 (a class token). */
        FIRST
    }

    /**
     * Token and position embedding: {@code out[b·T + t, :] = wte[ids[b·T + t], :] + wpe[t, :]}.
     *
     * @param ids int32 [N] with N = B·T, each in [0, V) (checked before the kernel runs)
     * @param wte [V, C]
     * @param wpe [P, C] with P ≥ T, or null for no position term
     * @param out [N, C], written
     * @param t   T, the sequence length, &gt; 0, dividing N
     */
    void encoderForward(Tensor ids, Tensor wte, Tensor wpe, Tensor out, int t);

    /**
     * Backward of {@link #encoderForward}: {@code dwte[ids[n], :] += dout[n, :]},
     * {@code dwpe[n mod T, :] += dout[n, :]}; tokens are added in ascending n.
     *
     * @param dwte [V, C] accumulated, or null
     * @param dwpe [P, C] accumulated, or null
     */
    void encoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int t);

    /**
     * Layer normalisation over the last axis: {@code out = (x − mean)·rstd·weight + bias} with
     * {@code rstd = 1/√(var + eps)} (biased variance), keeping mean and rstd for the backward pass.
     *
     * @param x      [N, C]
     * @param weight [C]
     * @param bias   [C]
     * @param eps    finite, &gt; 0
     * @param out    [N, C], written, must not overlap x
     * @param mean   [N], written
     * @param rstd   [N], written
     */
    void layerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd);

    /**
     * Backward of {@link #layerNormForward}.
     *
     * @param dout    [N, C]
     * @param dx      [N, C] accumulated
     * @param dweight [C] accumulated, or null
     * @param dbias   [C] accumulated, or null
     */
    void layerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                           Tensor dx, Tensor dweight, Tensor dbias);

    /** {@code out = gelu(x)} elementwise; out has x's size and may be x itself. */
    void geluForward(Gelu kind, Tensor x, Tensor out);

    /** {@code dx += gelu'(x)·dout} elementwise; dx must not overlap x or dout. */
    void geluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx);

    /** {@code x[n, :] += bias} for every row: x [N, C] updated, bias [C]. */
    void biasForward(Tensor x, Tensor bias);

    /** {@code dbias += Σ_n dout[n, :]} (column sums): dout [N, C], dbias [C] accumulated. */
    void biasBackward(Tensor dout, Tensor dbias);

    /**
     * {@code out = a + b} elementwise (a residual connection); out may be a or b itself. Its backward is
     * the identity on both inputs ({@link LinalgOps#axpy}).
     */
    void residualForward(Tensor a, Tensor b, Tensor out);

    /**
     * Softmax over the last axis of x seen as [R, L], numerically stable:
     * {@code out[r, j] = exp(s·x[r, j] − m) / Σ_i exp(s·x[r, i] − m)}. With {@code causal}, row r
     * is query position {@code r mod L} of a [.., L, L] score matrix: columns j &gt; r mod L get
     * out = 0 and take no part in the sum.
     *
     * @param x      [R, L] (any rank; L = the last extent)
     * @param out    the shape of x; may be x itself
     * @param scale  s, finite
     * @param causal whether to mask the future
     */
    void softmaxForward(Tensor x, Tensor out, float scale, boolean causal);

    /**
     * Backward of {@link #softmaxForward} from its output y:
     * {@code dx[r, j] = s·y[r, j]·(dy[r, j] − Σ_i y[r, i]·dy[r, i])}. <em>Written</em>, not
     * accumulated; dx may be dy itself (in place).
     */
    void softmaxBackward(Tensor y, Tensor dy, Tensor dx, float scale);

    /**
     * Multi-head attention: head h of q, k and v is their columns h·hs .. h·hs + hs − 1 (a view, no
     * copy); {@code att = softmax(q·kᵀ / √hs)} per (b, h), causal or not, and {@code out = att·v} with
     * the heads side by side. q, k and v are separate tensors (views of one [3, B, T, C] buffer, say),
     * so a low-rank adapter can add into q or v like into any [N, C] output; a fused [C, 3C] projection
     * such as GPT-2's {@code c_attn} writes them with three matmuls over column slices of its weight.
     *
     * @param q      [B, T, C]
     * @param k      [B, T, C]
     * @param v      [B, T, C]
     * @param att    [B, NH, T, T], written (kept for the backward pass); NH divides C
     * @param out    [B, T, C], written
     * @param causal GPT-2 (true) or ViT (false)
     */
    void attentionForward(Tensor q, Tensor k, Tensor v, Tensor att, Tensor out, boolean causal);

    /**
     * Backward of {@link #attentionForward}.
     *
     * @param dout [B, T, C]
     * @param att  [B, NH, T, T] from the forward
     * @param datt [B, NH, T, T], scratch (overwritten)
     * @param dq   [B, T, C] accumulated
     * @param dk   [B, T, C] accumulated
     * @param dv   [B, T, C] accumulated
     */
    void attentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor att, Tensor datt,
                           Tensor dq, Tensor dk, Tensor dv, boolean causal);

    /**
     * Cross-entropy of softmax(logits) against targets, per row, with label smoothing ε:
     * {@code loss[n] = lse − (1−ε)·x[t] − ε·mean_j x[j]} with lse = log Σ_j exp(x[j]), i.e. the
     * cross-entropy against (1−ε)·onehot(t) + ε/V. Rows whose target is {@code ignoreIndex} get 0.
     *
     * @param logits         [N, V]
     * @param targets        int32 [N], each in [0, V) or equal to ignoreIndex (checked)
     * @param losses         [N], written
     * @param labelSmoothing ε in [0, 1)
     * @param ignoreIndex    the target value of rows that do not count (e.g. -1 for masked prompt tokens)
     */
    void crossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing, int ignoreIndex);

    /**
     * Backward of {@link #crossEntropyForward} fused with the softmax:
     * {@code dlogits[n, j] = g·(p[n, j] − (1−ε)·[j = t_n] − ε/V)} for counted rows, 0 for ignored ones,
     * where g = dL/dloss[n] is the same for every row (1 / counted rows for a mean). <em>Written</em>;
     * dlogits may be logits itself, which saves an [N, V] buffer.
     *
     * @param lossGradient g, finite
     */
    void crossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing, int ignoreIndex,
                              float lossGradient);

    /**
     * Pools each sequence for a classification head: {@code out[b, :]} = the mean of x[b, :, :] over T
     * ({@link Pool#MEAN}) or x[b, 0, :] ({@link Pool#FIRST}).
     *
     * @param x   [B, T, C]
     * @param out [B, C], written
     */
    void poolForward(Pool kind, Tensor x, Tensor out);

    /** Backward of {@link #poolForward}: dx [B, T, C] accumulated from dout [B, C]. */
    void poolBackward(Pool kind, Tensor dout, Tensor dx);
}
