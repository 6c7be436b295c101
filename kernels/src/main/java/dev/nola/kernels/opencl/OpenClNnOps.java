package dev.nola.kernels.opencl;

import static dev.nola.kernels.opencl.ClLaunch.ELEMENTWISE_GROUP;
import static dev.nola.kernels.opencl.ClLaunch.args;
import static dev.nola.kernels.opencl.ClLaunch.groupSize;
import static dev.nola.kernels.opencl.ClLaunch.roundUp;

import dev.nola.kernels.AbstractNnOps;
import dev.nola.kernels.DType;
import dev.nola.kernels.Tensor;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;

/**
 * The nn family as OpenCL kernels ({@code nn.cl}) in the device's layout
 * ({@link OpenClDevice#layoutOptions}). On GPUs: one element per work-item for the element-wise ops
 * (neighbouring work-items on neighbouring addresses) and a work-group per row, with tree reductions
 * in local memory, for layernorm, softmax and cross-entropy. On CPU devices ({@code -DCHUNKED}): a
 * work-item per row, per contiguous chunk or per 8-column block, 8 wide.
 *
 * <p>Deterministic in both layouts: column sums (bias, layernorm and RMSNorm parameter gradients) are
 * per-chunk partials in the workspace added in chunk order, with chunks that depend only on the row
 * count; the encoder backward adds the rows of repeated ids in token order; no float atomics. RMSNorm
 * has layernorm's geometry, RoPE a pair per work-item (GPU) or a row (CPU) in the reference's float
 * order, SwiGLU the element-wise geometry. The attention that keeps its probabilities, grouped-query
 * heads included, is {@link AbstractNnOps}'s composition of batched sgemm and this class's softmax. The
 * fused attention is tiled: on CPUs K and V are packed (Kᵀ, Vᵀ, padded rows) and a work-item takes 4
 * query rows (forward, dq) or 16 keys (dk, dv) in float16 registers; on GPUs a work-group takes 64 rows
 * and stages the other side's rows in local memory, 32 at a time.
 */
final class OpenClNnOps extends AbstractNnOps {

    /** Column sums split the rows into at most this many chunks (partials: chunks × C floats). */
    private static final int COLUMN_CHUNKS = 64;
    /** Row kernels of the GPU layout: work-items per row at most. */
    private static final int ROW_GROUP = 256;
    /** CPU layout: work-items per work-group at most (each already a row or an 8-wide block). */
    private static final int CPU_GROUP = 64;

    /** Keys per block of the CPU-layout kernels (FA_KB in nn.cl): Kᵀ and Vᵀ rows are padded to a multiple. */
    private static final int FA_KB = 16;
    /** Output columns per pass of the CPU-layout kernels (FA_DC in nn.cl): packed K and V rows are padded to it. */
    private static final int FA_DC = 64;
    /** Query rows per work-item of the CPU-layout forward and dq pass (FA_QR in nn.cl). */
    private static final int FA_QR = 4;
    /** GPU layout: rows staged per tile at most (FG_K in nn.cl). */
    private static final int FG_K = 32;
    /** GPU layout: work-items (rows) per work-group of the fused attention. */
    private static final int GPU_ATTENTION_GROUP = 64;
    private static final int PACK_KT = 1;
    private static final int PACK_VT = 2;
    private static final int PACK_K = 4;
    private static final int PACK_V = 8;

    private static final int GELU_TANH = 0;
    private static final int GELU_ERF = 1;
    private static final int POOL_MEAN = 0;
    private static final int POOL_FIRST = 1;

    private final OpenClDevice dev;

    OpenClNnOps(OpenClDevice device) {
        super(device);
        this.dev = device;
    }

    private cl_kernel kernel(String name) {
        return dev.kernel("nn", name, dev.layoutOptions);
    }

    // ---------------------------------------------------------------- launch geometry

    /**
     * CPU layout: {@code items} independent work-items (rows, chunks) in work-groups of a power of two
     * that leaves about four work-groups per compute unit, so PoCL spreads them over the cores.
     */
    private void launchItems(cl_kernel k, long items) {
        long perGroup = Math.max(1, items / (4L * Math.max(1, dev.info().computeUnits())));
        int g = groupSize(dev, k, (int) Math.min(CPU_GROUP, perGroup));
        dev.launch(k, new long[] {roundUp(items, g)}, new long[] {g});
    }

