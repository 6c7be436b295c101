package dev.nola.kernels;

import static dev.nola.kernels.Checks.matrix;
import static dev.nola.kernels.Checks.noOverlap;
import static dev.nola.kernels.Checks.notNull;
import static dev.nola.kernels.Checks.positive;
import static dev.nola.kernels.Checks.size;

import java.util.Arrays;

/**
 * The checking layer of {@link NnOps}. Ids and targets are range-checked here without a read-back when
 * the device's record of the values written into them settles it ({@link AbstractDevice#valueRange}),
 * else by reading them. Attention defaults to a composition of strided batched matmuls over the heads
 * (column views of q, k and v, no copies) and the scaled, masked {@link #softmaxForward}; a backend
 * may fuse it.
 */
public abstract class AbstractNnOps extends AbstractFamilyOps implements NnOps {

    protected AbstractNnOps(Device device) {
        super(device);
    }

    // ---------------------------------------------------------------- checks

    /** [rows, cols] of a tensor seen as a matrix over its last axis. */
    private static int[] rowsCols(Tensor t) {
        int[] s = t.shape();
        int cols = s[s.length - 1];
        return new int[] {(int) (t.size() / cols), cols};
    }

    private static void sameShape(String name, Tensor t, String refName, Tensor ref) {
        if (!Arrays.equals(t.shape(), ref.shape())) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(t.shape()) + ", expected "
                    + Arrays.toString(ref.shape()) + " (the shape of " + refName + ")");
        }
    }

    private static int[] rank(String name, Tensor t, int rank, String what) {
        int[] s = t.shape();
        if (s.length != rank) {
            throw new IllegalArgumentException(name + " must have rank " + rank + " (" + what + "), got shape "
                    + Arrays.toString(s));
        }
        return s;
    }

    /**
     * Checks that every value of the int32 tensor lies in [lo, hi) or equals {@code also} (pass lo
     * again for none), reading the values only when the recorded range cannot settle it.
     */
    protected final void checkIds(String name, Tensor ids, int lo, int hi, int also, String what) {
        Checks.onInts(device, name, ids);
        if (device instanceof AbstractDevice d) {
            int[] r = d.valueRange(ids);
            int low = also == lo - 1 ? also : lo;
            int high = also == hi ? hi + 1 : hi;
            if (r[0] >= low && r[1] < high) {
                return;
            }
        }
        int[] v = device.readInts(ids);
        for (int i = 0; i < v.length; i++) {
            if ((v[i] < lo || v[i] >= hi) && v[i] != also) {
                throw new IllegalArgumentException(name + "[" + i + "] = " + v[i] + " is outside [" + lo + ", " + hi + ") ("
                        + what + ")" + (also != lo ? " and is not the ignore index " + also : ""));
            }
        }
    }

    // ---------------------------------------------------------------- encoder

    @Override
    public final void encoderForward(Tensor ids, Tensor wte, Tensor wpe, Tensor out, int t) {
        positive("t", t);
        open();
        int[] d = encoderDims(ids, wte, wpe, t);
        on("out", out);
        matrix("out", out, d[0], d[2], "tokens by channels");
        noOverlap("out", out, "wte", wte);
        noOverlap("out", out, "wpe", wpe);
        doEncoderForward(ids, wte, wpe, out, d[0], t, d[2]);
    }

    @Override
    public final void encoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int t) {
        positive("t", t);
        open();
        int[] d = encoderDims(ids, dwte, dwpe, t);
        on("dout", dout);
        matrix("dout", dout, d[0], d[2], "tokens by channels");
        noOverlap("dwte", dwte, "dout", dout);
        noOverlap("dwpe", dwpe, "dout", dout);
        noOverlap("dwte", dwte, "dwpe", dwpe);
        doEncoderBackward(ids, dout, dwte, dwpe, d[0], t, d[2]);
    }

    /** {N, V, C} after checking ids [N] (N a multiple of t), wte [V, C], wpe [P ≥ t, C]; wte or wpe may be null, not both. */
    private int[] encoderDims(Tensor ids, Tensor wte, Tensor wpe, int t) {
        Checks.onInts(device, "ids", ids);
        long n = ids.size();
        if (n % t != 0) {
            throw new IllegalArgumentException("ids has " + n + " elements, not a multiple of t = " + t + " (B·T tokens)");
        }
        if (wte == null && wpe == null) {
            throw new IllegalArgumentException("wte and wpe are both null; at least one table is needed");
        }
        int v = -1;
        int c;
        if (wte != null) {
            on("wte", wte);
            int[] ws = matrix("wte", wte);
            v = ws[0];
            c = ws[1];
        } else {
            c = matrix("wpe", on("wpe", wpe))[1];
        }
        if (wpe != null) {
            on("wpe", wpe);
            int[] ps = matrix("wpe", wpe);
            if (ps[1] != c || ps[0] < t) {
                throw new IllegalArgumentException("wpe has shape " + Arrays.toString(ps) + ", expected [P >= " + t + ", " + c
                        + "] (positions by channels)");
            }
        }
        if (v > 0) {
            checkIds("ids", ids, 0, v, 0, "the rows of wte");
        }
        return new int[] {(int) n, v, c};
    }

    // ---------------------------------------------------------------- layernorm

    @Override
    public final void layerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                       Tensor rstd) {
        if (!(eps > 0) || Float.isInfinite(eps)) {
            throw new IllegalArgumentException("eps must be finite and > 0, got " + eps);
        }
        open();
        int[] rc = layerNormDims(x, weight, mean, rstd);
        on("bias", bias);
        size("bias", bias, rc[1], "channels");
        on("out", out);
        sameShape("out", out, "x", x);
        for (Tensor in : new Tensor[] {x, weight, bias}) {
            noOverlap("out", out, "an input", in);
            noOverlap("mean", mean, "an input", in);
            noOverlap("rstd", rstd, "an input", in);
        }
        noOverlap("mean", mean, "out", out);
        noOverlap("rstd", rstd, "out", out);
        noOverlap("rstd", rstd, "mean", mean);
        doLayerNormForward(x, weight, bias, eps, out, mean, rstd, rc[0], rc[1]);
    }

    @Override
    public final void layerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                        Tensor dx, Tensor dweight, Tensor dbias) {
        open();
        int[] rc = layerNormDims(x, weight, mean, rstd);
        on("dout", dout);
        sameShape("dout", dout, "x", x);
        on("dx", dx);
        sameShape("dx", dx, "x", x);
        if (dweight != null) {
            on("dweight", dweight);
            size("dweight", dweight, rc[1], "channels");
        }
        if (dbias != null) {
            on("dbias", dbias);
            size("dbias", dbias, rc[1], "channels");
        }
        Tensor[] outs = {dx, dweight, dbias};
        String[] outNames = {"dx", "dweight", "dbias"};
        Tensor[] ins = {dout, x, weight, mean, rstd};
        String[] inNames = {"dout", "x", "weight", "mean", "rstd"};
        Checks.outputsApart(outNames, outs, inNames, ins);
        doLayerNormBackward(dout, x, weight, mean, rstd, dx, dweight, dbias, rc[0], rc[1]);
    }

    /** {rows, channels} after checking x [N, C], weight [C], mean [N], rstd [N]. */
    private int[] layerNormDims(Tensor x, Tensor weight, Tensor mean, Tensor rstd) {
        on("x", x);
        on("weight", weight);
        on("mean", mean);
        on("rstd", rstd);
        int[] rc = rowsCols(x);
        size("weight", weight, rc[1], "channels, the last extent of x");
        size("mean", mean, rc[0], "rows of x");
        size("rstd", rstd, rc[0], "rows of x");
        return rc;
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    public final void geluForward(Gelu kind, Tensor x, Tensor out) {
        notNull("kind", kind);
        open();
        on("x", x);
        on("out", out);
        size("out", out, x.size(), "x.size()");
        Checks.sameOrApart("out", out, "x", x);
        doGeluForward(kind, x, out, x.size());
    }

    @Override
    public final void geluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx) {
        notNull("kind", kind);
        open();
        on("x", x);
        on("dout", dout);
        on("dx", dx);
        size("dout", dout, x.size(), "x.size()");
        size("dx", dx, x.size(), "x.size()");
        noOverlap("dx", dx, "x", x);
        noOverlap("dx", dx, "dout", dout);
        doGeluBackward(kind, x, dout, dx, x.size());
    }

    @Override
    public final void biasForward(Tensor x, Tensor bias) {
        open();
        on("x", x);
        on("bias", bias);
        int[] rc = rowsCols(x);
        size("bias", bias, rc[1], "channels, the last extent of x");
        noOverlap("x", x, "bias", bias);
        doBiasForward(x, bias, rc[0], rc[1]);
    }

    @Override
    public final void biasBackward(Tensor dout, Tensor dbias) {
        open();
        on("dout", dout);
        on("dbias", dbias);
        int[] rc = rowsCols(dout);
        size("dbias", dbias, rc[1], "channels, the last extent of dout");
        noOverlap("dbias", dbias, "dout", dout);
        doBiasBackward(dout, dbias, rc[0], rc[1]);
    }

    @Override
    public final void residualForward(Tensor a, Tensor b, Tensor out) {
        open();
        on("a", a);
        on("b", b);
        on("out", out);
        size("b", b, a.size(), "a.size()");
        size("out", out, a.size(), "a.size()");
        Checks.sameOrApart("out", out, "a", a);
        Checks.sameOrApart("out", out, "b", b);
        doResidualForward(a, b, out, a.size());
    }

    // ---------------------------------------------------------------- softmax

    @Override
    public final void softmaxForward(Tensor x, Tensor out, float scale, boolean causal) {
        Checks.finite("scale", scale);
        open();
        on("x", x);
        on("out", out);
        sameShape("out", out, "x", x);
        Checks.sameOrApart("out", out, "x", x);
        int[] rc = rowsCols(x);
        doSoftmaxForward(x, out, scale, causal, rc[0], rc[1]);
    }

    @Override
    public final void softmaxBackward(Tensor y, Tensor dy, Tensor dx, float scale) {
        Checks.finite("scale", scale);
        open();
        on("y", y);
        on("dy", dy);
        on("dx", dx);
        sameShape("dy", dy, "y", y);
        sameShape("dx", dx, "y", y);
        noOverlap("dx", dx, "y", y);
        Checks.sameOrApart("dx", dx, "dy", dy);
        int[] rc = rowsCols(y);
        doSoftmaxBackward(y, dy, dx, scale, rc[0], rc[1]);
    }

    // ---------------------------------------------------------------- attention

    /** {B, T, C, NH} after checking q, k, v and out [B, T, C], att [B, NH, T, T]. */
    private int[] attentionDims(Tensor q, Tensor k, Tensor v, Tensor att, Tensor out, String outName) {
        on("q", q);
        on("k", k);
        on("v", v);
        on("att", att);
        on(outName, out);
        int[] os = rank(outName, out, 3, "[B, T, C]");
        sameShape("q", q, outName, out);
        sameShape("k", k, outName, out);
        sameShape("v", v, outName, out);
        int b = os[0];
        int t = os[1];
        int c = os[2];
        int[] as = rank("att", att, 4, "[B, NH, T, T]");
        int nh = as[1];
        if (as[0] != b || as[2] != t || as[3] != t || c % nh != 0) {
            throw new IllegalArgumentException("att has shape " + Arrays.toString(as) + ", expected [" + b + ", NH, " + t
                    + ", " + t + "] with NH dividing C = " + c);
        }
        return new int[] {b, t, c, nh};
    }

    @Override
    public final void attentionForward(Tensor q, Tensor k, Tensor v, Tensor att, Tensor out, boolean causal) {
        open();
        int[] d = attentionDims(q, k, v, att, out, "out");
        for (Tensor in : new Tensor[] {q, k, v}) {
            noOverlap("out", out, "an input", in);
            noOverlap("att", att, "an input", in);
        }
        noOverlap("out", out, "att", att);
        doAttentionForward(q, k, v, att, out, causal, d[0], d[1], d[2], d[3]);
    }

    @Override
    public final void attentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor att, Tensor datt,
                                        Tensor dq, Tensor dk, Tensor dv, boolean causal) {
        open();
        int[] d = attentionDims(q, k, v, att, dout, "dout");
        on("datt", datt);
        sameShape("datt", datt, "att", att);
        Tensor[] outs = {datt, dq, dk, dv};
        String[] outNames = {"datt", "dq", "dk", "dv"};
        for (int i = 1; i < outs.length; i++) {
            on(outNames[i], outs[i]);
            sameShape(outNames[i], outs[i], "q", q);
        }
        Tensor[] ins = {dout, q, k, v, att};
        String[] inNames = new String[ins.length];
        java.util.Arrays.fill(inNames, "an input");
        Checks.outputsApart(outNames, outs, inNames, ins);
        doAttentionBackward(dout, q, k, v, att, datt, dq, dk, dv, causal, d[0], d[1], d[2], d[3]);
    }

    // ---------------------------------------------------------------- cross-entropy

    /** {N, V} after checking logits [N, V] and targets [N]. */
    private int[] crossEntropyDims(Tensor logits, Tensor targets, float labelSmoothing, int ignoreIndex) {
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("labelSmoothing must be in [0, 1), got " + labelSmoothing);
        }
        on("logits", logits);
        int[] nv = matrix("logits", logits);
        Checks.onInts(device, "targets", targets);
        size("targets", targets, nv[0], "rows of logits");
        if (ignoreIndex >= 0 && ignoreIndex < nv[1]) {
            throw new IllegalArgumentException("ignoreIndex = " + ignoreIndex + " is a class of the " + nv[1]
                    + " logits; expected a value outside [0, " + nv[1] + "), e.g. -1");
        }
        checkIds("targets", targets, 0, nv[1], ignoreIndex, "the columns of logits");
        return nv;
    }

    @Override
    public final void crossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing,
                                          int ignoreIndex) {
        open();
        int[] nv = crossEntropyDims(logits, targets, labelSmoothing, ignoreIndex);
        on("losses", losses);
        size("losses", losses, nv[0], "rows of logits");
        noOverlap("losses", losses, "logits", logits);
        doCrossEntropyForward(logits, targets, losses, labelSmoothing, ignoreIndex, nv[0], nv[1]);
    }

    @Override
    public final void crossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing,
                                           int ignoreIndex, float lossGradient) {
        Checks.finite("lossGradient", lossGradient);
        open();
        int[] nv = crossEntropyDims(logits, targets, labelSmoothing, ignoreIndex);
        on("dlogits", dlogits);
        sameShape("dlogits", dlogits, "logits", logits);
        Checks.sameOrApart("dlogits", dlogits, "logits", logits);
        doCrossEntropyBackward(logits, targets, dlogits, labelSmoothing, ignoreIndex, lossGradient, nv[0], nv[1]);
    }

    // ---------------------------------------------------------------- pooling

    @Override
    public final void poolForward(Pool kind, Tensor x, Tensor out) {
        notNull("kind", kind);
        open();
        on("x", x);
        on("out", out);
        int[] xs = rank("x", x, 3, "[B, T, C]");
        matrix("out", out, xs[0], xs[2], "batch by channels");
        noOverlap("out", out, "x", x);
        doPoolForward(kind, x, out, xs[0], xs[1], xs[2]);
    }

    @Override
    public final void poolBackward(Pool kind, Tensor dout, Tensor dx) {
        notNull("kind", kind);
        open();
        on("dout", dout);
        on("dx", dx);
        int[] xs = rank("dx", dx, 3, "[B, T, C]");
        matrix("dout", dout, xs[0], xs[2], "batch by channels");
        noOverlap("dx", dx, "dout", dout);
        doPoolBackward(kind, dout, dx, xs[0], xs[1], xs[2]);
    }

    // ---------------------------------------------------------------- kernels

    /** out[n] = wte[ids[n]] + wpe[n mod t] (either table may be null, not both). */
    protected abstract void doEncoderForward(Tensor ids, Tensor wte, Tensor wpe, Tensor out, int n, int t, int c);

    /** dwte[ids[n]] += dout[n], dwpe[n mod t] += dout[n], n ascending; either may be null. */
    protected abstract void doEncoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int n, int t, int c);

    protected abstract void doLayerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                               Tensor rstd, int n, int c);

    protected abstract void doLayerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                                Tensor dx, Tensor dweight, Tensor dbias, int n, int c);

    protected abstract void doGeluForward(Gelu kind, Tensor x, Tensor out, long n);

    protected abstract void doGeluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx, long n);

    protected abstract void doBiasForward(Tensor x, Tensor bias, int n, int c);

    protected abstract void doBiasBackward(Tensor dout, Tensor dbias, int n, int c);

    protected abstract void doResidualForward(Tensor a, Tensor b, Tensor out, long n);

    /** Rows of length l; with causal, row r keeps columns 0 .. r mod l. */
    protected abstract void doSoftmaxForward(Tensor x, Tensor out, float scale, boolean causal, int rows, int l);

    /** dx = s·y·(dy − Σ y·dy) per row, written; dx may be dy. */
    protected abstract void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx, float scale, int rows, int l);

    protected abstract void doCrossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing,
                                                  int ignoreIndex, int n, int v);

    protected abstract void doCrossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing,
                                                   int ignoreIndex, float lossGradient, int n, int v);

    protected abstract void doPoolForward(Pool kind, Tensor x, Tensor out, int b, int t, int c);

    protected abstract void doPoolBackward(Pool kind, Tensor dout, Tensor dx, int b, int t, int c);

    /**
     * Attention as strided batched matmuls over the NH heads of each sequence (head h of q, k, v and
     * out is a column slice: ld = C, a stride of hs between heads) around the scaled, masked softmax.
     */
    protected void doAttentionForward(Tensor q, Tensor k, Tensor v, Tensor att, Tensor out, boolean causal,
                                      int b, int t, int c, int nh) {
        int hs = c / nh;
        long tt = (long) t * t;
        int seq = t * c;
        LinalgOps l = device.linalg();
        for (int s = 0; s < b; s++) {
            long o = (long) s * seq;
            Tensor a = att.view(s * nh * tt, (int) (nh * tt));
            // preatt = q·kᵀ per head: [T, hs]·[hs, T]
            l.matmulBatched(false, true, nh, t, t, hs, 1f, q.view(o, seq), c, hs, k.view(o, seq), c, hs, 0f, a, t, tt);
        }
        softmaxForward(att, att, (float) (1.0 / Math.sqrt(hs)), causal);
        for (int s = 0; s < b; s++) {
            long o = (long) s * seq;
            Tensor a = att.view(s * nh * tt, (int) (nh * tt));
            // out = att·v per head, heads side by side in out
            l.matmulBatched(false, false, nh, t, hs, t, 1f, a, t, tt, v.view(o, seq), c, hs, 0f, out.view(o, seq), c, hs);
        }
    }

    /**
     * Backward of the composed attention: datt = dout·vᵀ, dv += attᵀ·dout, dpre = softmax backward
     * (into datt), dq += dpre·k, dk += dpreᵀ·q; all per head as strided batched matmuls.
     */
    protected void doAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor att, Tensor datt,
                                       Tensor dq, Tensor dk, Tensor dv, boolean causal, int b, int t, int c, int nh) {
        int hs = c / nh;
        long tt = (long) t * t;
        int seq = t * c;
        LinalgOps l = device.linalg();
        for (int s = 0; s < b; s++) {
            long o = (long) s * seq;
            Tensor a = att.view(s * nh * tt, (int) (nh * tt));
            Tensor da = datt.view(s * nh * tt, (int) (nh * tt));
            Tensor go = dout.view(o, seq);
            l.matmulBatched(false, true, nh, t, t, hs, 1f, go, c, hs, v.view(o, seq), c, hs, 0f, da, t, tt);
            l.matmulBatched(true, false, nh, t, hs, t, 1f, a, t, tt, go, c, hs, 1f, dv.view(o, seq), c, hs);
        }
        softmaxBackward(att, datt, datt, (float) (1.0 / Math.sqrt(hs)));
        for (int s = 0; s < b; s++) {
            long o = (long) s * seq;
            Tensor da = datt.view(s * nh * tt, (int) (nh * tt));
            l.matmulBatched(false, false, nh, t, hs, t, 1f, da, t, tt, k.view(o, seq), c, hs, 1f, dq.view(o, seq), c, hs);
            l.matmulBatched(true, false, nh, t, hs, t, 1f, da, t, tt, q.view(o, seq), c, hs, 1f, dk.view(o, seq), c, hs);
        }
    }
}
