package dev.nola.models.transformer;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import java.util.List;
import java.util.Map;

/**
 * One pre-LN transformer block, written once for GPT-2 (causal, tanh GELU) and a ViT (non-causal, erf
 * GELU), forward and backward on the op contract, in the manner of llm.c:
 * <pre>
 *   h   = x + proj(attention(q, k, v))      q, k, v = ln_1(x)·W_attn + b (three column slices)
 *   out = h + fc2(gelu(fc(ln_2(h))))
 * </pre>
 * Low-rank adapters (NOLA or LoRA) may sit on q and v (the paper's GPT-2 setting) and on the MLP's
 * fc and fc2 (NOLA-MLP); they add into the outputs of those projections. With {@code grads} null the
 * base weights are frozen and their gradients are never computed; with grads given (pretraining) every
 * weight gradient is accumulated there.
 *
 * <p>Activations live in buffers this block allocates once per (B, T) and keeps; the forward pass
 * keeps what the backward pass needs ([N, C] and [N, 4C] tensors and the attention matrix
 * [B, NH, T, T]).
 */
public final class TransformerBlock implements AutoCloseable {

    /** Adapter slots: the projections an adapter may sit on. */
    public static final String Q = "q";
    public static final String V = "v";
    public static final String FC = "fc";
    public static final String FC2 = "fc2";
    /** Every slot, in the order parameters are listed. */
    public static final List<String> SLOTS = List.of(Q, V, FC, FC2);

    private final Device device;
    private final BlockWeights w;
    private final BlockWeights grads;
    private final int c;
    private final int heads;
    private final boolean causal;
    private final NnOps.Gelu gelu;
    private final float eps;
    private final Map<String, Adapter> adapters;
    private Activations act;

    /**
     * @param weights  the block's weights, on device
     * @param grads    their gradients (accumulated by {@link #backward}), or null to freeze the base
     * @param heads    NH, dividing C
     * @param causal   mask the future (GPT-2) or not (ViT)
     * @param gelu     the GELU form
     * @param eps      layernorm epsilon
     * @param adapters adapters by slot ({@link #Q}, {@link #V}, {@link #FC}, {@link #FC2}); may be empty
     */
    public TransformerBlock(Device device, BlockWeights weights, BlockWeights grads, int heads, boolean causal,
                            NnOps.Gelu gelu, float eps, Map<String, Adapter> adapters) {
        this.device = Checks.notNull("device", device);
        this.w = Checks.notNull("weights", weights);
        this.grads = grads;
        this.c = weights.ln1Weight().dim(0);
        this.heads = Checks.positive("heads", heads);
        if (c % heads != 0) {
            throw new IllegalArgumentException("heads = " + heads + " does not divide the width C = " + c);
        }
        this.causal = causal;
        this.gelu = Checks.notNull("gelu", gelu);
        this.eps = eps;
        this.adapters = Map.copyOf(Checks.notNull("adapters", adapters));
        for (String slot : this.adapters.keySet()) {
            if (!SLOTS.contains(slot)) {
                throw new IllegalArgumentException("adapter slot '" + slot + "' is not one of q, v, fc, fc2");
            }
        }
    }

    /** The activation buffers of one (B, T). */
    private static final class Activations implements AutoCloseable {
        final int b;
        final int t;
        final Tensor ln1;
        final Tensor mean1;
        final Tensor rstd1;
        final Tensor qkv;
        final Tensor q;
        final Tensor k;
        final Tensor v;
        final Tensor att;
        final Tensor atty;
        final Tensor h;
        final Tensor ln2;
        final Tensor mean2;
        final Tensor rstd2;
        final Tensor fc;
        final Tensor fcGelu;
        // backward scratch
        final Tensor dln;
        final Tensor dqkv;
        final Tensor dq;
        final Tensor dk;
        final Tensor dv;
        final Tensor datt;
        final Tensor dh;
        final Tensor datty;
        final Tensor dfc;
        final Tensor dfcGelu;

