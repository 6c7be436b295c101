package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.KernelCall.updates;
import static dev.nola.kernels.tornado.KernelCall.writes;

import dev.nola.kernels.AbstractNnOps;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.tornado.NnParams.BiasForward;
import dev.nola.kernels.tornado.NnParams.ColumnSums;
import dev.nola.kernels.tornado.NnParams.CrossEntropy;
import dev.nola.kernels.tornado.NnParams.EncoderBackwardPositions;
import dev.nola.kernels.tornado.NnParams.EncoderBackwardTokens;
import dev.nola.kernels.tornado.NnParams.EncoderForward;
import dev.nola.kernels.tornado.NnParams.FusedAttention;
import dev.nola.kernels.tornado.NnParams.GeluBackward;
import dev.nola.kernels.tornado.NnParams.GeluForward;
import dev.nola.kernels.tornado.NnParams.LayerNormBackward;
import dev.nola.kernels.tornado.NnParams.LayerNormForward;
import dev.nola.kernels.tornado.NnParams.LayerNormParams;
import dev.nola.kernels.tornado.NnParams.PoolBackward;
import dev.nola.kernels.tornado.NnParams.PoolForward;
import dev.nola.kernels.tornado.NnParams.Residual;
import dev.nola.kernels.tornado.NnParams.RmsNormBackward;
import dev.nola.kernels.tornado.NnParams.RmsNormForward;
import dev.nola.kernels.tornado.NnParams.RmsNormWeightCombine;
import dev.nola.kernels.tornado.NnParams.RmsNormWeightPartials;
import dev.nola.kernels.tornado.NnParams.Rope;
import dev.nola.kernels.tornado.NnParams.SoftmaxBackward;
import dev.nola.kernels.tornado.NnParams.SoftmaxForward;
import dev.nola.kernels.tornado.NnParams.SwigluBackward;
import dev.nola.kernels.tornado.NnParams.SwigluForward;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The nn family on a TornadoVM device ({@link NnKernels}), the fused attention included as kernels of
 * its own ({@link FusedAttentionKernels}), grouped-query heads (KVH dividing NH) included, so it needs
 * no batched matmul; and the LLaMA family's RMSNorm (its weight gradient as fixed partials in the
 * device workspace, added in order), RoPE and SwiGLU.
 *
 * <p>Every call goes through {@link KernelCall}, as in the other families: operands are views at any
 * offset (each kernel reads the offsets from its int parameters), an absent optional operand (a null
 * table or gradient) is a placeholder the kernel does not touch, and the kernels with several outputs
 * take them as output slots ({@link KernelCall#slots}) and each output's slot number in the parameters.
 *
 * <p>Layouts, by device type as the OpenCL backend's: on a CPU device the row ops (layernorm, RMSNorm,
 * softmax, cross-entropy) are a work-item per row walking it in sixteen lanes ({@link NormLanes},
 * {@link NnRowLanes}), and the column sums (bias and layernorm parameter gradients, RMSNorm's weight
 * partials) sixteen columns per work-item where C is a multiple of 16 ({@link ColumnLanes}); elsewhere
 * the row ops are a work-group per row with its sums and maxima in local memory ({@link NnGroupKernels})
 * and the column sums a work-item per column ({@link NnKernels}), with the same parameters. The
 * fused attention ({@link FusedAttentionKernels}) keeps only lse between its passes.
 *
 * <p>Two-pass ops are two plans run one after the other (layernorm backward: dx, then the parameter
 * gradients), the intermediate travelling through the
 * host array between them (on PoCL device memory is host memory), or, inside a
 * {@link dev.nola.kernels.Device#capture capture}, staying on the device.
 */
final class TornadoNnOps extends AbstractNnOps {

    private final TornadoPlans plans;
    private final TornadoVmDevice dev;

    TornadoNnOps(TornadoVmDevice device) {
        super(device);
        this.plans = device.plans();
        this.dev = device;
    }

    /** Starts a call of {@code op}. */
    private KernelCall call(String op) {
        return plans.call(op);
    }

    /** An operand's element offset in the array its kernel gets (0 for an absent one). */
    private int off(Tensor t) {
        return t == null ? 0 : plans.offsetOf(t);
    }

    /** Runs a one-task call over {@code global} work-items, the CPU's small work-groups for row and column kernels. */
    private void run(Launch p, long global, boolean rows) {
        p.run(global, rows && plans.cpuLayout);
    }

    /** The row-per-work-item kernel on a CPU device, the work-group-per-row one ({@link NnGroupKernels}) elsewhere. */
    private <K> K rowKernel(K perItem, K perGroup) {
        return plans.cpuLayout ? perItem : perGroup;
    }

    /** The sixteen-lane kernel ({@link NnElementLanes}) when {@code lanes}, else the element-per-work-item one. */
    private static <K> K pick(boolean lanes, K lanesKernel, K perElement) {
        return lanes ? lanesKernel : perElement;
    }

    /** Whether a column kernel takes sixteen columns per work-item ({@link ColumnLanes}): CPU devices, c a multiple of 16. */
    private boolean columnLanes(int c) {
        return plans.cpuLayout && c % 16 == 0;
    }

    /** Runs a row kernel of {@link #rowKernel} over {@code rows} rows: a work-item each (CPU) or a work-group each. */
    private void runRows(Launch p, long rows) {
        if (plans.cpuLayout) {
            p.run(rows, true);
        } else {
            p.runGroups(rows, NnGroupKernels.GROUP);
        }
    }

    private static void set(IntArray ip, int... values) {
        for (int i = 0; i < values.length; i++) {
            ip.set(i, values[i]);
        }
    }

    // ---------------------------------------------------------------- encoder

    @Override
    protected void doEncoderForward(Tensor ids, Tensor wte, Tensor wpe, Tensor out, int n, int t, int c) {
        Launch p = call("nn.encoderForward").in(ids).in(wte).in(wpe).out(out)
                .launch(EncoderForward.SIZE, 1, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), NnKernels::nnEncoderForward, new KernelContext(), ip, a.ints(0), a.f(1), a.f(2), a.f(3)));
        p.ip.set(EncoderForward.N, n);
        p.ip.set(EncoderForward.T, t);
        p.ip.set(EncoderForward.C, c);
        p.ip.set(EncoderForward.HAS_WTE, wte != null ? 1 : 0);
        p.ip.set(EncoderForward.HAS_WPE, wpe != null ? 1 : 0);
        p.ip.set(EncoderForward.IDS, off(ids));
        p.ip.set(EncoderForward.WTE, off(wte));
        p.ip.set(EncoderForward.WPE, off(wpe));
        p.ip.set(EncoderForward.OUT, off(out));
        run(p, (long) n * c, false);
    }

    @Override
    protected void doEncoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int n, int t, int c) {
        if (dwte != null) {
            Launch p = call("nn.encoderBackwardTokens").in(ids).in(dout).inOut(dwte)
                    .launch(EncoderBackwardTokens.SIZE, 1, (g, tn, ip, fp, a) -> g
                    .task(tn.task(0), NnKernels::nnEncoderBackwardTokens, new KernelContext(), ip, a.ints(0), a.f(1), a.f(2)));
            p.ip.set(EncoderBackwardTokens.N, n);
            p.ip.set(EncoderBackwardTokens.C, c);
            p.ip.set(EncoderBackwardTokens.IDS, off(ids));
            p.ip.set(EncoderBackwardTokens.DOUT, off(dout));
            p.ip.set(EncoderBackwardTokens.DWTE, off(dwte));
            run(p, c, true);
        }
        if (dwpe != null) {
            Launch p = call("nn.encoderBackwardPositions").in(dout).inOut(dwpe)
                    .launch(EncoderBackwardPositions.SIZE, 1, (g, tn, ip, fp, a) -> g
                    .task(tn.task(0), NnKernels::nnEncoderBackwardPositions, new KernelContext(), ip, a.f(0), a.f(1)));
            p.ip.set(EncoderBackwardPositions.N, n);
            p.ip.set(EncoderBackwardPositions.T, t);
            p.ip.set(EncoderBackwardPositions.C, c);
            p.ip.set(EncoderBackwardPositions.DOUT, off(dout));
            p.ip.set(EncoderBackwardPositions.DWPE, off(dwpe));
            run(p, (long) t * c, false);
        }
    }

    // ---------------------------------------------------------------- layernorm

    @Override
    protected void doLayerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                      Tensor rstd, int n, int c) {
        KernelCall call = call("nn.layerNormForward").in(x).in(weight).in(bias);
        int[] slot = call.slots(writes(out), writes(mean), writes(rstd));
        Launch p = call
                .launch(LayerNormForward.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0),
                        rowKernel(NormLanes::nnLayerNormForwardLanes, NnGroupKernels::nnLayerNormForwardGroup),
                        new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2), a.f(3), a.f(4), a.f(5)));
        p.ip.set(LayerNormForward.N, n);
        p.ip.set(LayerNormForward.C, c);
        p.ip.set(LayerNormForward.X, off(x));
        p.ip.set(LayerNormForward.W, off(weight));
        p.ip.set(LayerNormForward.B, off(bias));
        p.ip.set(LayerNormForward.OUT, off(out));
        p.ip.set(LayerNormForward.MEAN, off(mean));
        p.ip.set(LayerNormForward.RSTD, off(rstd));
        p.ip.set(LayerNormForward.OUT_SLOT, slot[0]);
        p.ip.set(LayerNormForward.MEAN_SLOT, slot[1]);
        p.ip.set(LayerNormForward.RSTD_SLOT, slot[2]);
        p.fp.set(0, eps);
        runRows(p, n);
    }

    @Override
    protected void doLayerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor dx,
                                       Tensor dweight, Tensor dbias, int n, int c) {
        Launch p = call("nn.layerNormBackward").in(dout).in(x).in(weight).in(mean).in(rstd).inOut(dx)
                .launch(LayerNormBackward.SIZE, 1, (g, tn, ip, fp, a) -> g
                        .task(tn.task(0),
                                rowKernel(NormLanes::nnLayerNormBackwardLanes, NnGroupKernels::nnLayerNormBackwardGroup),
                                new KernelContext(), ip, a.f(0), a.f(1), a.f(2), a.f(3), a.f(4), a.f(5)));
        p.ip.set(LayerNormBackward.N, n);
        p.ip.set(LayerNormBackward.C, c);
        p.ip.set(LayerNormBackward.DOUT, off(dout));
        p.ip.set(LayerNormBackward.X, off(x));
        p.ip.set(LayerNormBackward.W, off(weight));
        p.ip.set(LayerNormBackward.MEAN, off(mean));
        p.ip.set(LayerNormBackward.RSTD, off(rstd));
        p.ip.set(LayerNormBackward.DX, off(dx));
        runRows(p, n);
        if (dweight != null || dbias != null) {
            boolean lanes = columnLanes(c);
            KernelCall call = call(lanes ? "nn.layerNormParamsLanes" : "nn.layerNormParams").in(dout).in(x).in(mean).in(rstd);
            int[] slot = call.slots(updates(dweight), updates(dbias));
            Launch q = call
                    .launch(LayerNormParams.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0),
                    pick(lanes, ColumnLanes::nnLayerNormParamsLanes, NnKernels::nnLayerNormParams),
                    new KernelContext(), ip, a.f(0), a.f(1), a.f(2), a.f(3), a.f(4), a.f(5)));
            q.ip.set(LayerNormParams.N, n);
            q.ip.set(LayerNormParams.C, c);
            q.ip.set(LayerNormParams.DOUT, off(dout));
            q.ip.set(LayerNormParams.X, off(x));
            q.ip.set(LayerNormParams.MEAN, off(mean));
            q.ip.set(LayerNormParams.RSTD, off(rstd));
            q.ip.set(LayerNormParams.DW, off(dweight));
            q.ip.set(LayerNormParams.DB, off(dbias));
            q.ip.set(LayerNormParams.HAS_W, dweight != null ? 1 : 0);
            q.ip.set(LayerNormParams.HAS_B, dbias != null ? 1 : 0);
            q.ip.set(LayerNormParams.DW_SLOT, slot[0]);
            q.ip.set(LayerNormParams.DB_SLOT, slot[1]);
            run(q, lanes ? c / 16 : c, true);
        }
    }

    // ---------------------------------------------------------------- element-wise

    private static int kind(Gelu kind) {
        return kind == Gelu.TANH ? NnKernels.GELU_TANH : NnKernels.GELU_ERF;
    }

    @Override
    protected void doGeluForward(Gelu kind, Tensor x, Tensor out, long n) {
        boolean lanes = plans.cpuLayout;
        Launch p = call(lanes ? "nn.geluForwardLanes" : "nn.geluForward").in(x).out(out).launch(GeluForward.SIZE, 1,
                (g, tn, ip, fp, a) -> g.task(tn.task(0), pick(lanes, NnElementLanes::nnGeluForwardLanes, NnKernels::nnGeluForward),
                        new KernelContext(), ip, a.f(0), a.f(1)));
        p.ip.set(GeluForward.N, Math.toIntExact(n));
        p.ip.set(GeluForward.KIND, kind(kind));
        p.ip.set(GeluForward.X, off(x));
        p.ip.set(GeluForward.OUT, off(out));
        run(p, lanes ? NnElementLanes.chunks(n) : n, lanes);
    }

    @Override
    protected void doGeluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx, long n) {
        boolean lanes = plans.cpuLayout;
        Launch p = call(lanes ? "nn.geluBackwardLanes" : "nn.geluBackward").in(x).in(dout).inOut(dx).launch(GeluBackward.SIZE, 1,
                (g, tn, ip, fp, a) -> g.task(tn.task(0), pick(lanes, NnElementLanes::nnGeluBackwardLanes, NnKernels::nnGeluBackward),
                        new KernelContext(), ip, a.f(0), a.f(1), a.f(2)));
        p.ip.set(GeluBackward.N, Math.toIntExact(n));
        p.ip.set(GeluBackward.KIND, kind(kind));
        p.ip.set(GeluBackward.X, off(x));
        p.ip.set(GeluBackward.DOUT, off(dout));
        p.ip.set(GeluBackward.DX, off(dx));
        run(p, lanes ? NnElementLanes.chunks(n) : n, lanes);
    }

    /** On a CPU device with c a multiple of 16, sixteen columns per work-item ({@link NnElementLanes}). */
    @Override
    protected void doBiasForward(Tensor x, Tensor bias, int n, int c) {
        boolean lanes = plans.cpuLayout && c % 16 == 0;
        Launch p = call(lanes ? "nn.biasForwardLanes" : "nn.biasForward").in(bias).inOut(x).launch(BiasForward.SIZE, 1,
                (g, tn, ip, fp, a) -> g.task(tn.task(0), pick(lanes, NnElementLanes::nnBiasForwardLanes, NnKernels::nnBiasForward),
                        new KernelContext(), ip, a.f(0), a.f(1)));
        p.ip.set(BiasForward.N, n);
        p.ip.set(BiasForward.C, c);
        p.ip.set(BiasForward.X, off(x));
        p.ip.set(BiasForward.BIAS, off(bias));
        run(p, lanes ? (long) n * (c / 16) : (long) n * c, lanes);
    }

    /** On a CPU device with c a multiple of 16, sixteen columns per work-item ({@link ColumnLanes}). */
    @Override
    protected void doBiasBackward(Tensor dout, Tensor dbias, int n, int c) {
        boolean lanes = columnLanes(c);
        Launch p = call(lanes ? "nn.biasBackwardLanes" : "nn.biasBackward").in(dout).inOut(dbias).launch(ColumnSums.SIZE, 1,
                (g, tn, ip, fp, a) -> g.task(tn.task(0), pick(lanes, ColumnLanes::nnColumnSumsLanes, NnKernels::nnColumnSums),
                        new KernelContext(), ip, a.f(0), a.f(1)));
        p.ip.set(ColumnSums.N, n);
        p.ip.set(ColumnSums.C, c);
        p.ip.set(ColumnSums.DOUT, off(dout));
        p.ip.set(ColumnSums.DBIAS, off(dbias));
        run(p, lanes ? c / 16 : c, true);
    }

    @Override
    protected void doResidualForward(Tensor a, Tensor b, Tensor out, long n) {
        boolean lanes = plans.cpuLayout;
        Launch p = call(lanes ? "nn.residualForwardLanes" : "nn.residualForward").in(a).in(b).out(out).launch(Residual.SIZE, 1,
                (g, tn, ip, fp, x) -> g.task(tn.task(0),
                        pick(lanes, NnElementLanes::nnResidualForwardLanes, NnKernels::nnResidualForward),
                        new KernelContext(), ip, x.f(0), x.f(1), x.f(2)));
        p.ip.set(Residual.N, Math.toIntExact(n));
        p.ip.set(Residual.A, off(a));
        p.ip.set(Residual.B, off(b));
        p.ip.set(Residual.OUT, off(out));
        run(p, lanes ? NnElementLanes.chunks(n) : n, lanes);
    }

    // ---------------------------------------------------------------- softmax

    @Override
    protected void doSoftmaxForward(Tensor x, Tensor out, float scale, boolean causal, int rows, int l) {
        Launch p = call("nn.softmaxForward").in(x).out(out).launch(SoftmaxForward.SIZE, 1, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), rowKernel(NnRowLanes::nnSoftmaxForwardLanes, NnGroupKernels::nnSoftmaxForwardGroup),
                        new KernelContext(), ip, fp, a.f(0), a.f(1)));
        p.ip.set(SoftmaxForward.ROWS, rows);
        p.ip.set(SoftmaxForward.L, l);
        p.ip.set(SoftmaxForward.CAUSAL, causal ? 1 : 0);
        p.ip.set(SoftmaxForward.X, off(x));
        p.ip.set(SoftmaxForward.OUT, off(out));
        p.fp.set(0, scale);
        runRows(p, rows);
    }

    @Override
    protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx, float scale, int rows, int l) {
        Launch p = call("nn.softmaxBackward").in(y).in(dy).out(dx).launch(SoftmaxBackward.SIZE, 1, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), rowKernel(NnRowLanes::nnSoftmaxBackwardLanes, NnGroupKernels::nnSoftmaxBackwardGroup),
                        new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2)));
        p.ip.set(SoftmaxBackward.ROWS, rows);
        p.ip.set(SoftmaxBackward.L, l);
        p.ip.set(SoftmaxBackward.Y, off(y));
        p.ip.set(SoftmaxBackward.DY, off(dy));
        p.ip.set(SoftmaxBackward.DX, off(dx));
        p.fp.set(0, scale);
        runRows(p, rows);
    }

    /** KVH, the key/value heads: k's width over hs = c / nh (NH when k has q's shape). */
    private static int kvHeads(Tensor k, int c, int nh) {
        return k.shape()[2] / (c / nh);
    }

    // ---------------------------------------------------------------- fused attention

    /** The fused attention's parameters: sizes, flag, every operand's offset (absent ones 0), slots, scale. */
    private void fusedParams(Launch p, boolean causal, int b, int t, int c, int nh, Tensor q, Tensor k, Tensor v, Tensor out,
                             Tensor lse, Tensor dout, Tensor dq, Tensor dk, Tensor dv, int slot0, int slot1) {
        p.ip.set(FusedAttention.B, b);
        p.ip.set(FusedAttention.T, t);
        p.ip.set(FusedAttention.C, c);
        p.ip.set(FusedAttention.NH, nh);
        p.ip.set(FusedAttention.CK, k.shape()[2]);
        p.ip.set(FusedAttention.CAUSAL, causal ? 1 : 0);
        p.ip.set(FusedAttention.Q, off(q));
        p.ip.set(FusedAttention.K, off(k));
        p.ip.set(FusedAttention.V, off(v));
        p.ip.set(FusedAttention.OUT, off(out));
        p.ip.set(FusedAttention.LSE, off(lse));
        p.ip.set(FusedAttention.DOUT, off(dout));
        p.ip.set(FusedAttention.DQ, off(dq));
        p.ip.set(FusedAttention.DK, off(dk));
        p.ip.set(FusedAttention.DV, off(dv));
        p.ip.set(FusedAttention.SLOT0, slot0);
        p.ip.set(FusedAttention.SLOT1, slot1);
        p.fp.set(0, (float) (1.0 / Math.sqrt(c / nh)));
    }

    /**
     * Whether the fused attention runs as {@link FusedAttentionLanes} (CPU devices, head sizes 16 to 64 in
     * steps of 16: a head's row in sixteen-lane chunks) rather than {@link FusedAttentionKernels}.
     */
    private boolean lanes(int c, int nh) {
        return plans.cpuLayout && FusedAttentionLanes.fits(c / nh);
    }

    /** A work-item per query row, online softmax ({@link FusedAttentionKernels}); out and lse through slots. */
    @Override
    protected void doFusedAttentionForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean causal, int b,
                                           int t, int c, int nh) {
        boolean lanes = lanes(c, nh);
        KernelCall call = call(lanes ? "nn.fusedAttentionForwardLanes" : "nn.fusedAttentionForward").in(q).in(k).in(v);
        int[] o = call.slots(writes(out), writes(lse));
        Launch p = call.launch(FusedAttention.SIZE, 1, (g, tn, ip, fp, a) -> lanes
                ? g.task(tn.task(0), FusedAttentionLanes::nnFusedAttentionForwardLanes, new KernelContext(), ip, fp, a.f(0), a.f(1),
                        a.f(2), a.f(3), a.f(4))
                : g.task(tn.task(0), FusedAttentionKernels::nnFusedAttentionForward, new KernelContext(), ip, fp, a.f(0), a.f(1),
                        a.f(2), a.f(3), a.f(4)));
        fusedParams(p, causal, b, t, c, nh, q, k, v, out, lse, null, null, null, null, o[0], o[1]);
        run(p, (long) b * nh * t, true);
    }

    /**
     * The query side (dq, a work-item per query row), then the key side (dk, dv, a work-item per key row of
     * a KV head). With {@link #lanes}: first the row terms D = rowsum(dout ∘ out) into a workspace, which
     * both sides read ({@link FusedAttentionLanes}).
     */
    @Override
    protected void doFusedAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dq,
                                            Tensor dk, Tensor dv, boolean causal, int b, int t, int c, int nh) {
        if (lanes(c, nh)) {
            fusedAttentionBackwardLanes(dout, q, k, v, out, lse, dq, dk, dv, causal, b, t, c, nh);
            return;
        }
        Launch p = call("nn.fusedAttentionBackwardQuery").in(dout).in(q).in(k).in(v).in(out).in(lse).inOut(dq)
                .launch(FusedAttention.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0),
                        FusedAttentionKernels::nnFusedAttentionBackwardQuery, new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2),
                        a.f(3), a.f(4), a.f(5), a.f(6)));
        fusedParams(p, causal, b, t, c, nh, q, k, v, out, lse, dout, dq, dk, dv, 0, 0);
        run(p, (long) b * nh * t, true);
        KernelCall key = call("nn.fusedAttentionBackwardKey").in(dout).in(q).in(k).in(v).in(out).in(lse);
        int[] o = key.slots(updates(dk), updates(dv));
        Launch r = key.launch(FusedAttention.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0),
                FusedAttentionKernels::nnFusedAttentionBackwardKey, new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2), a.f(3),
                a.f(4), a.f(5), a.f(6), a.f(7)));
        fusedParams(r, causal, b, t, c, nh, q, k, v, out, lse, dout, dq, dk, dv, o[0], o[1]);
        run(r, (long) b * kvHeads(k, c, nh) * t, true);
    }

    /** The backward of {@link FusedAttentionLanes}: row terms, then the query side, then the key side. */
    private void fusedAttentionBackwardLanes(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dq,
                                             Tensor dk, Tensor dv, boolean causal, int b, int t, int c, int nh) {
        long rows = (long) b * nh * t;
        Tensor rowTerm = dev.workspace("tornado.nn.attentionRowTerm", rows).view(0, Math.toIntExact(rows));
        Launch d = call("nn.fusedAttentionRowTermLanes").in(dout).in(out).out(rowTerm)
                .launch(FusedAttention.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0),
                        FusedAttentionLanes::nnFusedAttentionRowTermLanes, new KernelContext(), ip, a.f(0), a.f(1), a.f(2)));
        fusedParams(d, causal, b, t, c, nh, q, k, v, out, lse, dout, dq, dk, dv, 0, 0);
        d.ip.set(FusedAttention.ROW_TERM, off(rowTerm));
        run(d, rows, true);
        Launch p = call("nn.fusedAttentionBackwardQueryLanes").in(dout).in(q).in(k).in(v).in(rowTerm).in(lse).inOut(dq)
                .launch(FusedAttention.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0),
                        FusedAttentionLanes::nnFusedAttentionBackwardQueryLanes, new KernelContext(), ip, fp, a.f(0), a.f(1),
                        a.f(2), a.f(3), a.f(4), a.f(5), a.f(6)));
        fusedParams(p, causal, b, t, c, nh, q, k, v, out, lse, dout, dq, dk, dv, 0, 0);
        p.ip.set(FusedAttention.ROW_TERM, off(rowTerm));
        run(p, rows, true);
        KernelCall key = call("nn.fusedAttentionBackwardKeyLanes").in(dout).in(q).in(k).in(v).in(rowTerm).in(lse);
        int[] o = key.slots(updates(dk), updates(dv));
        Launch r = key.launch(FusedAttention.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0),
                FusedAttentionLanes::nnFusedAttentionBackwardKeyLanes, new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2),
                a.f(3), a.f(4), a.f(5), a.f(6), a.f(7)));
        fusedParams(r, causal, b, t, c, nh, q, k, v, out, lse, dout, dq, dk, dv, o[0], o[1]);
        r.ip.set(FusedAttention.ROW_TERM, off(rowTerm));
        run(r, (long) b * kvHeads(k, c, nh) * t, true);
    }

    // ---------------------------------------------------------------- cross-entropy

    @Override
    protected void doCrossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing,
                                         int ignoreIndex, int n, int v) {
        Launch p = call("nn.crossEntropyForward").in(logits).in(targets).out(losses)
                .launch(CrossEntropy.SIZE, 1, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), rowKernel(NnRowLanes::nnCrossEntropyForwardLanes, NnGroupKernels::nnCrossEntropyForwardGroup),
                        new KernelContext(), ip, fp, a.f(0), a.ints(1), a.f(2)));
        p.ip.set(CrossEntropy.N, n);
        p.ip.set(CrossEntropy.V, v);
        p.ip.set(CrossEntropy.IGNORE, ignoreIndex);
        p.ip.set(CrossEntropy.LOGITS, off(logits));
        p.ip.set(CrossEntropy.TARGETS, off(targets));
        p.ip.set(CrossEntropy.OUT, off(losses));
        p.fp.set(0, labelSmoothing);
        runRows(p, n);
    }

    @Override
    protected void doCrossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing,
                                          int ignoreIndex, float lossGradient, int n, int v) {
        Launch p = call("nn.crossEntropyBackward").in(logits).in(targets).out(dlogits)
                .launch(CrossEntropy.SIZE, 2, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), rowKernel(NnRowLanes::nnCrossEntropyBackwardLanes, NnGroupKernels::nnCrossEntropyBackwardGroup),
                        new KernelContext(), ip, fp, a.f(0), a.ints(1), a.f(2)));
        p.ip.set(CrossEntropy.N, n);
        p.ip.set(CrossEntropy.V, v);
        p.ip.set(CrossEntropy.IGNORE, ignoreIndex);
        p.ip.set(CrossEntropy.LOGITS, off(logits));
        p.ip.set(CrossEntropy.TARGETS, off(targets));
        p.ip.set(CrossEntropy.OUT, off(dlogits));
        p.fp.set(0, labelSmoothing);
        p.fp.set(1, lossGradient);
        runRows(p, n);
    }

    // ---------------------------------------------------------------- pooling

    private static int kind(Pool kind) {
        return kind == Pool.MEAN ? NnKernels.POOL_MEAN : NnKernels.POOL_FIRST;
    }

    @Override
    protected void doPoolForward(Pool kind, Tensor x, Tensor out, int b, int t, int c) {
        Launch p = call("nn.poolForward").in(x).out(out).launch(PoolForward.SIZE, 1, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), NnKernels::nnPoolForward, new KernelContext(), ip, a.f(0), a.f(1)));
        p.ip.set(PoolForward.B, b);
        p.ip.set(PoolForward.T, t);
        p.ip.set(PoolForward.C, c);
        p.ip.set(PoolForward.KIND, kind(kind));
        p.ip.set(PoolForward.X, off(x));
        p.ip.set(PoolForward.OUT, off(out));
        run(p, (long) b * c, false);
    }

    @Override
    protected void doPoolBackward(Pool kind, Tensor dout, Tensor dx, int b, int t, int c) {
        Launch p = call("nn.poolBackward").in(dout).inOut(dx).launch(PoolBackward.SIZE, 1, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), NnKernels::nnPoolBackward, new KernelContext(), ip, a.f(0), a.f(1)));
        int per = kind == Pool.MEAN ? t : 1;
        p.ip.set(PoolBackward.ROWS, b * per);
        p.ip.set(PoolBackward.PER, per);
        p.ip.set(PoolBackward.T, t);
        p.ip.set(PoolBackward.C, c);
        p.ip.set(PoolBackward.KIND, kind(kind));
        p.ip.set(PoolBackward.DOUT, off(dout));
        p.ip.set(PoolBackward.DX, off(dx));
        run(p, (long) b * per * c, false);
    }

    // ---------------------------------------------------------------- the LLaMA family

    /** Rows per partial of the RMSNorm weight gradient at least, and partials at most (from n alone). */
    private static final int RMS_MIN_SPAN = 16;
    private static final int RMS_MAX_PARTIALS = 64;

    @Override
    protected void doRmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd, int n, int c) {
        KernelCall call = call("nn.rmsNormForward").in(x).in(weight);
        int[] slot = call.slots(writes(out), writes(rstd));
        Launch p = call.launch(RmsNormForward.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0),
                rowKernel(NormLanes::nnRmsNormForwardLanes, NnGroupKernels::nnRmsNormForwardGroup),
                new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2), a.f(3)));
        p.ip.set(RmsNormForward.N, n);
        p.ip.set(RmsNormForward.C, c);
        p.ip.set(RmsNormForward.X, off(x));
        p.ip.set(RmsNormForward.W, off(weight));
        p.ip.set(RmsNormForward.OUT, off(out));
        p.ip.set(RmsNormForward.RSTD, off(rstd));
        p.ip.set(RmsNormForward.OUT_SLOT, slot[0]);
        p.ip.set(RmsNormForward.RSTD_SLOT, slot[1]);
        p.fp.set(0, eps);
        runRows(p, n);
    }

    /**
     * dx a work-item per row; then, with a dweight, its column sums in two plans: fixed spans of rows
     * (from n alone) into partials in the device workspace, a work-item per (span, column), then a
     * work-item per column adding its partials in span order into dweight. No atomics.
     */
    @Override
    protected void doRmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight, int n,
                                     int c) {
        Launch p = call("nn.rmsNormBackward").in(dout).in(x).in(weight).in(rstd).inOut(dx).launch(RmsNormBackward.SIZE, 1,
                (g, tn, ip, fp, a) -> g.task(tn.task(0),
                        rowKernel(NormLanes::nnRmsNormBackwardLanes, NnGroupKernels::nnRmsNormBackwardGroup),
                        new KernelContext(), ip, a.f(0), a.f(1), a.f(2), a.f(3), a.f(4)));
        p.ip.set(RmsNormBackward.N, n);
        p.ip.set(RmsNormBackward.C, c);
        p.ip.set(RmsNormBackward.DOUT, off(dout));
        p.ip.set(RmsNormBackward.X, off(x));
        p.ip.set(RmsNormBackward.W, off(weight));
        p.ip.set(RmsNormBackward.RSTD, off(rstd));
        p.ip.set(RmsNormBackward.DX, off(dx));
        runRows(p, n);
        if (dweight == null) {
            return;
        }
        int span = Math.max(RMS_MIN_SPAN, (n + RMS_MAX_PARTIALS - 1) / RMS_MAX_PARTIALS);
        int groups = (n + span - 1) / span;
        long floats = (long) groups * c;
        Tensor ws = dev.workspace("tornado.nn.rmsNormWeight", floats).view(0, Math.toIntExact(floats));
        boolean lanes = columnLanes(c);
        Launch q = call(lanes ? "nn.rmsNormWeightPartialsLanes" : "nn.rmsNormWeightPartials").in(dout).in(x).in(rstd).out(ws)
                .launch(RmsNormWeightPartials.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0),
                        pick(lanes, ColumnLanes::nnRmsNormWeightPartialsLanes, NnKernels::nnRmsNormWeightPartials),
                        new KernelContext(), ip, a.f(0), a.f(1), a.f(2), a.f(3)));
        q.ip.set(RmsNormWeightPartials.N, n);
        q.ip.set(RmsNormWeightPartials.C, c);
        q.ip.set(RmsNormWeightPartials.SPAN, span);
        q.ip.set(RmsNormWeightPartials.GROUPS, groups);
        q.ip.set(RmsNormWeightPartials.DOUT, off(dout));
        q.ip.set(RmsNormWeightPartials.X, off(x));
        q.ip.set(RmsNormWeightPartials.RSTD, off(rstd));
        q.ip.set(RmsNormWeightPartials.WS, off(ws));
        run(q, lanes ? floats / 16 : floats, true);
        Launch r = call("nn.rmsNormWeightCombine").in(ws).inOut(dweight)
                .launch(RmsNormWeightCombine.SIZE, 1, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), NnKernels::nnRmsNormWeightCombine, new KernelContext(), ip, a.f(0), a.f(1)));
        r.ip.set(RmsNormWeightCombine.C, c);
        r.ip.set(RmsNormWeightCombine.GROUPS, groups);
        r.ip.set(RmsNormWeightCombine.WS, off(ws));
        r.ip.set(RmsNormWeightCombine.DW, off(dweight));
        run(r, c, true);
    }

    @Override
    protected void doRope(Tensor in, Tensor cos, Tensor sin, Tensor out, boolean transpose, int rows, int t, int w,
                          int headDim, int pos0) {
        Launch p = call("nn.rope").in(in).in(cos).in(sin).out(out).launch(Rope.SIZE, 2, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), NnKernels::nnRope, new KernelContext(), ip, fp, a.f(0), a.f(1), a.f(2), a.f(3)));
        p.ip.set(Rope.ROWS, rows);
        p.ip.set(Rope.T, t);
        p.ip.set(Rope.W, w);
        p.ip.set(Rope.HEAD_DIM, headDim);
        p.ip.set(Rope.POS0, pos0);
        p.ip.set(Rope.X, off(in));
        p.ip.set(Rope.COS, off(cos));
        p.ip.set(Rope.SIN, off(sin));
        p.ip.set(Rope.OUT, off(out));
        p.fp.set(0, transpose ? -1f : 1f);
        p.fp.set(1, transpose ? 1f : -1f);
        run(p, (long) rows * (w / 2), false);
    }

    @Override
    protected void doSwigluForward(Tensor gate, Tensor up, Tensor out, long n) {
        Launch p = call("nn.swigluForward").in(gate).in(up).out(out).launch(SwigluForward.SIZE, 1, (g, tn, ip, fp, a) -> g
                .task(tn.task(0), NnKernels::nnSwigluForward, new KernelContext(), ip, a.f(0), a.f(1), a.f(2)));
        p.ip.set(SwigluForward.N, Math.toIntExact(n));
        p.ip.set(SwigluForward.GATE, off(gate));
        p.ip.set(SwigluForward.UP, off(up));
        p.ip.set(SwigluForward.OUT, off(out));
        run(p, n, false);
    }

    @Override
    protected void doSwigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup, long n) {
        KernelCall call = call("nn.swigluBackward").in(gate).in(up).in(dout);
        int[] slot = call.slots(updates(dgate), updates(dup));
        Launch p = call.launch(SwigluBackward.SIZE, 1, (g, tn, ip, fp, a) -> g.task(tn.task(0), NnKernels::nnSwigluBackward,
                new KernelContext(), ip, a.f(0), a.f(1), a.f(2), a.f(3), a.f(4)));
        p.ip.set(SwigluBackward.N, Math.toIntExact(n));
        p.ip.set(SwigluBackward.GATE, off(gate));
        p.ip.set(SwigluBackward.UP, off(up));
        p.ip.set(SwigluBackward.DOUT, off(dout));
        p.ip.set(SwigluBackward.DGATE, off(dgate));
        p.ip.set(SwigluBackward.DUP, off(dup));
        p.ip.set(SwigluBackward.DGATE_SLOT, slot[0]);
        p.ip.set(SwigluBackward.DUP_SLOT, slot[1]);
        run(p, n, false);
    }
}
