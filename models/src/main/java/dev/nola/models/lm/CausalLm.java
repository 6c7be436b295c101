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
import dev.nola.models.transformer.RowAdapters;
import dev.nola.models.transformer.TransformerStack;
import dev.nola.models.transformer.WeightPrecision;
import java.util.List;
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
    private final LmHead head;
    private Buffers buf;
    /** The logits of the last forward that asked for them ([rows, V]), grown as needed; null before. */
    private Tensor logits;
    /** What {@link #logits()} holds now: the rows of the last logits forward, or 0 when a loss forward came since. */
    private int logitsRows;
    /** Whether the last forward computed dL/d(normed) for {@link #backward()}. */
    private boolean gradientReady;
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
        this.head = new LmHead(device, spec.vocabulary());
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

    /**
     * Rows of logits the loss computes at once (the [B·T, V] logits of a training step never exist
     * whole; see {@link LmHead}); 0 (the default) takes them from a 32 MiB budget per block.
     */
    public CausalLm headBlockRows(int rows) {
        head.rows(rows);
        return this;
    }

    private static final class Buffers implements AutoCloseable {
        final int b;
        final int t;
        final Tensor ids;
        /** A zero position table [T, C] for models without learned positions (the embedding op adds one). */
        final Tensor noPositions;
        final Tensor dnoPositions;

        Buffers(Device d, CausalLmSpec spec, boolean trainBase, int b, int t) {
            this.b = b;
            this.t = t;
            int n = b * t;
            int c = spec.model().width();
            ids = d.allocate(DType.INT32, n);
            noPositions = spec.positionEmbedding() == null ? d.allocate(t, c) : null;
            dnoPositions = spec.positionEmbedding() == null && trainBase ? d.allocate(t, c) : null;
        }

        @Override
        public void close() {
            for (Tensor x : new Tensor[] {ids, noPositions, dnoPositions}) {
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
        embedAndRun(ids, b, t);
        device.linalg().matmul(false, true, 1f, stack.normed(), w.get(spec.headWeight()), 0f, logits(b * t));
    }

    /**
     * Forward pass to the logits of the last position of each sequence only ([B, V], see
     * {@link #logits()}): what generation without a cache needs, at 1/T of the head's work.
     */
    public void forwardLast(int[] ids, int b, int t) {
        embedAndRun(ids, b, t);
        head.logits(stack.normed(), t - 1, t, w.get(spec.headWeight()), logits(b));
    }

    /** Writes the ids, embeds them and runs the stack to {@link TransformerStack#normed()}. */
    private void embedAndRun(int[] ids, int b, int t) {
        Buffers s = embed(ids, b, t);
        device.nn().encoderForward(s.ids, w.get(spec.tokenEmbedding()), positions(s), stack.input(b, t), t);
        stack.forward();
    }

    private Buffers embed(int[] ids, int b, int t) {
        Checks.notNull("ids", ids);
        if (ids.length != b * t) {
            throw new IllegalArgumentException("ids has " + ids.length + " tokens, expected b·t = " + b * t);
        }
        Buffers s = buffers(b, t);
        device.write(s.ids, ids);
        gradientReady = false;
        return s;
    }

    /** The logits buffer viewed as [rows, V], grown when needed; {@link #logits()} then shows those rows. */
    private Tensor logits(int rows) {
        int v = spec.vocabulary();
        if (logits == null || logits.dim(0) < rows) {
            if (logits != null) {
                logits.close();
            }
            logits = device.allocate(rows, v);
        }
        logitsRows = rows;
        return logits.dim(0) == rows ? logits : logits.view(0, rows, v);
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
     * token each (t = 1). Returns the logits of the last new position of each sequence, [B, V]
     * ({@link #logits()}): generation picks from those alone, so the head runs on B rows, not B·t.
     */
    public Tensor forwardCached(int[] ids, int b, int t, KvCache cache) {
        return forwardCached(ids, b, t, cache, null);
    }

    /**
     * {@link #forwardCached(int[], int, int, KvCache)} with low-rank updates per row besides the
     * model's own adapters: a server's prefill of one request under its adapter is
     * {@code RowAdapters.single(t, adapters)} with b = 1.
     *
     * @param rows which of the B·t rows get which factors, or null
     */
    public Tensor forwardCached(int[] ids, int b, int t, KvCache cache, RowAdapters rows) {
        Checks.notNull("cache", cache);
        int pos0 = cache.length();
        Buffers s = embed(ids, b, t);
        Tensor x = stack.input(b, t);
        device.nn().encoderForward(s.ids, w.get(spec.tokenEmbedding()), positionsFrom(s, pos0), x, t);
        stack.forwardCached(cache, rows);
        Tensor out = logits(b);
        head.logits(stack.normed(), t - 1, t, w.get(spec.headWeight()), out);
        return out;
    }

    /**
     * One decode step of B independent sequences, each with its own KV cache (batch 1, prefilled by
     * {@link #forwardCached}) at its own length: ids[s] is sequence s's next token. The base runs once
     * over the B rows; {@code rows} gives each row its adapter (continuous batching: whichever
     * sequences are running). Appends one position to every cache. Returns the logits [B, V]
     * ({@link #logits()}): row s is what sequence s decoded alone would give.
     */
    public Tensor forwardDecode(int[] ids, List<KvCache> caches, RowAdapters rows) {
        Checks.notNull("ids", ids);
        Checks.notNull("caches", caches);
        int b = ids.length;
        if (caches.size() != b) {
            throw new IllegalArgumentException("ids has " + b + " tokens for " + caches.size() + " caches; expected one token per cache");
        }
        Buffers s = embed(ids, b, 1);
        Tensor x = stack.input(b, 1);
        Tensor wte = w.get(spec.tokenEmbedding());
        if (spec.positionEmbedding() == null) {
            device.nn().encoderForward(s.ids, wte, s.noPositions, x, 1);
        } else {
            int c = spec.model().width();
            for (int i = 0; i < b; i++) {
                device.nn().encoderForward(s.ids.view(i, 1), wte, positionsFrom(s, caches.get(i).length()),
                        x.view((long) i * c, 1, c), 1);
            }
        }
        stack.forwardDecode(caches, rows);
        Tensor out = logits(b);
        head.logits(stack.normed(), 0, 1, w.get(spec.headWeight()), out);
        return out;
    }

    /** The position table from row pos0 on (learned positions), or the zero table. */
    private Tensor positionsFrom(Buffers s, int pos0) {
        Tensor positions = positions(s);
        if (spec.positionEmbedding() != null) {
            int c = spec.model().width();
            positions = positions.view((long) pos0 * c, (spec.positions() - pos0) * c).reshape(spec.positions() - pos0, c);
        }
        return positions;
    }

    /**
     * Forward pass and the mean next-token cross-entropy (with the {@link #labelSmoothing()} set)
     * over the positions whose target is not {@link #IGNORE}, ready for {@link #backward()} (see
     * {@link #forwardLoss}).
     *
     * @param targets [B·T], each in [0, V) or {@link #IGNORE}; at least one counted
     * @return the mean loss (reads B·T floats back)
     */
    public double forward(int[] ids, int[] targets, int b, int t) {
        forwardLoss(ids, targets, b, t);
        return loss();
    }

    /**
     * The mean loss as {@link #forward(int[], int[], int, int)}, for evaluation: no gradient is
     * prepared (the head runs once), and no {@link #backward()} may follow.
     */
    public double evaluate(int[] ids, int[] targets, int b, int t) {
        lossForward(ids, targets, b, t, false);
        return loss();
    }

    /**
     * {@link #forward(int[], int[], int, int)} without reading anything back: the per-token losses stay
     * on the device until {@link #loss()} (so a whole step, forward to optimizer, can run as one
     * {@link dev.nola.kernels.Device#capture captured} unit).
     *
     * <p>The head and the loss run fused in row blocks ({@link LmHead}), so the [B·T, V] logits are never
     * held and {@link #logits()} is not available after it; the head's backward runs here too, block by
     * block: dL/d(normed) is kept for {@link #backward()}, and when the head trains (pretraining) its
     * gradient is accumulated now, so gradients are zeroed before this call, not between it and
     * {@link #backward()}.
     */
    public void forwardLoss(int[] ids, int[] targets, int b, int t) {
        lossForward(ids, targets, b, t, true);
    }

    private void lossForward(int[] ids, int[] targets, int b, int t, boolean gradient) {
        loss.prepare(targets, b * t, labelSmoothing); // bad targets cost no forward pass
        embedAndRun(ids, b, t);
        logitsRows = 0;
        String h = spec.headWeight();
        head.loss(stack.normed(), w.get(h), loss, gradient ? stack.normedGradient() : null,
                gradient ? stack.gradient(h) : null);
        gradientReady = gradient;
    }

    /**
     * The mean loss of the last forward with targets (reads B·T floats back); still valid after
     * {@link #backward()}.
     */
    public double loss() {
        return loss.mean();
    }

    /**
     * Backward of the last {@link #forwardLoss} (or {@link #forward(int[], int[], int, int)}):
     * accumulates the gradients of {@link #trainable()}, from the dL/d(normed) that forward left.
     */
    public void backward() {
        Buffers s = buf;
        if (s == null || !gradientReady) {
            throw new IllegalStateException("backward needs a forward with targets (forwardLoss) first");
        }
        gradientReady = false;
        NnOps nn = device.nn();
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

    /**
     * The logits of the last forward pass that computed them: [B·T, V] after {@link #forward(int[], int, int)},
     * [B, V] after {@link #forwardLast} and {@link #forwardCached}. A loss forward keeps none.
     */
    public Tensor logits() {
        if (logitsRows == 0) {
            throw new IllegalStateException("no logits: the last forward was a loss forward (which keeps none) or there was none");
        }
        int v = spec.vocabulary();
        return logits.dim(0) == logitsRows ? logits : logits.view(0, logitsRows, v);
    }

    private Tensor positions(Buffers s) {
        return spec.positionEmbedding() == null ? s.noPositions : w.get(spec.positionEmbedding());
    }

    /** Frees the activation buffers and the gradients (the weights and adapters belong to the caller). */
    @Override
    public void close() {
        stack.close();
        loss.close();
        head.close();
        if (logits != null) {
            logits.close();
            logits = null;
        }
        if (buf != null) {
            buf.close();
            buf = null;
        }
    }
}