        Activations(Device d, int b, int t, int c, int heads) {
            this.b = b;
            this.t = t;
            int n = b * t;
            ln1 = d.allocate(n, c);
            mean1 = d.allocate(n);
            rstd1 = d.allocate(n);
            qkv = d.allocate(3, b, t, c);
            q = qkv.view(0, b, t, c);
            k = qkv.view((long) n * c, b, t, c);
            v = qkv.view(2L * n * c, b, t, c);
            att = d.allocate(b, heads, t, t);
            atty = d.allocate(b, t, c);
            h = d.allocate(n, c);
            ln2 = d.allocate(n, c);
            mean2 = d.allocate(n);
            rstd2 = d.allocate(n);
            fc = d.allocate(n, 4 * c);
            fcGelu = d.allocate(n, 4 * c);
            dln = d.allocate(n, c);
            dqkv = d.allocate(3, b, t, c);
            dq = dqkv.view(0, b, t, c);
            dk = dqkv.view((long) n * c, b, t, c);
            dv = dqkv.view(2L * n * c, b, t, c);
            datt = d.allocate(b, heads, t, t);
            dh = d.allocate(n, c);
            datty = d.allocate(b, t, c);
            dfc = d.allocate(n, 4 * c);
            dfcGelu = d.allocate(n, 4 * c);
        }

        @Override
        public void close() {
            for (Tensor x : new Tensor[] {ln1, mean1, rstd1, qkv, att, atty, h, ln2, mean2, rstd2, fc, fcGelu, dln,
                    dqkv, datt, dh, datty, dfc, dfcGelu}) {
                x.close();
            }
        }
    }

    private Activations activations(int b, int t) {
        if (act == null || act.b != b || act.t != t) {
            if (act != null) {
                act.close();
            }
            act = new Activations(device, b, t, c, heads);
        }
        return act;
    }

    private Conv1d qProj() {
        return Conv1d.slice(w.attnWeight(), w.attnBias(), 0, c);
    }

    private Conv1d kProj() {
        return Conv1d.slice(w.attnWeight(), w.attnBias(), c, c);
    }

    private Conv1d vProj() {
        return Conv1d.slice(w.attnWeight(), w.attnBias(), 2 * c, c);
    }

    /** A [B, T, C] tensor as [N, C]. */
    private static Tensor rows(Tensor t) {
        return t.reshape(t.dim(0) * t.dim(1), t.dim(2));
    }

    /**
     * Forward: {@code out = block(x)}.
     *
     * @param x   [B·T, C], the residual stream in (kept for the backward pass: do not change it)
     * @param out [B·T, C], written; must not overlap x
     */
    public void forward(Tensor x, Tensor out, int b, int t) {
        Activations a = activations(b, t);
        NnOps nn = device.nn();
        nn.layerNormForward(x, w.ln1Weight(), w.ln1Bias(), eps, a.ln1, a.mean1, a.rstd1);
        Tensor q = rows(a.q);
        Tensor v = rows(a.v);
        qProj().forward(device, a.ln1, q);
        kProj().forward(device, a.ln1, rows(a.k));
        vProj().forward(device, a.ln1, v);
        adapt(Q, a.ln1, q);
        adapt(V, a.ln1, v);
        nn.attentionForward(a.q, a.k, a.v, a.att, a.atty, causal);
        Conv1d proj = Conv1d.of(w.projWeight(), w.projBias());
        proj.forward(device, rows(a.atty), a.h);
        nn.residualForward(a.h, x, a.h);
        nn.layerNormForward(a.h, w.ln2Weight(), w.ln2Bias(), eps, a.ln2, a.mean2, a.rstd2);
        Conv1d.of(w.fcWeight(), w.fcBias()).forward(device, a.ln2, a.fc);
        adapt(FC, a.ln2, a.fc);
        nn.geluForward(gelu, a.fc, a.fcGelu);
        Conv1d.of(w.fc2Weight(), w.fc2Bias()).forward(device, a.fcGelu, out);
        adapt(FC2, a.fcGelu, out);
        nn.residualForward(out, a.h, out);
    }