    /** Work-items of a GPU row work-group: a power of two ≥ cols (up to ROW_GROUP), within local memory. */
    private int rowGroup(cl_kernel k, int cols) {
        long localFloats = Math.max(1, dev.info().localMemBytes() / Sizeof.cl_float / 2);
        int want = Integer.highestOneBit(Math.max(1, cols - 1)) << 1;
        return groupSize(dev, k, (int) Math.min(Math.min(ROW_GROUP, want), localFloats));
    }

    /** The local scratch argument of a row kernel: a float per work-item on GPUs, unused (one float) on CPUs. */
    private ClLaunch.Local rowScratch(cl_kernel k, int cols) {
        return new ClLaunch.Local((long) (dev.cpuLayout() ? 1 : rowGroup(k, cols)) * Sizeof.cl_float);
    }

    /** A row kernel: on GPUs a work-group per row ({@link #rowGroup} wide); on CPUs a work-item per row. */
    private void launchRows(cl_kernel k, long rows, int cols) {
        if (dev.cpuLayout()) {
            launchItems(k, rows);
            return;
        }
        int g = rowGroup(k, cols);
        dev.launch(k, new long[] {rows * g}, new long[] {g});
    }

    /**
     * A kernel over (columns, rows): on GPUs one column per work-item, global (C rounded up, rows);
     * on CPUs one work-item per row when {@code cpuRows}, else per 8-column block, global (C/8, rows).
     */
    private void launchColumns(cl_kernel k, int c, long rows, boolean cpuRows) {
        if (dev.cpuLayout()) {
            if (cpuRows) {
                launchItems(k, rows);
                return;
            }
            long blocks = (c + 7) / 8;
            int g = groupSize(dev, k, (int) Math.min(CPU_GROUP, blocks));
            dev.launch(k, new long[] {roundUp(blocks, g), rows}, new long[] {g, 1});
            return;
        }
        int g = groupSize(dev, k, (int) Math.min(ELEMENTWISE_GROUP, Integer.highestOneBit(Math.max(1, c - 1)) << 1));
        dev.launch(k, new long[] {roundUp(c, g), rows}, new long[] {g, 1});
    }

    /** Elements per work-item of the CPU-layout element-wise kernels: about 16 chunks per core, 64 .. 16384. */
    private long chunk(long n) {
        long cus = Math.max(1, dev.info().computeUnits());
        return Math.clamp(roundUp((n + 16 * cus - 1) / (16 * cus), 8), 64, 16384);
    }

    /** An element-wise kernel whose last argument is the chunk: GPU one element per work-item, CPU a chunk. */
    private void launchElements(cl_kernel k, long n, long chunk) {
        if (dev.cpuLayout()) {
            launchItems(k, (n + chunk - 1) / chunk);
            return;
        }
        int g = groupSize(dev, k, ELEMENTWISE_GROUP);
        dev.launch(k, new long[] {roundUp(n, g)}, new long[] {g});
    }

    // ---------------------------------------------------------------- encoder

    @Override
    protected void doEncoderForward(Tensor ids, Tensor wte, Tensor wpe, Tensor out, int n, int t, int c) {
        cl_kernel k = kernel(wte != null && wte.dtype() == DType.BF16 ? "encoder_forward_bf16" : "encoder_forward");
        args(k, ids, wte == null ? out : wte, wpe == null ? out : wpe, out, n, t, c, wte == null ? 0 : 1,
                wpe == null ? 0 : 1);
        launchColumns(k, c, n, true);
    }

