package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.Lanes.load16;
import static dev.nola.kernels.tornado.Lanes.splat;
import static dev.nola.kernels.tornado.Lanes.store16;

import dev.nola.kernels.tornado.NnParams.ColumnSums;
import dev.nola.kernels.tornado.NnParams.LayerNormParams;
import dev.nola.kernels.tornado.NnParams.RmsNormWeightPartials;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * Column sums of the CPU layout for C a multiple of 16: a work-item per sixteen adjacent columns
 * instead of {@link NnKernels}' one per column, so that each row's step is one sixteen-float load
 * rather than a scalar load C floats away from the last. Each lane adds its column's rows in
 * ascending order, as the scalar kernels do: the same sums, term by term.
 */
final class ColumnLanes {

    private ColumnLanes() {
    }

    /** dbias[j] += Σ_i dout[i, j] ({@link NnKernels#nnColumnSums}), columns 16u .. 16u + 15 per work-item u (global c/16). */
    static void nnColumnSumsLanes(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray dbias) {
        int j = ctx.globalIdx * 16;
        int n = ip.get(ColumnSums.N);
        int c = ip.get(ColumnSums.C);
        if (j < c) {
            int doutOff = ip.get(ColumnSums.DOUT) + j;
            Float16 s = splat(0f);
            for (int i = 0; i < n; i++) {
                s = Float16.add(s, load16(dout, doutOff + i * c));
            }
            int d = ip.get(ColumnSums.DBIAS) + j;
            store16(dbias, d, Float16.add(load16(dbias, d), s));
        }
    }

    /**
     * The layernorm parameter gradients ({@link NnKernels#nnLayerNormParams}): dweight[j] += Σ_i
     * dout[i, j]·norm[i, j] (when hasW), dbias[j] += Σ_i dout[i, j] (when hasB), rows ascending, columns
     * 16u .. 16u + 15 per work-item u (global c/16); dweight and dbias through the output slots o0, o1.
     */
    static void nnLayerNormParamsLanes(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray x, FloatArray mean,
                                       FloatArray rstd, FloatArray o0, FloatArray o1) {
        int j = ctx.globalIdx * 16;
        int n = ip.get(LayerNormParams.N);
        int c = ip.get(LayerNormParams.C);
        if (j < c) {
            int doutOff = ip.get(LayerNormParams.DOUT) + j;
            int xOff = ip.get(LayerNormParams.X) + j;
            int meanOff = ip.get(LayerNormParams.MEAN);
            int rstdOff = ip.get(LayerNormParams.RSTD);
            Float16 sw = splat(0f);
            Float16 sb = splat(0f);
            for (int i = 0; i < n; i++) {
                Float16 g = load16(dout, doutOff + i * c);
                sb = Float16.add(sb, g);
                Float16 norm = Float16.mult(Float16.sub(load16(x, xOff + i * c), splat(mean.get(meanOff + i))),
                        splat(rstd.get(rstdOff + i)));
                sw = Float16.add(Float16.mult(g, norm), sw);
            }
            if (ip.get(LayerNormParams.HAS_W) != 0) {
                int dw = ip.get(LayerNormParams.DW) + j;
                int slot = ip.get(LayerNormParams.DW_SLOT);
                Lanes.slotStore16(o0, o1, slot, dw, Float16.add(Lanes.slotLoad16(o0, o1, slot, dw), sw));
            }
            if (ip.get(LayerNormParams.HAS_B) != 0) {
                int db = ip.get(LayerNormParams.DB) + j;
                int slot = ip.get(LayerNormParams.DB_SLOT);
                Lanes.slotStore16(o0, o1, slot, db, Float16.add(Lanes.slotLoad16(o0, o1, slot, db), sb));
            }
        }
    }

    /**
     * The RMSNorm weight gradient's partial column sums ({@link NnKernels#nnRmsNormWeightPartials}):
     * work-item (p, u) (global groups·c/16, u fastest) adds dout[i, j]·(x[i, j]·rstd[i]) for columns
     * j = 16u .. 16u + 15 over its span of rows, ascending, into ws[p·c + j].
     */
    static void nnRmsNormWeightPartialsLanes(KernelContext ctx, IntArray ip, FloatArray dout, FloatArray x, FloatArray rstd,
                                             FloatArray ws) {
        int id = ctx.globalIdx;
        int n = ip.get(RmsNormWeightPartials.N);
        int c = ip.get(RmsNormWeightPartials.C);
        int c16 = c / 16;
        int span = ip.get(RmsNormWeightPartials.SPAN);
        if (id < ip.get(RmsNormWeightPartials.GROUPS) * c16) {
            int p = id / c16;
            int j = (id - p * c16) * 16;
            int from = p * span;
            int to = from + span;
            if (to > n) {
                to = n;
            }
            int doutOff = ip.get(RmsNormWeightPartials.DOUT) + j;
            int xOff = ip.get(RmsNormWeightPartials.X) + j;
            int rstdOff = ip.get(RmsNormWeightPartials.RSTD);
            Float16 acc = splat(0f);
            for (int i = from; i < to; i++) {
                Float16 norm = Float16.mult(load16(x, xOff + i * c), splat(rstd.get(rstdOff + i)));
                acc = Float16.add(Float16.mult(load16(dout, doutOff + i * c), norm), acc);
            }
            int o = ip.get(RmsNormWeightPartials.WS) + p * c + j;
            // lane 0 through put: ws must read as read-write, or TornadoVM drops its copy-in (NnKernels.put)
            NnKernels.put(ws, o, acc.getS0(), n);
            store16(ws, o, acc);
        }
    }
}