    private void adapt(String slot, Tensor in, Tensor y) {
        Adapter ad = adapters.get(slot);
        if (ad != null) {
            ad.forward(in, y);
        }
    }

    private void adaptBack(String slot, Tensor dy, Tensor dx) {
        Adapter ad = adapters.get(slot);
        if (ad != null) {
            ad.backward(dy, dx);
        }
    }

    /**
     * Backward of the last {@link #forward}: adapter gradients and (when not frozen) weight gradients
     * are accumulated; {@code dx} is written with dL/dx.
     *
     * @param x    the forward's input
     * @param dout [B·T, C], dL/dout (read only)
     * @param dx   [B·T, C], written; may not overlap dout
     */
    public void backward(Tensor x, Tensor dout, Tensor dx) {
        if (act == null) {
            throw new IllegalStateException("backward called before forward");
        }
        Activations a = act;
        NnOps nn = device.nn();
        BlockWeights g = grads;
        // out = h + fc2(gelu(fc(ln2(h)))): dh = dout + (the MLP path)
        device.copy(dout, a.dh);
        device.linalg().fill(a.dfcGelu, 0f);
        Conv1d.of(w.fc2Weight(), w.fc2Bias()).backward(device, a.fcGelu, dout, a.dfcGelu,
                g == null ? null : g.fc2Weight(), g == null ? null : g.fc2Bias());
        adaptBack(FC2, dout, a.dfcGelu);
        device.linalg().fill(a.dfc, 0f);
        nn.geluBackward(gelu, a.fc, a.dfcGelu, a.dfc);
        device.linalg().fill(a.dln, 0f);
        Conv1d.of(w.fcWeight(), w.fcBias()).backward(device, a.ln2, a.dfc, a.dln,
                g == null ? null : g.fcWeight(), g == null ? null : g.fcBias());
        adaptBack(FC, a.dfc, a.dln);
        nn.layerNormBackward(a.dln, a.h, w.ln2Weight(), a.mean2, a.rstd2, a.dh,
                g == null ? null : g.ln2Weight(), g == null ? null : g.ln2Bias());
        // h = x + proj(atty): dx = dh + (the attention path)
        device.copy(a.dh, dx);
        Tensor datty = rows(a.datty);
        device.linalg().fill(datty, 0f);
        Conv1d.of(w.projWeight(), w.projBias()).backward(device, rows(a.atty), a.dh, datty,
                g == null ? null : g.projWeight(), g == null ? null : g.projBias());
        device.linalg().fill(a.dqkv, 0f);
        nn.attentionBackward(a.datty, a.q, a.k, a.v, a.att, a.datt, a.dq, a.dk, a.dv, causal);
        device.linalg().fill(a.dln, 0f);
        Tensor dq = rows(a.dq);
        Tensor dv = rows(a.dv);
        adaptBack(Q, dq, a.dln);
        adaptBack(V, dv, a.dln);
        Tensor dWattn = g == null ? null : g.attnWeight();
        Tensor dBattn = g == null ? null : g.attnBias();
        qProj().backward(device, a.ln1, dq, a.dln, dWattn, dBattn);
        kProj().backward(device, a.ln1, rows(a.dk), a.dln, dWattn, dBattn);
        vProj().backward(device, a.ln1, dv, a.dln, dWattn, dBattn);
        nn.layerNormBackward(a.dln, x, w.ln1Weight(), a.mean1, a.rstd1, dx,
                g == null ? null : g.ln1Weight(), g == null ? null : g.ln1Bias());
    }

    /** The adapters by slot. */
    public Map<String, Adapter> adapters() {
        return adapters;
    }

    /** Adds the parameters of this block's adapters to {@code set}, in slot order. */
    public void addAdapterParameters(ParameterSet set) {
        for (String slot : SLOTS) {
            Adapter a = adapters.get(slot);
            if (a != null) {
                set.addAll(a.parameterSet());
            }
        }
    }

    /** Frees the activation buffers (weights, grads and adapters belong to the caller). */
    @Override
    public void close() {
        if (act != null) {
            act.close();
            act = null;
        }
    }
}
