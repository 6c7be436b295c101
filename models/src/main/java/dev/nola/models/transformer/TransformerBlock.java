package dev.nola.models.transformer;

import dev.nola.adapter.Adapter;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.AttentionSpec;
import dev.nola.models.spec.BlockSpec;
import dev.nola.models.spec.LinearSpec;
import dev.nola.models.spec.MlpSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One pre-norm transformer block of any {@link BlockSpec}, forward and backward on the op contract in
 * the manner of llm.c:
 * <pre>
 *   h   = x + out(attention(rope(q), rope(k), v))     q, k, v = projections of norm1(x)
 *   out = h + down(act(up(norm2(h))))                 act: GELU, or silu(gate(norm2(h)))·up(…)
 * </pre>
 * Its parts come from the spec: LayerNorm or RMSNorm, fused or separate q/k/v in either weight layout,
 * fewer KV heads than query heads, rotary embedding or none, causal or not, GELU or SwiGLU. An adapter
 * (NOLA or LoRA) may sit on any linear layer that the spec names as a site; it adds into that layer's
 * output. With no gradients given the base is frozen and no weight gradient is ever computed.
 *
 * <p>What the forward pass keeps for the backward pass lives in buffers of this block, allocated once
 * per (B, T); the backward pass's temporaries live in the {@link Scratch} the whole stack shares.
 */
public final class TransformerBlock implements AutoCloseable {

    private final Device device;
    private final BlockSpec spec;
    private final Norm norm1;
    private final Norm norm2;
    private final AdaptedLinear q;
    private final AdaptedLinear k;
    private final AdaptedLinear v;
    private final AdaptedLinear o;
    private final AdaptedLinear gate;
    private final AdaptedLinear up;
    private final AdaptedLinear down;
    private final Map<String, Adapter> adapters = new LinkedHashMap<>();
    private final Rope rope;
    private Activations act;

    /**
     * @param grads    the gradients of the weights (pretraining), or null to freeze the base
     * @param adapters adapters by site name; this block takes those of its own sites
     * @param rope     the rotary tables when the spec has a rotary embedding, else null
     */
    TransformerBlock(Device device, BlockSpec spec, DeviceWeights weights, DeviceWeights grads,
                     Map<String, ? extends Adapter> adapters, Rope rope) {
        this.device = device;
        this.spec = spec;
        this.norm1 = Norm.of(spec.norm1(), weights, grads);
        this.norm2 = Norm.of(spec.norm2(), weights, grads);
        AttentionSpec a = spec.attention();
        MlpSpec m = spec.mlp();
        this.q = linear(a.q(), weights, grads, adapters);
        this.k = linear(a.k(), weights, grads, adapters);
        this.v = linear(a.v(), weights, grads, adapters);
        this.o = linear(a.out(), weights, grads, adapters);
        this.gate = m.gate() == null ? null : linear(m.gate(), weights, grads, adapters);
        this.up = linear(m.up(), weights, grads, adapters);
        this.down = linear(m.down(), weights, grads, adapters);
        if ((a.rope() == null) != (rope == null)) {
            throw new IllegalArgumentException("block " + spec.layer() + ": rotary tables given where the spec has "
                    + (a.rope() == null ? "none" : "a rotary embedding"));
        }
        this.rope = rope;
    }

    private AdaptedLinear linear(LinearSpec s, DeviceWeights w, DeviceWeights g, Map<String, ? extends Adapter> adapters) {
        Adapter ad = s.adaptable() ? adapters.get(s.site()) : null;
        if (ad != null) {
            this.adapters.put(s.site(), ad);
        }
        return AdaptedLinear.of(s, w, g, ad);
    }

    /** The rotary embedding's cos and sin tables [P, headDim / 2] on the device. */
    record Rope(Tensor cos, Tensor sin, int headDim) {
    }

    /**
     * The widths of a block at one (B, T), and the planar buffers its activations and their gradients
     * share a layout of: q, k, v side by side as [N·(NH·hd + 2·KVH·hd)], viewed as [B, T, width] each; an
     * MLP's up(x) (and gate(x) before it, for SwiGLU) as [1 or 2, N, I].
     */
    private static final class Shape {
        final int b;
        final int t;
        final int n;
        final int c;
        final int heads;
        final int wq;
        final int wkv;
        final int inner;
        final boolean glu;

