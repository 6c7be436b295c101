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
 * else by reading them.
 *
 * <p>The LLaMA family's kernels (RMSNorm, RoPE, SwiGLU) are hooks that throw
 * {@link UnsupportedOperationException} naming the op and the device unless a backend overrides
 * them: only so that a backend written before them (TornadoVM's) still compiles; the reference, cpu
 * and opencl backends override every one.
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
        int[] d = encoderDims(ids, wte, wpe, t, true);
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
        int[] d = encoderDims(ids, dwte, dwpe, t, false);
        on("dout", dout);
        matrix("dout", dout, d[0], d[2], "tokens by channels");
        noOverlap("dwte", dwte, "dout", dout);
        noOverlap("dwpe", dwpe, "dout", dout);
        noOverlap("dwte", dwte, "dwpe", dwpe);
        doEncoderBackward(ids, dout, dwte, dwpe, d[0], t, d[2]);
    }

    /**
     * {N, V, C} after checking ids [N] (N a multiple of t), wte [V, C], wpe [P ≥ t, C]; wte or wpe may be
     * null, not both; wte may be bfloat16 when {@code halfTable} (the forward's frozen table).
     */
    private int[] encoderDims(Tensor ids, Tensor wte, Tensor wpe, int t, boolean halfTable) {
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
            if (halfTable) {
                Checks.onWeight(device, "wte", wte);
            } else {
                on("dwte", wte);
            }
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
        epsilon(eps);
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

    private static void epsilon(float eps) {
        if (!(eps > 0) || Float.isInfinite(eps)) {
            throw new IllegalArgumentException("eps must be finite and > 0, got " + eps);
        }
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
        elementwise("a", a, "b", b, out);
        doResidualForward(a, b, out, a.size());
    }

    /**
     * The checks of an elementwise op of two inputs: every tensor this device's and open, {@code b} and
     * {@code out} of {@code a}'s size, {@code out} either one of the inputs itself or apart from both.
     */
    private void elementwise(String aName, Tensor a, String bName, Tensor b, Tensor out) {
        open();
        on(aName, a);
        on(bName, b);
        on("out", out);
        size(bName, b, a.size(), aName + ".size()");
        size("out", out, a.size(), aName + ".size()");
        Checks.sameOrApart("out", out, aName, a);
        Checks.sameOrApart("out", out, bName, b);
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

    /**
     * {B, T, C, NH} (C = q's width, NH·hs) after checking q and out (or dout, named {@code outName})
     * [B, T, C], lse [B, NH, T] with NH dividing C, and k and v [B, T, KVH·hs] with KVH dividing NH,
     * v the shape of k.
     */
    private int[] attentionDims(Tensor q, Tensor k, Tensor v, Tensor lse, Tensor out, String outName) {
        on("q", q);
        on("k", k);
        on("v", v);
        on("lse", lse);
        on(outName, out);
        int[] os = rank(outName, out, 3, "[B, T, NH·hs]");
        sameShape("q", q, outName, out);
        int b = os[0];
        int t = os[1];
        int c = os[2];
        int[] ls = rank("lse", lse, 3, "[B, NH, T]");
        int nh = ls[1];
        if (ls[0] != b || ls[2] != t || c % nh != 0) {
            throw new IllegalArgumentException("lse has shape " + Arrays.toString(ls) + ", expected [" + b + ", NH, " + t
                    + "] with NH dividing C = " + c);
        }
        keyValueShape("k", k, outName, os, nh);
        keyValueShape("v", v, outName, os, nh);
        sameShape("v", v, "k", k);
        return new int[] {b, t, c, nh};
    }

    /** Checks that k or v is [B, T, KVH·hs] with KVH dividing NH (hs = C / NH; KVH = NH: q's shape). */
    private static void keyValueShape(String name, Tensor t, String outName, int[] os, int nh) {
        int[] s = t.shape();
        int hs = os[2] / nh;
        if (s.length != 3 || s[0] != os[0] || s[1] != os[1] || s[2] % hs != 0 || nh % (s[2] / hs) != 0) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(s) + ", expected " + Arrays.toString(os)
                    + " (the shape of " + outName + ") or [" + os[0] + ", " + os[1] + ", KVH·" + hs + "] with KVH dividing NH = "
                    + nh + " (grouped-query attention; hs = " + os[2] + " / " + nh + ")");
        }
    }

    @Override
    public final void fusedAttentionForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean causal) {
        open();
        int[] d = attentionDims(q, k, v, lse, out, "out");
        forwardOutputsApart(q, k, v, out, lse);
        doFusedAttentionForward(q, k, v, out, lse, causal, d[0], d[1], d[2], d[3]);
    }

    @Override
    public final void fusedAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                             Tensor dq, Tensor dk, Tensor dv, boolean causal) {
        open();
        int[] d = attentionDims(q, k, v, lse, dout, "dout");
        on("out", out);
        sameShape("out", out, "q", q);
        gradientsApart(new String[] {"dq", "dk", "dv"}, new Tensor[] {dq, dk, dv}, new String[] {"q", "k", "v"},
                new Tensor[] {q, k, v}, new Tensor[] {dout, q, k, v, out, lse});
        doFusedAttentionBackward(dout, q, k, v, out, lse, dq, dk, dv, causal, d[0], d[1], d[2], d[3]);
    }

    /** The forward's out and lse overlap neither each other nor q, k, v. */
    private void forwardOutputsApart(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        for (Tensor in : new Tensor[] {q, k, v}) {
            noOverlap("out", out, "an input", in);
            noOverlap("lse", lse, "an input", in);
        }
        noOverlap("out", out, "lse", lse);
    }

    /**
     * A backward's gradients: each on this device with the shape of the tensor it is the gradient
     * of, none overlapping another or any of {@code ins}.
     */
    private void gradientsApart(String[] names, Tensor[] grads, String[] likeNames, Tensor[] like, Tensor[] ins) {
        for (int i = 0; i < grads.length; i++) {
            on(names[i], grads[i]);
            sameShape(names[i], grads[i], likeNames[i], like[i]);
        }
        String[] inNames = new String[ins.length];
        Arrays.fill(inNames, "an input");
        Checks.outputsApart(names, grads, inNames, ins);
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

    // ---------------------------------------------------------------- RMSNorm, RoPE, SwiGLU

    @Override
    public final void rmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        epsilon(eps);
        open();
        int[] rc = rmsNormDims(x, weight, rstd);
        on("out", out);
        sameShape("out", out, "x", x);
        Checks.outputsApart(new String[] {"out", "rstd"}, new Tensor[] {out, rstd}, new String[] {"x", "weight"},
                new Tensor[] {x, weight});
        doRmsNormForward(x, weight, eps, out, rstd, rc[0], rc[1]);
    }

    @Override
    public final void rmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight) {
        open();
        int[] rc = rmsNormDims(x, weight, rstd);
        on("dout", dout);
        sameShape("dout", dout, "x", x);
        on("dx", dx);
        sameShape("dx", dx, "x", x);
        if (dweight != null) {
            on("dweight", dweight);
            size("dweight", dweight, rc[1], "channels");
        }
        Checks.outputsApart(new String[] {"dx", "dweight"}, new Tensor[] {dx, dweight},
                new String[] {"dout", "x", "weight", "rstd"}, new Tensor[] {dout, x, weight, rstd});
        doRmsNormBackward(dout, x, weight, rstd, dx, dweight, rc[0], rc[1]);
    }

    /** {rows, channels} after checking x [N, C], weight [C], rstd [N]. */
    private int[] rmsNormDims(Tensor x, Tensor weight, Tensor rstd) {
        on("x", x);
        on("weight", weight);
        on("rstd", rstd);
        int[] rc = rowsCols(x);
        size("weight", weight, rc[1], "channels, the last extent of x");
        size("rstd", rstd, rc[0], "rows of x");
        return rc;
    }

    @Override
    public final void ropeForward(Tensor x, Tensor cos, Tensor sin, int headDim, int pos0, Tensor out) {
        rope("x", x, cos, sin, headDim, pos0, "out", out, false);
    }

    @Override
    public final void ropeBackward(Tensor dout, Tensor cos, Tensor sin, int headDim, int pos0, Tensor dx) {
        rope("dout", dout, cos, sin, headDim, pos0, "dx", dx, true);
    }

    /** The checks of both RoPE directions: in [B, T, W], the tables [P ≥ pos0 + T, headDim / 2], out in's shape. */
    private void rope(String inName, Tensor in, Tensor cos, Tensor sin, int headDim, int pos0, String outName, Tensor out,
                      boolean transpose) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("headDim must be even and > 0, got " + headDim);
        }
        Checks.nonNegative("pos0", pos0);
        open();
        on(inName, in);
        on("cos", cos);
        on("sin", sin);
        on(outName, out);
        int[] xs = rank(inName, in, 3, "[B, T, W]");
        if (xs[2] % headDim != 0) {
            throw new IllegalArgumentException(inName + " has shape " + Arrays.toString(xs) + ": its width W = " + xs[2]
                    + " is not a multiple of headDim = " + headDim + " (W = heads·headDim)");
        }
        int[] cs = Checks.matrix("cos", cos);
        if (cs[1] != headDim / 2) {
            throw new IllegalArgumentException("cos has shape " + Arrays.toString(cs) + ", expected [P, " + headDim / 2
                    + "] (positions by headDim / 2)");
        }
        sameShape("sin", sin, "cos", cos);
        if ((long) pos0 + xs[1] > cs[0]) {
            throw new IllegalArgumentException("pos0 + T = " + pos0 + " + " + xs[1] + " exceeds the P = " + cs[0]
                    + " positions of cos and sin");
        }
        sameShape(outName, out, inName, in);
        Checks.sameOrApart(outName, out, inName, in);
        noOverlap(outName, out, "cos", cos);
        noOverlap(outName, out, "sin", sin);
        doRope(in, cos, sin, out, transpose, xs[0] * xs[1], xs[1], xs[2], headDim, pos0);
    }

    @Override
    public final void swigluForward(Tensor gate, Tensor up, Tensor out) {
        elementwise("gate", gate, "up", up, out);
        doSwigluForward(gate, up, out, gate.size());
    }

    @Override
    public final void swigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup) {
        open();
        on("gate", gate);
        on("up", up);
        on("dout", dout);
        on("dgate", dgate);
        on("dup", dup);
        size("up", up, gate.size(), "gate.size()");
        size("dout", dout, gate.size(), "gate.size()");
        size("dgate", dgate, gate.size(), "gate.size()");
        size("dup", dup, gate.size(), "gate.size()");
        Checks.outputsApart(new String[] {"dgate", "dup"}, new Tensor[] {dgate, dup}, new String[] {"gate", "up", "dout"},
                new Tensor[] {gate, up, dout});
        doSwigluBackward(gate, up, dout, dgate, dup, gate.size());
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
     * The attention's forward; c is q's width (NH·hs), k and v are [B, T, KVH·hs] (KVH = k's width /
     * hs, dividing NH), lse [B, NH, T].
     */
    protected abstract void doFusedAttentionForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean causal,
                                                    int b, int t, int c, int nh);

    /** The attention's backward, arguments as {@link #doFusedAttentionForward}. */
    protected abstract void doFusedAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                                     Tensor dq, Tensor dk, Tensor dv, boolean causal, int b, int t, int c,
                                                     int nh);

    /** The exception of a LLaMA-family hook that a backend has not implemented yet. */
    private UnsupportedOperationException notYet(String op) {
        return new UnsupportedOperationException(op + " is not implemented on " + device.id() + " yet");
    }

    /** out = (x·rstd)·w per row of c, rstd = 1/√(Σx²/c + eps) written; overridden by every backend but tornado's. */
    protected void doRmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd, int n, int c) {
        throw notYet("rmsNormForward");
    }

    /** dx += rstd·(dn − norm·mean(dn·norm)), dweight += Σ dout·norm (dweight may be null). */
    protected void doRmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight, int n,
                                     int c) {
        throw notYet("rmsNormBackward");
    }

    /**
     * Both RoPE directions over rows of w = heads·headDim, row r at position pos0 + r mod t: the forward
     * rotation, or with {@code transpose} its transpose (the forward with sin negated, the same bits);
     * out is written and may be in itself.
     */
    protected void doRope(Tensor in, Tensor cos, Tensor sin, Tensor out, boolean transpose, int rows, int t, int w,
                          int headDim, int pos0) {
        throw notYet(transpose ? "ropeBackward" : "ropeForward");
    }

    /** out = silu(gate)·up elementwise; out may be gate or up. */
    protected void doSwigluForward(Tensor gate, Tensor up, Tensor out, long n) {
        throw notYet("swigluForward");
    }

    /** dgate += dout·up·silu'(gate), dup += dout·silu(gate). */
    protected void doSwigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup, long n) {
        throw notYet("swigluBackward");
    }
}
