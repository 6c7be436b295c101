package dev.nola.models.lm;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.CrossEntropyLoss;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.transformer.KvCache;
import dev.nola.models.transformer.TransformerStack;
import dev.nola.models.transformer.WeightPrecision;
import java.util.Map;

/**
 * A decoder-only language model on the op contract — GPT-2 and the LLaMA family alike, as their
 * {@link CausalLmSpec} describes them: token embedding (plus learned positions where the spec has
 * them), the {@link TransformerStack}, and the output head (tied to the embedding or its own), trained
 * by masked next-token cross-entropy. Forward and backward are explicit (llm.c style), with buffers
 * allocated once per (B, T).
 *
 * <p>Fine-tuning: the base is frozen (no weight gradient is ever computed) and adapters sit on the
 * spec's sites; {@link #trainable()} is the adapters' parameters. Pretraining ({@code trainBase}): every
 * weight has a gradient tensor and is trainable. A step reads back the per-token losses of the batch
 * (B·T floats) and nothing else.
 */
public final class CausalLm implements AutoCloseable {

    /** Targets of masked positions (prompt tokens, padding): they take no part in the loss. */
    public static final int IGNORE = CrossEntropyLoss.IGNORE;

    private final Device device;
    private final CausalLmSpec spec;
    private final DeviceWeights w;
    private final TransformerStack stack;
    private final CrossEntropyLoss loss;
    private Buffers buf;
    private float labelSmoothing;

    /**
     * @param weights   the weights on device, by the spec's table (the model does not close them)
     * @param trainBase whether the base weights get gradients (pretraining) or stay frozen (fine-tuning)
     * @param adapters  adapters by site name ({@code h.{i}.attn.q}, …); may be empty
     */
    public CausalLm(Device device, CausalLmSpec spec, DeviceWeights weights, boolean trainBase,
                    Map<String, ? extends Adapter> adapters) {
        this.device = Checks.notNull("device", device);
        this.spec = Checks.notNull("spec", spec);
        this.w = Checks.notNull("weights", weights);
        if (weights.table() != spec.model().weights() && !weights.table().shapes().keySet()
                .equals(spec.model().weights().shapes().keySet())) {
            throw new IllegalArgumentException("the weights are not of this model's table");
        }
        this.stack = new TransformerStack(device, spec.model(), weights, trainBase, adapters);
        this.loss = new CrossEntropyLoss(device);
    }

    /**
     * Fresh weights of a spec (seeded), on the device: normal draws in table order, each tensor's pairs
     * of uniforms giving two values (as GPT-2's initialisation has always drawn). The caller closes them.
     */
    public static DeviceWeights randomWeights(Device d, CausalLmSpec spec, long seed) {
        return randomWeights(d, spec, seed, WeightPrecision.F32);
    }

    /**
     * {@link #randomWeights(Device, CausalLmSpec, long)} with the frozen matrices held as {@code precision}
     * says ({@link WeightPrecision#halfWeights}; the same draws, rounded), for a frozen base.
     */
    public static DeviceWeights randomWeights(Device d, CausalLmSpec spec, long seed, WeightPrecision precision) {
        var table = spec.model().weights();
        return DeviceWeights.random(d, table, seed, table.list().stream().map(w -> w.name()).toList(),
                DeviceWeights.Sampler.BOX_MULLER_PAIRS, precision.halfWeights(spec, false));
    }

    /** The spec. */
    public CausalLmSpec spec() {
        return spec;
    }

    /** The device. */
    public Device device() {
        return device;
    }

    /** The adapters by site name. */
    public Map<String, Adapter> adapters() {
        return stack.adapters();
    }

    /** What an optimizer steps: the adapters' parameters, and with trainBase every weight too. */
    public ParameterSet trainable() {
        return stack.trainable();
    }
    /**
     * The label smoothing ε of the loss: each counted row's target distribution is (1 − ε) on its
     * target plus ε/V on every token, as PyTorch's {@code F.cross_entropy(label_smoothing = ε)}.
     * 0 (plain cross-entropy) until set.
     */
    public float labelSmoothing() {
        return labelSmoothing;
    }