        Shape(BlockSpec s, int b, int t) {
            AttentionSpec a = s.attention();
            this.b = b;
            this.t = t;
            this.n = b * t;
            this.c = a.q().in();
            this.heads = a.heads();
            this.wq = a.heads() * a.headDim();
            this.wkv = a.kvHeads() * a.headDim();
            this.inner = s.mlp().up().out();
            this.glu = s.mlp().gate() != null;
        }

        Tensor qkv(Device d) {
            return d.allocate(Math.multiplyExact(n, wq + 2 * wkv));
        }

        Tensor q(Tensor qkv) {
            return qkv.view(0, b, t, wq);
        }

        Tensor k(Tensor qkv) {
            return qkv.view((long) n * wq, b, t, wkv);
        }

        Tensor v(Tensor qkv) {
            return qkv.view((long) n * (wq + wkv), b, t, wkv);
        }

        Tensor mlp(Device d) {
            return d.allocate(glu ? 2 : 1, n, inner);
        }

        Tensor gate(Tensor mlp) {
            return glu ? mlp.view(0, n, inner) : null;
        }

        Tensor up(Tensor mlp) {
            return glu ? mlp.view((long) n * inner, n, inner) : mlp.reshape(n, inner);
        }
    }

    /** What the forward pass of one (B, T) keeps for the backward pass. */
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
        /** The fused attention's row log-sum-exp [B, NH, T]: all the backward needs of the probabilities. */
        final Tensor lse;
        final Tensor atty;
        final Tensor h;
        final Tensor ln2;
        final Tensor mean2;
        final Tensor rstd2;
        /** GELU: up(x); SwiGLU: gate(x) and up(x) side by side, [2, N, I]. */
        final Tensor fc;
        final Tensor gateOut;
        final Tensor upOut;
        /** act(…), the down projection's input. */
        final Tensor fcAct;

        /** The stack's scratch that ln2 and fcAct borrow from when backward does not read them (null: none). */
        final Scratch shared;
        private final List<Tensor> owned = new java.util.ArrayList<>();

        /**
         * @param shared       the stack's scratch, or null to allocate everything here
         * @param sharedLn2    when ln2 (the MLP's input) may live in shared's dln: no MLP projection reads it in backward
         * @param sharedFcAct  when act(…) (the down projection's input) may live in shared's dfcAct: down does not read it
         */
        Activations(Device d, BlockSpec s, int b, int t, Scratch shared, boolean sharedLn2, boolean sharedFcAct) {
            this.b = b;
            this.t = t;
            this.shared = shared;
            Shape z = new Shape(s, b, t);
            ln1 = own(d.allocate(z.n, z.c));
            mean1 = own(d.allocate(z.n));
            rstd1 = own(d.allocate(z.n));
            qkv = own(z.qkv(d));
            q = z.q(qkv);
            k = z.k(qkv);
            v = z.v(qkv);
            lse = own(d.allocate(b, z.heads, t));
            atty = own(d.allocate(b, t, z.wq));
            h = own(d.allocate(z.n, z.c));
            // Written and read within the forward alone when backward does not read them: the scratch
            // the backward uses later holds them meanwhile (GPT-2 124M: 94 MB less for a 4 × 128 step).
            ln2 = borrowOrOwn(d, shared != null && sharedLn2 ? shared.dln : null, z.n, z.c);
            mean2 = own(d.allocate(z.n));
            rstd2 = own(d.allocate(z.n));
            fc = own(z.mlp(d));
            gateOut = z.gate(fc);
            upOut = z.up(fc);
            fcAct = borrowOrOwn(d, shared != null && sharedFcAct ? shared.dfcAct : null, z.n, z.inner);
        }

        private Tensor own(Tensor x) {
            owned.add(x);
            return x;
        }

        /** {@code lend} if it has the shape, else a tensor of this block's own. */
        private Tensor borrowOrOwn(Device d, Tensor lend, int... shape) {
            return lend != null && java.util.Arrays.equals(lend.shape(), shape) ? lend : own(d.allocate(shape));
        }