    @Override
    protected void doEncoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int n, int t, int c) {
        if (dwte != null) {
            cl_kernel k = kernel("encoder_backward_wte");
            if (dev.cpuLayout()) {
                // column blocks of at least 64, about four per compute unit: each walks all tokens in order
                long cus = Math.max(1, dev.info().computeUnits());
                int cols = (int) Math.max(64, roundUp((c + 4 * cus - 1) / (4 * cus), 8));
                args(k, ids, dout, dwte, n, c, cols, rowScratch(k, c));
                launchItems(k, (c + cols - 1) / cols);
            } else {
                args(k, ids, dout, dwte, n, c, 0, rowScratch(k, c));
                launchRows(k, n, c);
            }
        }
        if (dwpe != null) {
            cl_kernel k = kernel("encoder_backward_wpe");
            args(k, dout, dwpe, n, t, c);
            launchColumns(k, c, t, true);
        }
    }

    // ---------------------------------------------------------------- layernorm

    @Override
    protected void doLayerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                      Tensor rstd, int n, int c) {
        cl_kernel k = kernel("layernorm_forward");
        args(k, x, weight, bias, out, mean, rstd, n, c, eps, rowScratch(k, c));
        launchRows(k, n, c);
    }

    @Override
    protected void doLayerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor dx,
                                       Tensor dweight, Tensor dbias, int n, int c) {
        cl_kernel k = kernel("layernorm_backward");
        args(k, dout, x, weight, mean, rstd, dx, n, c, rowScratch(k, c));
        launchRows(k, n, c);
        if (dweight != null || dbias != null) {
            columnSums(dout, x, mean, rstd, dbias, dweight, n, c);
        }
    }

    /**
     * dbias += Σ_n dout[n, :] and, when x is given, dweight += Σ_n dout[n, :]·norm[n, :] (either
     * output may be null) with norm = (x − mean)·rstd, or x·rstd when mean is null (RMSNorm): chunk
     * partials in the workspace, then the chunks added in order.
     */
    private void columnSums(Tensor dout, Tensor x, Tensor mean, Tensor rstd, Tensor dbias, Tensor dweight, int n,
                            int c) {
        int rows = (n + COLUMN_CHUNKS - 1) / COLUMN_CHUNKS;
        int chunks = (n + rows - 1) / rows;
        long per = (long) chunks * c;
        Tensor pb = dev.workspace("nn.columnSums", per);
        Tensor pw = x == null ? pb : dev.workspace("nn.columnSums.weight", per);
        boolean hasW = x != null && dweight != null;
        cl_kernel k = kernel("column_partials");
        args(k, dout, x == null ? dout : x, mean == null ? dout : mean, rstd == null ? dout : rstd, pb, pw, n, c, rows,
                hasW ? 1 : 0, mean == null ? 0 : 1);
        launchColumns(k, c, chunks, false);
        cl_kernel finish = kernel("column_finish");
        if (dbias != null) {
            args(finish, pb, dbias, chunks, c);
            launchColumns(finish, c, 1, false);
        }
        if (hasW) {
            args(finish, pw, dweight, chunks, c);
            launchColumns(finish, c, 1, false);
        }
    }

    // ---------------------------------------------------------------- element-wise

    @Override
    protected void doGeluForward(Gelu kind, Tensor x, Tensor out, long n) {
        cl_kernel k = kernel("gelu_forward");
        long chunk = chunk(n);
        args(k, x, out, n, kind == Gelu.TANH ? GELU_TANH : GELU_ERF, chunk);
        launchElements(k, n, chunk);
    }

    @Override
    protected void doGeluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx, long n) {
        cl_kernel k = kernel("gelu_backward");
        long chunk = chunk(n);
        args(k, x, dout, dx, n, kind == Gelu.TANH ? GELU_TANH : GELU_ERF, chunk);
        launchElements(k, n, chunk);
    }

    @Override
    protected void doBiasForward(Tensor x, Tensor bias, int n, int c) {
        cl_kernel k = kernel("bias_forward");
        args(k, x, bias, n, c);
        launchColumns(k, c, n, true);
    }

    @Override
    protected void doBiasBackward(Tensor dout, Tensor dbias, int n, int c) {
        columnSums(dout, null, null, null, dbias, null, n, c);
    }

    @Override
    protected void doResidualForward(Tensor a, Tensor b, Tensor out, long n) {
        cl_kernel k = kernel("residual_forward");
        long chunk = chunk(n);
        args(k, a, b, out, n, chunk);
        launchElements(k, n, chunk);
    }

    // ---------------------------------------------------------------- softmax

    @Override
    protected void doSoftmaxForward(Tensor x, Tensor out, float scale, boolean causal, int rows, int l) {
        cl_kernel k = kernel("softmax_forward");
        args(k, x, out, rows, l, scale, causal ? 1 : 0, rowScratch(k, l));
        launchRows(k, rows, l);
    }

    @Override
    protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx, float scale, int rows, int l) {
        cl_kernel k = kernel("softmax_backward");
        args(k, y, dy, dx, rows, l, scale, rowScratch(k, l));
        launchRows(k, rows, l);
    }

    // ---------------------------------------------------------------- fused attention

    /**
     * CPU layout: packs what the kernels read of k and v ({@code fused_attention_pack}) into the
     * workspaces {Kᵀ, Vᵀ, K rows, V rows}; entries not asked for are null.
     */
    private Tensor[] packKeys(Tensor k, Tensor v, int what, int b, int t, int hs) {
        int kvh = k.shape()[2] / hs;
        long tp = roundUp(t, FA_KB);
        long w = roundUp(hs, FA_DC);
        long perT = (long) b * kvh * hs * tp;
        long perRows = (long) b * kvh * tp * w;
        Tensor[] packed = {
                (what & PACK_KT) != 0 ? dev.workspace("nn.attention.kt", perT) : null,
                (what & PACK_VT) != 0 ? dev.workspace("nn.attention.vt", perT) : null,
                (what & PACK_K) != 0 ? dev.workspace("nn.attention.k", perRows) : null,
                (what & PACK_V) != 0 ? dev.workspace("nn.attention.v", perRows) : null};
        Tensor any = packed[0];
        cl_kernel kl = kernel("fused_attention_pack");
        args(kl, k, v, or(packed[0], any), or(packed[1], any), or(packed[2], any), or(packed[3], any), b, t, hs, kvh, what);
        launchItems(kl, (long) b * kvh * (tp / FA_KB));
        return packed;
    }

    private static Tensor or(Tensor t, Tensor otherwise) {
        return t != null ? t : otherwise;
    }

    /**
     * CPU layout: keys packed (Kᵀ, V rows), then a work-item per {@value #FA_QR} query rows; GPU
     * layout: a work-item per query row. Online softmax, lse kept.
     */
    @Override
    protected void doFusedAttentionForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean causal, int b,
                                           int t, int c, int nh) {
        int ck = k.shape()[2];
        float scale = (float) (1.0 / Math.sqrt(c / nh));
        cl_kernel kl = kernel("fused_attention_forward");
        if (dev.cpuLayout()) {
            Tensor[] p = packKeys(k, v, PACK_KT | PACK_V, b, t, c / nh);
            args(kl, q, p[0], p[3], out, lse, b, t, c, nh, ck, scale, causal ? 1 : 0);
            launchItems(kl, (long) b * nh * ((t + FA_QR - 1) / FA_QR));
            return;
        }
        int tk = tileRows(c / nh);
        int bq = groupSize(dev, kl, GPU_ATTENTION_GROUP);
        args(kl, q, k, v, out, lse, b, t, c, nh, ck, scale, causal ? 1 : 0, tk, tileScratch(tk, c / nh),
                tileScratch(tk, c / nh));
        launchTiles(kl, (long) b * nh, t, bq);
    }

    /** A dq pass over query rows, then a dk/dv pass over key rows of each KV head (CPU layout: blocks of both). */
    @Override
    protected void doFusedAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dq,
                                            Tensor dk, Tensor dv, boolean causal, int b, int t, int c, int nh) {
        int ck = k.shape()[2];
        int hs = c / nh;
        float scale = (float) (1.0 / Math.sqrt(hs));
        cl_kernel kq = kernel("fused_attention_backward_query");
        cl_kernel kk = kernel("fused_attention_backward_key");
        if (dev.cpuLayout()) {
            Tensor[] p = packKeys(k, v, PACK_KT | PACK_VT | PACK_K, b, t, hs);
            Tensor rowTerms = dev.workspace("nn.attention.rowterm", lse.size());
            args(kq, dout, q, p[0], p[1], p[2], out, lse, dq, rowTerms, b, t, c, nh, ck, scale, causal ? 1 : 0);
            launchItems(kq, (long) b * nh * ((t + FA_QR - 1) / FA_QR));
            long blocks = (long) b * (ck / hs) * (roundUp(t, FA_KB) / FA_KB);
            Tensor acc = dev.workspace("nn.attention.dkv", blocks * 2 * hs * FA_KB);
            args(kk, dout, q, p[0], p[1], rowTerms, lse, dk, dv, acc, b, t, c, nh, ck, scale, causal ? 1 : 0);
            launchItems(kk, blocks);
            return;
        }
        int tk = tileRows(hs);
        args(kq, dout, q, k, v, out, lse, dq, b, t, c, nh, ck, scale, causal ? 1 : 0, tk, tileScratch(tk, hs),
                tileScratch(tk, hs));
        launchTiles(kq, (long) b * nh, t, groupSize(dev, kq, GPU_ATTENTION_GROUP));
        args(kk, dout, q, k, v, out, lse, dk, dv, b, t, c, nh, ck, scale, causal ? 1 : 0, tk, tileScratch(tk, hs),
                tileScratch(tk, hs));
        launchTiles(kk, (long) b * (ck / hs), t, groupSize(dev, kk, GPU_ATTENTION_GROUP));
    }

    /** GPU layout: rows staged per tile (at most FG_K = 32), two tiles of hs + 1 floats a row within local memory. */
    private int tileRows(int hs) {
        long localFloats = dev.info().localMemBytes() / Sizeof.cl_float;
        return (int) Math.clamp(localFloats / (2L * (hs + 1)), 1, FG_K);
    }

    /** One staged tile in local memory: tk rows of hs floats and one more float per row. */
    private static ClLaunch.Local tileScratch(int tk, int hs) {
        return new ClLaunch.Local((long) tk * (hs + 1) * Sizeof.cl_float);
    }

    /** GPU layout: a work-group of {@code group} rows per block of rows of each of {@code heads} (sequence, head) pairs. */
    private void launchTiles(cl_kernel k, long heads, int t, int group) {
        long blocks = heads * ((t + group - 1) / group);
        dev.launch(k, new long[] {blocks * group}, new long[] {group});
    }

    // ---------------------------------------------------------------- cross-entropy

    @Override
    protected void doCrossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing,
                                         int ignoreIndex, int n, int v) {
        cl_kernel k = kernel("cross_entropy_forward");
        args(k, logits, targets, losses, n, v, labelSmoothing, ignoreIndex, rowScratch(k, v));
        launchRows(k, n, v);
    }

    @Override
    protected void doCrossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing,
                                          int ignoreIndex, float lossGradient, int n, int v) {
        cl_kernel k = kernel("cross_entropy_backward");
        args(k, logits, targets, dlogits, n, v, labelSmoothing, ignoreIndex, lossGradient, rowScratch(k, v));
        launchRows(k, n, v);
    }

    // ---------------------------------------------------------------- pooling

    @Override
    protected void doPoolForward(Pool kind, Tensor x, Tensor out, int b, int t, int c) {
        cl_kernel k = kernel("pool_forward");
        args(k, x, out, t, c, kind == Pool.MEAN ? POOL_MEAN : POOL_FIRST);
        launchColumns(k, c, b, false);
    }

    @Override
    protected void doPoolBackward(Pool kind, Tensor dout, Tensor dx, int b, int t, int c) {
        cl_kernel k = kernel("pool_backward");
        int per = kind == Pool.MEAN ? t : 1;
        long rows = (long) b * per;
        args(k, dout, dx, (int) rows, per, t, c, kind == Pool.MEAN ? POOL_MEAN : POOL_FIRST);
        launchColumns(k, c, rows, true);
    }

    // ---------------------------------------------------------------- RMSNorm, RoPE, SwiGLU

    @Override
    protected void doRmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd, int n, int c) {
        cl_kernel k = kernel("rmsnorm_forward");
        args(k, x, weight, out, rstd, n, c, eps, rowScratch(k, c));
        launchRows(k, n, c);
    }

    @Override
    protected void doRmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight, int n,
                                     int c) {
        cl_kernel k = kernel("rmsnorm_backward");
        args(k, dout, x, weight, rstd, dx, n, c, rowScratch(k, c));
        launchRows(k, n, c);
        if (dweight != null) {
            columnSums(dout, x, null, rstd, null, dweight, n, c);
        }
    }

    @Override
    protected void doRope(Tensor in, Tensor cos, Tensor sin, Tensor out, boolean transpose, int rows, int t, int w,
                          int headDim, int pos0) {
        cl_kernel k = kernel("rope");
        args(k, in, cos, sin, out, rows, t, w, headDim, pos0, transpose ? 1 : 0);
        launchColumns(k, w / 2, rows, true);
    }

    @Override
    protected void doSwigluForward(Tensor gate, Tensor up, Tensor out, long n) {
        cl_kernel k = kernel("swiglu_forward");
        long chunk = chunk(n);
        args(k, gate, up, out, n, chunk);
        launchElements(k, n, chunk);
    }

    @Override
    protected void doSwigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup, long n) {
        cl_kernel k = kernel("swiglu_backward");
        long chunk = chunk(n);
        args(k, gate, up, dout, dgate, dup, n, chunk);
        launchElements(k, n, chunk);
    }
}
