package dev.nola.kernels;

/**
 * The nn family: the ops of a transformer block (GPT-2's pre-LN causal block, a ViT's non-causal
 * one, and the LLaMA family's RMSNorm, RoPE, SwiGLU and grouped-query attention), each a forward and
 * a backward, in the manner of llm.c. Shapes use N = B·T rows (tokens), C channels, V vocabulary
 * entries, NH query heads and KVH key/value heads of hs channels each; everything row-major, and
 * every tensor may be a view.
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
     * @param wte [V, C], float32 or bfloat16 (a frozen table; its rows are widened exactly), or null
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
     * Multi-head attention, grouped-query when k and v have fewer heads than q, computed with an online
     * softmax (FlashAttention's): head h of q is its columns h·hs .. h·hs + hs − 1 (a view, no copy),
     * and so are the heads of k, v and out; {@code out_h = softmax(q_h·k_gᵀ / √hs)·v_g} per (b, h),
     * causal or not, where query head h uses key/value head {@code g = h / (NH / KVH)} (Hugging Face's
     * {@code repeat_kv}: consecutive query heads share a KV head). NH is lse's second extent,
     * hs = q's width / NH, KVH = k's width / hs; with KVH = NH (k and v the shape of q) this is plain
     * multi-head attention (GPT-2, ViT). q's width need not be any model width: hs is whatever q's
     * width and NH make it. q, k and v are separate tensors (views of one [3, B, T, C] buffer, say),
     * so a low-rank adapter can add into q or v like into any [N, C] output; a fused [C, 3C]
     * projection such as GPT-2's {@code c_attn} writes them with three matmuls over column slices of
     * its weight.
     *
     * <p>Of the probabilities only their row statistic is kept: {@code lse[b, h, i] =
     * log Σ_j exp(q_i·k_jᵀ/√hs)} over the visible keys j (natural log). Nothing of size T × T is
     * stored: the backward pass recomputes the probabilities from q, k and lse.
     *
     * <p>Tolerance: lse within 2·1e-4 of Σ_j p_j·|s_j| + 1 (s the scaled scores), out within 2·1e-4
     * of Σ p·|v| (float32 dot products of hs and T terms, any order).
     *
     * @param q      [B, T, NH·hs]
     * @param k      [B, T, KVH·hs], KVH dividing NH; k and v may be q itself or overlap it
     * @param v      [B, T, KVH·hs], the shape of k
     * @param out    [B, T, NH·hs] (the shape of q), written; must not overlap q, k, v or lse
     * @param lse    [B, NH, T], written (kept for the backward pass); NH divides q's width
     * @param causal GPT-2 and LLaMA (true) or ViT (false)
     */
    void fusedAttentionForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean causal);

    /**
     * Backward of {@link #fusedAttentionForward} from its out and lse, the probabilities recomputed as
     * {@code p = exp(q_i·k_jᵀ/√hs − lse[i])} and the softmax's row term as {@code dout_i·out_i}
     * (FlashAttention-2's backward): {@code dv += pᵀ·dout}, {@code ds = p·(dout·vᵀ − dout_i·out_i)/√hs},
     * {@code dq += ds·k}, {@code dk += dsᵀ·q}. dk and dv gather every query head of their group: each
     * element of dk and dv adds NH / KVH heads' terms. Within 2·1e-4 of the same pass on absolute
     * values, plus the gradients' start.
     *
     * @param dout [B, T, NH·hs], the shape of q
     * @param out  the forward's out
     * @param lse  [B, NH, T], the forward's
     * @param dq   the shape of q, accumulated
     * @param dk   the shape of k, accumulated
     * @param dv   the shape of v, accumulated; no gradient overlaps an input or another gradient
     */
    void fusedAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
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

    // ---------------------------------------------------------------- the LLaMA family

    /**
     * RMS normalisation over the last axis (LLaMA's RMSNorm, in float32 as Hugging Face computes it):
     * {@code out = (x·rstd)·weight} with {@code rstd = 1/√(mean(x²) + eps)}, keeping rstd for the
     * backward pass. The sum of squares is accumulated in the fixed order of each backend's layernorm
     * variance (vector lanes or work-items, then added in an order set by C alone), so results do not
     * depend on thread count. Within 1e-4 of |x·rstd·weight| (out) and of rstd (rstd): a float32 sum
     * of C squares.
     *
     * @param x      [N, C] (any rank; C is the last extent)
     * @param weight [C]
     * @param eps    finite, &gt; 0 (Hugging Face's {@code rms_norm_eps})
     * @param out    x's shape, written; must not overlap x, weight or rstd
     * @param rstd   [N], written
     */
    void rmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd);

    /**
     * Backward of {@link #rmsNormForward} from its rstd:
     * {@code dx += rstd·(dn − norm·mean(dn·norm))} with dn = dout·weight and norm = x·rstd, and
     * {@code dweight += Σ_n dout·norm} (column sums over the rows in fixed chunks added in chunk
     * order, no float atomics: the same bits whatever the thread count). Within 1e-4 of the same
     * terms taken in absolute value, plus the gradients' start.
     *
     * @param dout    x's shape
     * @param x       [N, C] (any rank; C is the last extent)
     * @param weight  [C]
     * @param rstd    [N], from the forward pass
     * @param dx      x's shape, accumulated
     * @param dweight [C] accumulated, or null (a frozen weight); no gradient overlaps an input or the other gradient
     */
    void rmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight);

    /**
     * Rotary position embedding in Hugging Face's rotate_half layout, from a precomputed table: row
     * (b, t) of x is position p = pos0 + t, and each head of d = headDim channels (heads side by side,
     * W = H·d) is rotated in the pairs (i, i + d/2), i &lt; d/2:
     * <pre>
     * out[i]       = x[i]·cos[p, i] − x[i + d/2]·sin[p, i]
     * out[i + d/2] = x[i + d/2]·cos[p, i] + x[i]·sin[p, i]
     * </pre>
     * Each product is rounded to float32, then one rounded subtraction or addition (no fma): the
     * reference, cpu and opencl give the same bits. A backend that fuses one product into the other
     * by fma stays within 2⁻²³ of |x[i]·cos| + |x[i + d/2]·sin|, the contract's tolerance. The
     * table is what HF's rotary embedding makes, cos and sin of pos·inv_freq_i, one half of its
     * repeated halves; rope scaling (llama3) is the table's business.
     *
     * @param x       [B, T, W] (q or k of a layer)
     * @param cos     [P, headDim/2], row p the cosines of position p
     * @param sin     [P, headDim/2], the shape of cos
     * @param headDim d, even, &gt; 0, dividing W
     * @param pos0    the position of t = 0 (0 without a KV cache), ≥ 0, with pos0 + T ≤ P
     * @param out     x's shape, written; may be x itself (in place) but must not otherwise overlap x,
     *                and must not overlap cos or sin
     */
    void ropeForward(Tensor x, Tensor cos, Tensor sin, int headDim, int pos0, Tensor out);

    /**
     * Backward of {@link #ropeForward}, the transposed rotation, <em>written</em> (the rotation is
     * the only path from x to out):
     * <pre>
     * dx[i]       = dout[i]·cos[p, i] + dout[i + d/2]·sin[p, i]
     * dx[i + d/2] = dout[i + d/2]·cos[p, i] − dout[i]·sin[p, i]
     * </pre>
     * in the float order of the forward pass (each product rounded, then one addition or
     * subtraction; no fma), so bit-identical across reference, cpu and opencl.
     *
     * @param dout [B, T, W]
     * @param dx   dout's shape, written; may be dout itself (in place) but must not otherwise overlap
     *             it, and must not overlap cos or sin
     */
    void ropeBackward(Tensor dout, Tensor cos, Tensor sin, int headDim, int pos0, Tensor dx);

    /**
     * The gated MLP activation of the LLaMA family: {@code out = silu(gate)·up} elementwise, with
     * silu(x) = x·σ(x) = x / (1 + e^(−x)). Within 2e-6 of |silu(gate)·up| (a float32 exp of a few
     * ulp and four roundings).
     *
     * @param gate [N, I] (any shape)
     * @param up   gate's size
     * @param out  gate's size, written; may be gate or up itself (each element is read before it is
     *             written), but must not otherwise overlap either
     */
    void swigluForward(Tensor gate, Tensor up, Tensor out);

    /**
     * Backward of {@link #swigluForward}: {@code dgate += dout·up·silu'(gate)} with
     * silu'(x) = σ(x)·(1 + x·(1 − σ(x))), and {@code dup += dout·silu(gate)}. Within 2e-6 of
     * |dout·up|·(σ + |gate|·σ·(1 − σ)) and |dout·silu(gate)|, plus the gradients' start.
     *
     * @param dgate gate's size, accumulated
     * @param dup   gate's size, accumulated; neither gradient overlaps an input or the other
     */
    void swigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup);
}
