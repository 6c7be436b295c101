package dev.nola.models.gpt2;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.optim.Parameter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import dev.nola.models.transformer.BlockWeights;
import dev.nola.models.transformer.TransformerBlock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * GPT-2 on the op contract: token and position embedding, L pre-LN causal blocks with tanh GELU, a
 * final layernorm and the output head tied to the token embedding, trained by next-token
 * cross-entropy. Forward and backward are explicit (llm.c style), with activation buffers allocated
 * once per (B, T).
 *
 * <p>Fine-tuning: the base is frozen (no weight gradient is ever computed) and adapters sit in the
 * blocks; {@link #trainable()} is the adapters' parameters. Pretraining ({@code trainBase}): every
 * weight has a gradient tensor and is trainable. A step reads back the per-token losses of the batch
 * (B·T floats) and nothing else.
 */
public final class Gpt2Model implements AutoCloseable {

    /** Targets of masked positions (prompt tokens, padding): they take no part in the loss. */
    public static final int IGNORE = -1;

    /**
     * The shape of a GPT-2.
     *
     * @param vocab     V
     * @param positions P, the longest sequence
     * @param layers    L
     * @param heads     NH
     * @param width     C, divisible by NH
     * @param eps       layernorm epsilon
     */
    public record Dims(int vocab, int positions, int layers, int heads, int width, float eps) {
        public Dims {
            Checks.positive("vocab", vocab);
            Checks.positive("positions", positions);
            Checks.positive("layers", layers);
            Checks.positive("heads", heads);
            Checks.positive("width", width);
            if (width % heads != 0) {
                throw new IllegalArgumentException("width " + width + " is not divisible by heads " + heads);
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("eps must be > 0, got " + eps);
            }
        }
    }

    /** The weights, in Hugging Face's layout. */
    public record Weights(Tensor wte, Tensor wpe, List<BlockWeights> blocks, Tensor lnfWeight, Tensor lnfBias) {
    }

    private final Device device;
    private final Dims dims;
    private final Weights w;
    private final Weights grads;
    private final List<TransformerBlock> blocks = new ArrayList<>();
    private final List<Map<String, Adapter>> adapters;
    private Buffers buf;
    private float labelSmoothing;

    /**
     * @param weights   the weights on device (the model does not close them)
     * @param trainBase whether the base weights get gradients (pretraining) or stay frozen (fine-tuning)
     * @param adapters  the adapters of layer i by slot ({@link TransformerBlock#Q}, …); may return an empty map
     */
    public Gpt2Model(Device device, Dims dims, Weights weights, boolean trainBase,
                     IntFunction<Map<String, Adapter>> adapters) {
        this.device = Checks.notNull("device", device);
        this.dims = Checks.notNull("dims", dims);
        this.w = Checks.notNull("weights", weights);
        if (weights.blocks().size() != dims.layers()) {
            throw new IllegalArgumentException("weights have " + weights.blocks().size() + " blocks, dims say "
                    + dims.layers());
        }
        int c = dims.width();
        this.grads = trainBase ? new Weights(device.allocate(dims.vocab(), c), device.allocate(dims.positions(), c),
                blocksOfZeros(device, dims), device.allocate(c), device.allocate(c)) : null;
        this.adapters = new ArrayList<>();
        for (int i = 0; i < dims.layers(); i++) {
            Map<String, Adapter> a = adapters == null ? Map.of() : adapters.apply(i);
            this.adapters.add(a);
            blocks.add(new TransformerBlock(device, weights.blocks().get(i), grads == null ? null : grads.blocks().get(i),
                    dims.heads(), true, NnOps.Gelu.TANH, dims.eps(), a));
        }
    }

    private static List<BlockWeights> blocksOfZeros(Device d, Dims dims) {
        List<BlockWeights> list = new ArrayList<>();
        for (int i = 0; i < dims.layers(); i++) {
            list.add(BlockWeights.zeros(d, dims.width()));
        }
        return list;
    }

    /** The shape. */
    public Dims dims() {
        return dims;
    }

    /** The device. */
    public Device device() {
        return device;
    }

    /** The adapters of layer i by slot. */
    public Map<String, Adapter> adapters(int layer) {
        return adapters.get(layer);
    }

    /** What an optimizer steps: the adapters' parameters, and with trainBase every weight too. */
    public ParameterSet trainable() {
        ParameterSet set = new ParameterSet(device);
        blocks.forEach(b -> b.addAdapterParameters(set));
        if (grads != null) {
            set.add(new Parameter("wte", w.wte(), grads.wte()));
            set.add(new Parameter("wpe", w.wpe(), grads.wpe()));
            for (int i = 0; i < dims.layers(); i++) {
                Map<String, Tensor> vals = w.blocks().get(i).named();
                Map<String, Tensor> gs = grads.blocks().get(i).named();
                for (String k : vals.keySet()) {
                    set.add(new Parameter("h." + i + "." + k, vals.get(k), gs.get(k)));
                }
            }
            set.add(new Parameter("ln_f.weight", w.lnfWeight(), grads.lnfWeight()));
            set.add(new Parameter("ln_f.bias", w.lnfBias(), grads.lnfBias()));
        }
        return set;
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
    public Gpt2Model labelSmoothing(float epsilon) {
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
        final Tensor targets;
        final List<Tensor> residual = new ArrayList<>();
        final Tensor lnf;
        final Tensor lnfMean;
        final Tensor lnfRstd;
        final Tensor logits;
        final Tensor losses;
        final Tensor dres;
        final Tensor dres2;
        int counted;
        /** Targets counted by the last forward with targets (the loss divisor; kept through backward). */
        int lossCounted;
        float smoothing;
        /** dres or dres2: where the last backward left dL/d(embedding output); null before one. */
        Tensor dinput;

        Buffers(Device d, Dims dims, int b, int t) {
            this.b = b;
            this.t = t;
            int n = b * t;
            int c = dims.width();
            ids = d.allocate(DType.INT32, n);
            targets = d.allocate(DType.INT32, n);
            for (int i = 0; i <= dims.layers(); i++) {
                residual.add(d.allocate(n, c));
            }
            lnf = d.allocate(n, c);
            lnfMean = d.allocate(n);
            lnfRstd = d.allocate(n);
            logits = d.allocate(n, dims.vocab());
            losses = d.allocate(n);
            dres = d.allocate(n, c);
            dres2 = d.allocate(n, c);
        }

        @Override
        public void close() {
            residual.forEach(Tensor::close);
            for (Tensor x : new Tensor[] {ids, targets, lnf, lnfMean, lnfRstd, logits, losses, dres, dres2}) {
                x.close();
            }
        }
    }

    private Buffers buffers(int b, int t) {
        Checks.positive("b", b);
        Checks.positive("t", t);
        if (t > dims.positions()) {
            throw new IllegalArgumentException("sequence length " + t + " exceeds the model's " + dims.positions()
                    + " positions");
        }
        if (buf == null || buf.b != b || buf.t != t) {
            if (buf != null) {
                buf.close();
            }
            buf = new Buffers(device, dims, b, t);
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
        s.dinput = null;
        device.write(s.ids, ids);
        NnOps nn = device.nn();
        nn.encoderForward(s.ids, w.wte(), w.wpe(), s.residual.get(0), t);
        for (int i = 0; i < blocks.size(); i++) {
            blocks.get(i).forward(s.residual.get(i), s.residual.get(i + 1), b, t);
        }
        nn.layerNormForward(s.residual.get(blocks.size()), w.lnfWeight(), w.lnfBias(), dims.eps(), s.lnf, s.lnfMean,
                s.lnfRstd);
        device.linalg().matmul(false, true, 1f, s.lnf, w.wte(), 0f, s.logits);
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
        Checks.notNull("targets", targets);
        if (targets.length != b * t) {
            throw new IllegalArgumentException("targets has " + targets.length + " entries, expected b·t = " + b * t);
        }
        int counted = 0;
        for (int x : targets) {
            if (x != IGNORE) {
                counted++;
            }
        }
        if (counted == 0) {
            throw new IllegalArgumentException("every target is IGNORE; there is no loss to compute");
        }
        forward(ids, b, t);
        Buffers s = buf;
        device.write(s.targets, targets);
        device.nn().crossEntropyForward(s.logits, s.targets, s.losses, labelSmoothing, IGNORE);
        s.counted = counted;
        s.smoothing = labelSmoothing;
        s.lossCounted = counted;
    }

    /**
     * The mean loss of the last forward with targets (reads B·T floats back); still valid after
     * {@link #backward()}.
     */
    public double loss() {
        Buffers s = buf;
        if (s == null || s.lossCounted == 0) {
            throw new IllegalStateException("no forward with targets yet");
        }
        float[] l = device.read(s.losses);
        double sum = 0;
        for (float x : l) {
            sum += x;
        }
        return sum / s.lossCounted;
    }

    /**
     * Backward of the last {@link #forward(int[], int[], int, int)}: accumulates the gradients of
     * {@link #trainable()}. The logits buffer is overwritten by their gradient.
     */
    public void backward() {
        Buffers s = buf;
        if (s == null || s.counted == 0) {
            throw new IllegalStateException("backward needs a forward with targets first");
        }
        NnOps nn = device.nn();
        nn.crossEntropyBackward(s.logits, s.targets, s.logits, s.smoothing, IGNORE, 1f / s.counted);
        // logits = lnf·wteᵀ: dlnf = dlogits·wte, dwte += dlogitsᵀ·lnf
        device.linalg().matmul(false, false, 1f, s.logits, w.wte(), 0f, s.dres2);
        if (grads != null) {
            device.linalg().matmul(true, false, 1f, s.logits, s.lnf, 1f, grads.wte());
        }
        device.linalg().fill(s.dres, 0f);
        nn.layerNormBackward(s.dres2, s.residual.get(blocks.size()), w.lnfWeight(), s.lnfMean, s.lnfRstd, s.dres,
                grads == null ? null : grads.lnfWeight(), grads == null ? null : grads.lnfBias());
        Tensor dout = s.dres;
        Tensor dx = s.dres2;
        for (int i = blocks.size() - 1; i >= 0; i--) {
            blocks.get(i).backward(s.residual.get(i), dout, dx);
            Tensor tmp = dout;
            dout = dx;
            dx = tmp;
        }
        if (grads != null) {
            nn.encoderBackward(s.ids, dout, grads.wte(), grads.wpe(), s.t);
        }
        s.dinput = dout;
        s.counted = 0;
    }

    /**
     * The gradient of the last {@link #backward()}'s loss with respect to the embedding output (token
     * plus position embedding, the first block's input), [B·T, C]; computed with a frozen base too.
     * Valid until the next backward.
     */
    public Tensor inputGradient() {
        if (buf == null || buf.dinput == null) {
            throw new IllegalStateException("no backward pass since the last forward with targets");
        }
        return buf.dinput;
    }

    /** The logits of the last forward pass, [B·T, V] (until the next backward overwrites them). */
    public Tensor logits() {
        if (buf == null) {
            throw new IllegalStateException("no forward pass yet");
        }
        return buf.logits;
    }

    /** Frees the activation buffers and the gradients (the weights and adapters belong to the caller). */
    @Override
    public void close() {
        blocks.forEach(TransformerBlock::close);
        if (buf != null) {
            buf.close();
            buf = null;
        }
        if (grads != null) {
            grads.wte().close();
            grads.wpe().close();
            grads.blocks().forEach(BlockWeights::close);
            grads.lnfWeight().close();
            grads.lnfBias().close();
        }
    }
}
