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
 * heads included, is {@link AbstractNnOps}'s composition of batched sgemm and this class's softmax; the
 * fused attention is a work-item per query row (forward, dq) and per key row (dk, dv).
 */
final class OpenClNnOps extends AbstractNnOps {

    /** Column sums split the rows into at most this many chunks (partials: chunks × C floats). */
    private static final int COLUMN_CHUNKS = 64;
    /** Row kernels of the GPU layout: work-items per row at most. */
    private static final int ROW_GROUP = 256;
    /** CPU layout: work-items per work-group at most (each already a row or an 8-wide block). */
    private static final int CPU_GROUP = 64;

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
     * False: the fused kernels (a work-item per row, no tiling) are correct but on PoCL 4× (forward)
     * and 19× (backward) slower than the composed attention measured side by side, so models keep the
     * composition here until they are tiled.
     */
    @Override
    public boolean prefersFusedAttention() {
        return false;
    }

    /** One work-item per item in both layouts (CPU: {@link #launchItems}; GPU: element-wise groups). */
    private void launchEach(cl_kernel k, long items) {
        if (dev.cpuLayout()) {
            launchItems(k, items);
            return;
        }
        int g = groupSize(dev, k, ELEMENTWISE_GROUP);
        dev.launch(k, new long[] {roundUp(items, g)}, new long[] {g});
    }

    /** A work-item per query row ({@code fused_attention_forward} in nn.cl): online softmax, lse kept. */
    @Override
    protected void doFusedAttentionForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean causal, int b,
                                           int t, int c, int nh) {
        cl_kernel kl = kernel("fused_attention_forward");
        args(kl, q, k, v, out, lse, b, t, c, nh, k.shape()[2], (float) (1.0 / Math.sqrt(c / nh)), causal ? 1 : 0);
        launchEach(kl, (long) b * nh * t);
    }

    /** dq a work-item per query row, then dk and dv a work-item per key row of each KV head. */
    @Override
    protected void doFusedAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dq,
                                            Tensor dk, Tensor dv, boolean causal, int b, int t, int c, int nh) {
        int ck = k.shape()[2];
        float scale = (float) (1.0 / Math.sqrt(c / nh));
        cl_kernel kq = kernel("fused_attention_backward_query");
        args(kq, dout, q, k, v, out, lse, dq, b, t, c, nh, ck, scale, causal ? 1 : 0);
        launchEach(kq, (long) b * nh * t);
        cl_kernel kk = kernel("fused_attention_backward_key");
        args(kk, dout, q, k, v, out, lse, dk, dv, b, t, c, nh, ck, scale, causal ? 1 : 0);
        launchEach(kk, (long) b * (ck / (c / nh)) * t);
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