        @Override
        public void close() {
            owned.forEach(Tensor::close);
        }
    }

    /**
     * The backward pass's temporaries, shared by every block of a stack (one block runs backward at a
     * time), allocated once per (B, T).
     */
    static final class Scratch implements AutoCloseable {
        final int b;
        final int t;
        final Tensor dln;
        final Tensor dqkv;
        final Tensor dq;
        final Tensor dk;
        final Tensor dv;
        final Tensor dh;
        final Tensor datty;
        /** The gradient of up(x) (GELU), or of gate(x) and up(x) side by side (SwiGLU). */
        final Tensor dfc;
        final Tensor dgate;
        final Tensor dup;
        final Tensor dfcAct;

        Scratch(Device d, BlockSpec s, int b, int t) {
            this.b = b;
            this.t = t;
            Shape z = new Shape(s, b, t);
            dln = d.allocate(z.n, z.c);
            dqkv = z.qkv(d);
            dq = z.q(dqkv);
            dk = z.k(dqkv);
            dv = z.v(dqkv);
            dh = d.allocate(z.n, z.c);
            datty = d.allocate(b, t, z.wq);
            dfc = z.mlp(d);
            dgate = z.gate(dfc);
            dup = z.up(dfc);
            dfcAct = d.allocate(z.n, z.inner);
        }

        @Override
        public void close() {
            for (Tensor x : new Tensor[] {dln, dqkv, dh, datty, dfc, dfcAct}) {
                x.close();
            }
        }
    }

    /** This block's activations for (B, T), borrowing from {@code shared} (the stack's scratch; null: none). */
    private Activations activations(int b, int t, Scratch shared) {
        if (act == null || act.b != b || act.t != t || act.shared != shared) {
            if (act != null) {
                act.close();
            }
            boolean mlpReads = up.readsInput() || (gate != null && gate.readsInput());
            act = new Activations(device, spec, b, t, shared, !mlpReads, !down.readsInput());
        }
        return act;
    }

    /** A [B, T, W] tensor as [N, W]. */
    private static Tensor rows(Tensor t) {
        return t.reshape(t.dim(0) * t.dim(1), t.dim(2));
    }

    /**
     * atty = attention(q, k, v), the fused op: only the row log-sum-exp is kept for the backward pass,
     * nothing of size T × T.
     */
    private void attend(Activations a, boolean causal) {
        device.nn().fusedAttentionForward(a.q, a.k, a.v, a.atty, a.lse, causal);
    }

    /**
     * Forward: {@code out = block(x)}.
     *
     * @param x   [B·T, C], the residual stream in (kept for the backward pass: do not change it)
     * @param out [B·T, C], written; must not overlap x
     */
    public void forward(Tensor x, Tensor out, int b, int t) {
        forward(x, out, b, t, null);
    }

    /**
     * {@link #forward(Tensor, Tensor, int, int)} keeping what the backward pass does not read in
     * {@code shared}, the scratch the stack's blocks share (of this (B, T)); the next block's forward and
     * the backward overwrite it.
     */
    void forward(Tensor x, Tensor out, int b, int t, Scratch shared) {
        Activations a = activations(b, t, shared);
        NnOps nn = device.nn();
        AttentionSpec as = spec.attention();
        projectQkv(x, a, null, null);
        rope(a.q, a.k, 0);
        attend(a, as.causal());
        outputAndMlp(x, a, out, null, null);
    }

    /** norm1, then q, k and v (and their adapters; with {@code ra}, each row's own too). */
    private void projectQkv(Tensor x, Activations a, RowAdapters ra, Tensor h) {
        norm1.forward(device, x, a.ln1, a.mean1, a.rstd1);
        q.forward(device, a.ln1, rows(a.q), ra, h);
        k.forward(device, a.ln1, rows(a.k), ra, h);
        v.forward(device, a.ln1, rows(a.v), ra, h);
    }

    /** The rotary embedding of q and k [B, T, ·] at positions pos0 … (nothing without one). */
    private void rope(Tensor q, Tensor k, int pos0) {
        if (rope != null) {
            device.nn().ropeForward(q, rope.cos(), rope.sin(), rope.headDim(), pos0, q);
            device.nn().ropeForward(k, rope.cos(), rope.sin(), rope.headDim(), pos0, k);
        }
    }

    /** After attention: h = x + out(atty), then out = h + down(act(…norm2(h))). */
    private void outputAndMlp(Tensor x, Activations a, Tensor out, RowAdapters ra, Tensor hs) {
        NnOps nn = device.nn();
        o.forward(device, rows(a.atty), a.h, ra, hs);
        nn.residualForward(a.h, x, a.h);
        norm2.forward(device, a.h, a.ln2, a.mean2, a.rstd2);
        switch (spec.mlp().activation()) {
            case GELU_TANH, GELU_ERF -> {
                up.forward(device, a.ln2, a.upOut, ra, hs);
                nn.geluForward(gelu(), a.upOut, a.fcAct);
            }
            case SWIGLU -> {
                gate.forward(device, a.ln2, a.gateOut, ra, hs);
                up.forward(device, a.ln2, a.upOut, ra, hs);
                nn.swigluForward(a.gateOut, a.upOut, a.fcAct);
            }
        }
        down.forward(device, a.fcAct, out, ra, hs);
        nn.residualForward(out, a.h, out);
    }

    /**
     * Inference with a KV cache: {@code out = block(x)} for {@code t} new positions of each of B
     * sequences, starting at position {@code cache.length()}; their keys and values are appended to
     * the cache (layer {@code layer}). A prefill (cache empty) runs attention as {@link #forward} does;
     * a decode step (t = 1) attends over every cached position with batched products and a softmax.
     * Nothing is kept for a backward pass.
     *
     * @param ra adapters per row ({@link RowAdapters}), or null for the block's own alone
     * @param h  scratch for {@code ra}'s low-rank activations (N·max rank floats), or null without ra
     */
    void forwardCached(Tensor x, Tensor out, int b, int t, KvCache cache, int layer, RowAdapters ra, Tensor h) {
        int pos0 = cache.length();
        if (pos0 > 0 && t != 1) {
            throw new IllegalArgumentException("a cached step after the prefill takes one position, got " + t);
        }
        Activations a = activations(b, t, null);
        AttentionSpec as = spec.attention();
        projectQkv(x, a, ra, h);
        rope(a.q, a.k, pos0);
        int wkv = as.kvHeads() * as.headDim();
        int cap = cache.capacity();
        Tensor kc = cache.keys(layer);
        Tensor vc = cache.values(layer);
        for (int s = 0; s < b; s++) {
            long at = ((long) s * cap + pos0) * wkv;
            device.copy(a.k.view((long) s * t * wkv, t * wkv), kc.view(at, t * wkv));
            device.copy(a.v.view((long) s * t * wkv, t * wkv), vc.view(at, t * wkv));
        }
        if (pos0 == 0) {
            attend(a, as.causal());
        } else {
            for (int s = 0; s < b; s++) {
                attendCached(a, s, cache, s, layer, pos0 + 1);
            }
        }
        outputAndMlp(x, a, out, ra, h);
    }

    /**
     * One decode step of B independent sequences, one new token each, each with its own KV cache
     * (batch 1) and its own length: the projections and the MLP run once over all B rows (with the
     * rows' adapters, {@code ra}); each row's rotary embedding, key/value append and attention use its
     * own position and cache. Row s's logits equal what a {@link #forwardCached} of that sequence alone
     * gives, up to the batch's effect on matmul blocking.
     *
     * @param x      [B, C], row s is sequence s's new position
     * @param out    [B, C], written
     * @param caches B caches of batch 1, row s's holds its {@code length()} positions so far
     */
    void forwardDecode(Tensor x, Tensor out, List<KvCache> caches, int layer, RowAdapters ra, Tensor h) {
        int b = caches.size();
        Activations a = activations(b, 1, null);
        AttentionSpec as = spec.attention();
        projectQkv(x, a, ra, h);
        int wq = as.heads() * as.headDim();
        int wkv = as.kvHeads() * as.headDim();
        for (int s = 0; s < b; s++) {
            KvCache c = caches.get(s);
            int pos = c.length();
            rope(a.q.view((long) s * wq, 1, 1, wq), a.k.view((long) s * wkv, 1, 1, wkv), pos);
            device.copy(a.k.view((long) s * wkv, wkv), c.keys(layer).view((long) pos * wkv, wkv));
            device.copy(a.v.view((long) s * wkv, wkv), c.values(layer).view((long) pos * wkv, wkv));
            attendCached(a, s, c, 0, layer, pos + 1);
        }
        outputAndMlp(x, a, out, ra, h);
    }

    /**
     * Attention of row s's one query against the first {@code tk} cached positions of sequence
     * {@code cs} of a cache; query heads g·j .. g·j + g − 1 read KV head j. Writes row s of atty.
     */
    private void attendCached(Activations a, int s, KvCache cache, int cs, int layer, int tk) {
        AttentionSpec as = spec.attention();
        int wq = as.heads() * as.headDim();
        int wkv = as.kvHeads() * as.headDim();
        int hd = as.headDim();
        int g = as.heads() / as.kvHeads();
        int cap = cache.capacity();
        Tensor scores = cache.scores().view((long) cs * as.heads() * cap, as.heads() * tk).reshape(as.heads(), tk);
        device.linalg().matmulBatched(false, true, as.kvHeads(), g, tk, hd, 1f, a.q.view((long) s * wq, wq), hd,
                (long) g * hd, cache.keys(layer).view((long) cs * cap * wkv, tk * wkv), wkv, hd, 0f, scores, tk, (long) g * tk);
        device.nn().softmaxForward(scores, scores, (float) (1.0 / Math.sqrt(hd)), false);
        device.linalg().matmulBatched(false, false, as.kvHeads(), g, hd, tk, 1f, scores, tk, (long) g * tk,
                cache.values(layer).view((long) cs * cap * wkv, tk * wkv), wkv, hd, 0f, a.atty.view((long) s * wq, wq), hd,
                (long) g * hd);
    }

    private NnOps.Gelu gelu() {
        return spec.mlp().activation() == MlpSpec.Activation.GELU_ERF ? NnOps.Gelu.ERF : NnOps.Gelu.TANH;
    }

    /**
     * Backward of the last {@link #forward}: adapter gradients and (when the base trains) weight
     * gradients are accumulated; {@code dx} is written with dL/dx.
     *
     * @param x    the forward's input
     * @param dout [B·T, C], dL/dout (read only)
     * @param dx   [B·T, C], written; may not overlap dout
     * @param s    the stack's scratch, of the forward's (B, T)
     */
    void backward(Tensor x, Tensor dout, Tensor dx, Scratch s) {
        if (act == null) {
            throw new IllegalStateException("backward called before forward");
        }
        Activations a = act;
        NnOps nn = device.nn();
        var fill = device.linalg();
        // out = h + down(act(…)): dh = dout + (the MLP path)
        device.copy(dout, s.dh);
        fill.fill(s.dfcAct, 0f);
        down.backward(device, a.fcAct, dout, s.dfcAct);
        fill.fill(s.dfc, 0f);
        fill.fill(s.dln, 0f);
        switch (spec.mlp().activation()) {
            case GELU_TANH, GELU_ERF -> {
                nn.geluBackward(gelu(), a.upOut, s.dfcAct, s.dup);
                up.backward(device, a.ln2, s.dup, s.dln);
            }
            case SWIGLU -> {
                nn.swigluBackward(a.gateOut, a.upOut, s.dfcAct, s.dgate, s.dup);
                gate.backward(device, a.ln2, s.dgate, s.dln);
                up.backward(device, a.ln2, s.dup, s.dln);
            }
        }
        norm2.backward(device, s.dln, a.h, a.mean2, a.rstd2, s.dh);
        // h = x + out(atty): dx = dh + (the attention path)
        device.copy(s.dh, dx);
        Tensor datty = rows(s.datty);
        fill.fill(datty, 0f);
        o.backward(device, rows(a.atty), s.dh, datty);
        fill.fill(s.dqkv, 0f);
        nn.fusedAttentionBackward(s.datty, a.q, a.k, a.v, a.atty, a.lse, s.dq, s.dk, s.dv, spec.attention().causal());
        if (rope != null) {
            nn.ropeBackward(s.dq, rope.cos(), rope.sin(), rope.headDim(), 0, s.dq);
            nn.ropeBackward(s.dk, rope.cos(), rope.sin(), rope.headDim(), 0, s.dk);
        }
        fill.fill(s.dln, 0f);
        Tensor dq = rows(s.dq);
        Tensor dk = rows(s.dk);
        Tensor dv = rows(s.dv);
        // the adapters' input gradients before the projections', the order the block has always summed dln in
        q.backwardAdapter(dq, s.dln);
        k.backwardAdapter(dk, s.dln);
        v.backwardAdapter(dv, s.dln);
        q.backwardBase(device, a.ln1, dq, s.dln);
        k.backwardBase(device, a.ln1, dk, s.dln);
        v.backwardBase(device, a.ln1, dv, s.dln);
        norm1.backward(device, s.dln, x, a.mean1, a.rstd1, dx);
    }

    /** The spec. */
    public BlockSpec spec() {
        return spec;
    }

    /** This block's adapters by site name, in site order. */
    public Map<String, Adapter> adapters() {
        return adapters;
    }

    /** Frees the activation buffers (weights, gradients, adapters and scratch belong to the caller). */
    @Override
    public void close() {
        if (act != null) {
            act.close();
            act = null;
        }
    }
}