    /**
     * Sets the label smoothing ε in [0, 1) for the next {@link #forward(int[], int[], int, int)} and
     * its {@link #backward()}; see {@link #labelSmoothing()}.
     */
    public CausalLm labelSmoothing(float epsilon) {
        if (!(epsilon >= 0 && epsilon < 1)) {
            throw new IllegalArgumentException("label smoothing is " + epsilon + "; expected a number in [0, 1)");
        }
        this.labelSmoothing = epsilon;
        return this;
    }

    /** Sets every gradient of {@link #trainable()} to zero. */
    public void zeroGradients() {
        trainable().zeroGradients();
    }

    private static final class Buffers implements AutoCloseable {
        final int b;
        final int t;
        final Tensor ids;
        final Tensor logits;
        /** A zero position table [T, C] for models without learned positions (the embedding op adds one). */
        final Tensor noPositions;
        final Tensor dnoPositions;

        Buffers(Device d, CausalLmSpec spec, boolean trainBase, int b, int t) {
            this.b = b;
            this.t = t;
            int n = b * t;
            int c = spec.model().width();
            ids = d.allocate(DType.INT32, n);
            logits = d.allocate(n, spec.vocabulary());
            noPositions = spec.positionEmbedding() == null ? d.allocate(t, c) : null;
            dnoPositions = spec.positionEmbedding() == null && trainBase ? d.allocate(t, c) : null;
        }

        @Override
        public void close() {
            for (Tensor x : new Tensor[] {ids, logits, noPositions, dnoPositions}) {
                if (x != null) {
                    x.close();
                }
            }
        }
    }

    private Buffers buffers(int b, int t) {
        Checks.positive("b", b);
        Checks.positive("t", t);
        if (t > spec.positions()) {
            throw new IllegalArgumentException("sequence length " + t + " exceeds the model's " + spec.positions()
                    + " positions");
        }
        if (buf == null || buf.b != b || buf.t != t) {
            if (buf != null) {
                buf.close();
            }
            buf = new Buffers(device, spec, stack.trainsBase(), b, t);
        }
        return buf;
    }

    /**
     * Forward pass to the logits of every position ([B·T, V], see {@link #logits()}).
     *
     * @param ids token ids [B·T], row-major by sequence, each in [0, V)
     */
    public void forward(int[] ids, int b, int t) {
        Checks.notNull("ids", ids);
        if (ids.length != b * t) {
            throw new IllegalArgumentException("ids has " + ids.length + " tokens, expected b·t = " + b * t);
        }
        Buffers s = buffers(b, t);
        device.write(s.ids, ids);
        Tensor x = stack.input(b, t);
        device.nn().encoderForward(s.ids, w.get(spec.tokenEmbedding()), positions(s), x, t);
        stack.forward();
        device.linalg().matmul(false, true, 1f, stack.normed(), w.get(spec.headWeight()), 0f, s.logits);
    }

    /**
     * A KV cache for generating up to {@code capacity} positions (prompt included, at most the model's
     * positions) for each of B sequences; the caller closes it.
     */
    public KvCache newCache(int b, int capacity) {
        if (capacity > spec.positions()) {
            throw new IllegalArgumentException("a KV cache of " + capacity + " positions exceeds the model's " + spec.positions());
        }
        return stack.newCache(b, capacity);
    }

    /**
     * Generation step with a KV cache: the logits of {@code t} new positions of each of B sequences
     * (row-major by sequence), which follow the {@code cache.length()} positions already cached; their
     * keys and values are appended. The first call (an empty cache) takes the prompts; later calls one
     * token each (t = 1). Returns the logits [B·t, V] ({@link #logits()}).
     */
    public Tensor forwardCached(int[] ids, int b, int t, KvCache cache) {
        Checks.notNull("ids", ids);
        Checks.notNull("cache", cache);
        if (ids.length != b * t) {
            throw new IllegalArgumentException("ids has " + ids.length + " tokens, expected b·t = " + b * t);
        }
        int pos0 = cache.length();
        Buffers s = buffers(b, t);
        device.write(s.ids, ids);
        Tensor x = stack.input(b, t);
        Tensor positions = positions(s);
        if (spec.positionEmbedding() != null) {
            // learned positions: rows pos0 .. pos0 + t − 1 of the table
            int c = spec.model().width();
            positions = positions.view((long) pos0 * c, (spec.positions() - pos0) * c).reshape(spec.positions() - pos0, c);
        }
        device.nn().encoderForward(s.ids, w.get(spec.tokenEmbedding()), positions, x, t);
        stack.forwardCached(cache);
        device.linalg().matmul(false, true, 1f, stack.normed(), w.get(spec.headWeight()), 0f, s.logits);
        return s.logits;
    }

    /**
     * Forward pass and the mean next-token cross-entropy (with the {@link #labelSmoothing()} set)
     * over the positions whose target is not {@link #IGNORE}.
     *
     * @param targets [B·T], each in [0, V) or {@link #IGNORE}; at least one counted
     * @return the mean loss (reads B·T floats back)
     */
    public double forward(int[] ids, int[] targets, int b, int t) {
        forwardLoss(ids, targets, b, t);
        return loss();
    }

    /**
     * {@link #forward(int[], int[], int, int)} without reading anything back: the per-token losses stay
     * on the device until {@link #loss()} (so a whole step, forward to optimizer, can run as one
     * {@link dev.nola.kernels.Device#capture captured} unit).
     */
    public void forwardLoss(int[] ids, int[] targets, int b, int t) {
        CrossEntropyLoss.countTargets(targets, b * t);
        forward(ids, b, t);
        loss.forward(buf.logits, targets, labelSmoothing);
    }

    /**
     * The mean loss of the last forward with targets (reads B·T floats back); still valid after
     * {@link #backward()}.
     */
    public double loss() {
        return loss.mean();
    }

    /**
     * Backward of the last {@link #forward(int[], int[], int, int)}: accumulates the gradients of
     * {@link #trainable()}. The logits buffer is overwritten by their gradient.
     */
    public void backward() {
        Buffers s = buf;
        if (s == null) {
            throw new IllegalStateException("backward needs a forward with targets first");
        }
        NnOps nn = device.nn();
        loss.backward(s.logits);
        // logits = normed·headᵀ: dnormed = dlogits·head, dhead += dlogitsᵀ·normed
        String head = spec.headWeight();
        device.linalg().matmul(false, false, 1f, s.logits, w.get(head), 0f, stack.normedGradient());
        Tensor dhead = stack.gradient(head);
        if (dhead != null) {
            device.linalg().matmul(true, false, 1f, s.logits, stack.normed(), 1f, dhead);
        }
        Tensor dout = stack.backward();
        if (stack.trainsBase()) {
            Tensor dpos = spec.positionEmbedding() == null ? s.dnoPositions : stack.gradient(spec.positionEmbedding());
            nn.encoderBackward(s.ids, dout, stack.gradient(spec.tokenEmbedding()), dpos, s.t);
        }
    }

    /**
     * The gradient of the last {@link #backward()}'s loss with respect to the embedding output (token
     * plus position embedding, the first block's input), [B·T, C]; computed with a frozen base too.
     * Valid until the next backward.
     */
    public Tensor inputGradient() {
        return stack.inputGradient();
    }

    /** The logits of the last forward pass, [B·T, V] (until the next backward overwrites them). */
    public Tensor logits() {
        if (buf == null) {
            throw new IllegalStateException("no forward pass yet");
        }
        return buf.logits;
    }

    private Tensor positions(Buffers s) {
        return spec.positionEmbedding() == null ? s.noPositions : w.get(spec.positionEmbedding());
    }

    /** Frees the activation buffers and the gradients (the weights and adapters belong to the caller). */
    @Override
    public void close() {
        stack.close();
        loss.close();
        if (buf != null) {
            buf.close();
            buf = null;
        }
    }
}
