package dev.nola.models.vit;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.optim.Parameter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import dev.nola.models.transformer.BlockWeights;
import dev.nola.models.transformer.Conv1d;
import dev.nola.models.transformer.TransformerBlock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A small Vision Transformer for single-channel images: non-overlapping P×P patches projected to C
 * channels, a class token in front, learned position embeddings, L pre-LN non-causal blocks with the
 * erf GELU, a final layernorm, and a linear head on the class token.
 *
 * <p>The token matrix is built without a scatter op: {@link NnOps#encoderForward} writes row 0 of each
 * sequence from a two-row table (the class token, then the patch projection's bias) plus the position
 * embedding, and the patch projection adds into rows 1..Np through a strided batched matmul.
 *
 * <p>Fine-tuning ({@code trainBase} false): the base is frozen, adapters sit in the blocks and the head
 * is trained (the paper counts the head separately). Pretraining: everything trains.
 */
public final class VitModel implements AutoCloseable {

    /**
     * The shape of a ViT.
     *
     * @param image   image side in pixels (square)
     * @param patch   P, dividing the image side
     * @param layers  L
     * @param heads   NH
     * @param width   C
     * @param classes K
     * @param eps     layernorm epsilon
     */
    public record Dims(int image, int patch, int layers, int heads, int width, int classes, float eps) {
        public Dims {
            Checks.positive("image", image);
            Checks.positive("patch", patch);
            Checks.positive("layers", layers);
            Checks.positive("heads", heads);
            Checks.positive("width", width);
            Checks.positive("classes", classes);
            if (image % patch != 0) {
                throw new IllegalArgumentException("patch " + patch + " does not divide the image side " + image);
            }
            if (width % heads != 0) {
                throw new IllegalArgumentException("width " + width + " is not divisible by heads " + heads);
            }
        }

        /** Np, patches per image. */
        public int patches() {
            return (image / patch) * (image / patch);
        }

        /** T = Np + 1 tokens per image. */
        public int tokens() {
            return patches() + 1;
        }

        /** P·P values per patch. */
        public int patchSize() {
            return patch * patch;
        }
    }

    /**
     * The weights.
     *
     * @param patchWeight [P·P, C] (Conv1D layout)
     * @param tokenTable  [2, C]: the class token, then the patch projection's bias
     * @param positions   [T, C]
     * @param head        [C, K]
     * @param headBias    [K]
     */
    public record Weights(Tensor patchWeight, Tensor tokenTable, Tensor positions, List<BlockWeights> blocks,
                          Tensor lnfWeight, Tensor lnfBias, Tensor head, Tensor headBias) {

        /** The base's tensors in order (head excluded). */
        List<Tensor> base() {
            List<Tensor> l = new ArrayList<>(List.of(patchWeight, tokenTable, positions));
            blocks.forEach(b -> l.addAll(b.named().values()));
            l.add(lnfWeight);
            l.add(lnfBias);
            return l;
        }

        /** Closes every tensor. */
        public void close() {
            base().forEach(Tensor::close);
            head.close();
            headBias.close();
        }
    }

    private final Device device;
    private final Dims dims;
    private final Weights w;
    private final Weights grads;
    private final boolean trainBase;
    private final List<TransformerBlock> blocks = new ArrayList<>();
    private final List<Map<String, Adapter>> adapters = new ArrayList<>();
    private Buffers buf;

    /**
     * @param weights   on device; the model does not close them
     * @param trainBase whether the base trains (pretraining); the head always does
     * @param adapters  the adapters of layer i by slot, or null for none
     */
    public VitModel(Device device, Dims dims, Weights weights, boolean trainBase,
                    IntFunction<Map<String, Adapter>> adapters) {
        this.device = Checks.notNull("device", device);
        this.dims = Checks.notNull("dims", dims);
        this.w = Checks.notNull("weights", weights);
        this.trainBase = trainBase;
        int c = dims.width();
        List<BlockWeights> gb = new ArrayList<>();
        if (trainBase) {
            for (int i = 0; i < dims.layers(); i++) {
                gb.add(BlockWeights.zeros(device, c));
            }
        }
        this.grads = new Weights(trainBase ? device.allocate(dims.patchSize(), c) : null,
                trainBase ? device.allocate(2, c) : null, trainBase ? device.allocate(dims.tokens(), c) : null, gb,
                trainBase ? device.allocate(c) : null, trainBase ? device.allocate(c) : null,
                device.allocate(c, dims.classes()), device.allocate(dims.classes()));
        for (int i = 0; i < dims.layers(); i++) {
            Map<String, Adapter> a = adapters == null ? Map.of() : adapters.apply(i);
            this.adapters.add(a);
            blocks.add(new TransformerBlock(device, weights.blocks().get(i), trainBase ? gb.get(i) : null, dims.heads(),
                    false, NnOps.Gelu.ERF, dims.eps(), a));
        }
    }

    /** The shape. */
    public Dims dims() {
        return dims;
    }

    /** The adapters of layer i by slot. */
    public Map<String, Adapter> adapters(int layer) {
        return adapters.get(layer);
    }

    /** The head's parameters alone (weight and bias). */
    public ParameterSet head() {
        return new ParameterSet(device).add(new Parameter("head.weight", w.head(), grads.head()))
                .add(new Parameter("head.bias", w.headBias(), grads.headBias()));
    }

    /** What an optimizer steps: the head, the adapters, and with trainBase every weight. */
    public ParameterSet trainable() {
        ParameterSet set = head();
        blocks.forEach(b -> b.addAdapterParameters(set));
        if (trainBase) {
            List<Tensor> values = w.base();
            List<Tensor> gs = grads.base();
            for (int i = 0; i < values.size(); i++) {
                set.add(new Parameter("base." + i, values.get(i), gs.get(i)));
            }
        }
        return set;
    }

    private static final class Buffers implements AutoCloseable {
        final int b;
        final Tensor patches;
        final Tensor ids;
        final List<Tensor> residual = new ArrayList<>();
        final Tensor lnf;
        final Tensor mean;
        final Tensor rstd;
        final Tensor pooled;
        final Tensor logits;
        final Tensor labels;
        final Tensor losses;
        final Tensor dres;
        final Tensor dres2;
        final Tensor dpooled;

        Buffers(Device d, Dims dims, int b) {
            this.b = b;
            int n = b * dims.tokens();
            int c = dims.width();
            patches = d.allocate(b * dims.patches(), dims.patchSize());
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = i % dims.tokens() == 0 ? 0 : 1;
            }
            this.ids = d.upload(ids, n);
            for (int i = 0; i <= dims.layers(); i++) {
                residual.add(d.allocate(n, c));
            }
            lnf = d.allocate(b, dims.tokens(), c);
            mean = d.allocate(n);
            rstd = d.allocate(n);
            pooled = d.allocate(b, c);
            logits = d.allocate(b, dims.classes());
            labels = d.allocate(DType.INT32, b);
            losses = d.allocate(b);
            dres = d.allocate(n, c);
            dres2 = d.allocate(n, c);
            dpooled = d.allocate(b, c);
        }

        @Override
        public void close() {
            residual.forEach(Tensor::close);
            for (Tensor x : new Tensor[] {patches, ids, lnf, mean, rstd, pooled, logits, labels, losses, dres, dres2,
                    dpooled}) {
                x.close();
            }
        }
    }

    /** Cuts images [B, side, side] into patches [B·Np, P·P], row-major patches in row-major order. */
    float[] patchify(float[] pixels, int b) {
        int side = dims.image();
        int p = dims.patch();
        int per = side / p;
        float[] out = new float[b * dims.patches() * dims.patchSize()];
        int o = 0;
        for (int img = 0; img < b; img++) {
            for (int py = 0; py < per; py++) {
                for (int px = 0; px < per; px++) {
                    for (int y = 0; y < p; y++) {
                        int row = img * side * side + (py * p + y) * side + px * p;
                        System.arraycopy(pixels, row, out, o, p);
                        o += p;
                    }
                }
            }
        }
        return out;
    }

    /**
     * Forward to the class logits ([B, K], {@link #logits()}).
     *
     * @param pixels [B, side, side] row-major
     */
    public void forward(float[] pixels, int b) {
        Checks.notNull("pixels", pixels);
        int side = dims.image();
        if (pixels.length != b * side * side) {
            throw new IllegalArgumentException("pixels has " + pixels.length + " values, expected " + b + " images of "
                    + side + "×" + side);
        }
        if (buf == null || buf.b != b) {
            if (buf != null) {
                buf.close();
            }
            buf = new Buffers(device, dims, b);
        }
        Buffers s = buf;
        int t = dims.tokens();
        int c = dims.width();
        device.write(s.patches, patchify(pixels, b));
        NnOps nn = device.nn();
        Tensor x = s.residual.get(0);
        nn.encoderForward(s.ids, w.tokenTable(), w.positions(), x, t);
        // rows 1..Np of every sequence += patches·W
        device.linalg().matmulBatched(false, false, b, dims.patches(), c, dims.patchSize(), 1f, s.patches,
                dims.patchSize(), (long) dims.patches() * dims.patchSize(), w.patchWeight(), c, 0, 1f,
                x.view(c, (int) (x.size() - c)), c, (long) t * c);
        for (int i = 0; i < blocks.size(); i++) {
            blocks.get(i).forward(s.residual.get(i), s.residual.get(i + 1), b, t);
        }
        nn.layerNormForward(s.residual.get(blocks.size()), w.lnfWeight(), w.lnfBias(), dims.eps(),
                s.lnf.reshape(b * t, c), s.mean, s.rstd);
        nn.poolForward(NnOps.Pool.FIRST, s.lnf, s.pooled);
        Conv1d.of(w.head(), w.headBias()).forward(device, s.pooled, s.logits);
    }

    /** Forward and the mean cross-entropy against labels in [0, K) (reads B floats back). */
    public double forward(float[] pixels, int[] labels, int b, float labelSmoothing) {
        forwardLoss(pixels, labels, b, labelSmoothing);
        return loss();
    }

    /**
     * {@link #forward(float[], int[], int, float)} without reading anything back: the per-image losses
     * stay on the device until {@link #loss()}.
     */
    public void forwardLoss(float[] pixels, int[] labels, int b, float labelSmoothing) {
        forward(pixels, b);
        device.write(buf.labels, labels);
        device.nn().crossEntropyForward(buf.logits, buf.labels, buf.losses, labelSmoothing, -1);
    }

    /** The mean loss of the last forward with labels (reads B floats back). */
    public double loss() {
        if (buf == null) {
            throw new IllegalStateException("no forward with labels yet");
        }
        float[] l = device.read(buf.losses);
        double sum = 0;
        for (float x : l) {
            sum += x;
        }
        return sum / l.length;
    }

    /** Backward of the last forward with labels: accumulates the gradients of {@link #trainable()}. */
    public void backward(float labelSmoothing) {
        Buffers s = buf;
        int b = s.b;
        int t = dims.tokens();
        int c = dims.width();
        NnOps nn = device.nn();
        nn.crossEntropyBackward(s.logits, s.labels, s.logits, labelSmoothing, -1, 1f / b);
        device.linalg().fill(s.dpooled, 0f);
        Conv1d.of(w.head(), w.headBias()).backward(device, s.pooled, s.logits, s.dpooled, grads.head(), grads.headBias());
        Tensor dlnf = s.dres2;
        device.linalg().fill(dlnf, 0f);
        nn.poolBackward(NnOps.Pool.FIRST, s.dpooled, dlnf.reshape(b, t, c));
        device.linalg().fill(s.dres, 0f);
        nn.layerNormBackward(dlnf, s.residual.get(blocks.size()), w.lnfWeight(), s.mean, s.rstd, s.dres,
                grads.lnfWeight(), grads.lnfBias());
        Tensor dout = s.dres;
        Tensor dx = s.dres2;
        for (int i = blocks.size() - 1; i >= 0; i--) {
            blocks.get(i).backward(s.residual.get(i), dout, dx);
            Tensor tmp = dout;
            dout = dx;
            dx = tmp;
        }
        if (trainBase) {
            nn.encoderBackward(s.ids, dout, grads.tokenTable(), grads.positions(), t);
            for (int img = 0; img < b; img++) {
                Tensor rows = dout.view((long) img * t * c + c, dims.patches() * c).reshape(dims.patches(), c);
                Tensor p = s.patches.view((long) img * dims.patches() * dims.patchSize(),
                        dims.patches() * dims.patchSize()).reshape(dims.patches(), dims.patchSize());
                device.linalg().matmul(true, false, 1f, p, rows, 1f, grads.patchWeight());
            }
        }
    }

    /** The class logits of the last forward, [B, K] (the next backward overwrites them). */
    public Tensor logits() {
        return buf.logits;
    }

    /** Sets every gradient of {@link #trainable()} to zero. */
    public void zeroGradients() {
        trainable().zeroGradients();
    }

    /** Frees buffers and gradients (weights and adapters belong to the caller). */
    @Override
    public void close() {
        blocks.forEach(TransformerBlock::close);
        if (buf != null) {
            buf.close();
        }
        if (trainBase) {
            grads.base().forEach(Tensor::close);
        }
        grads.head().close();
        grads.headBias().close();
    }

    /** The predicted class of each image of the last forward (reads B·K floats back). */
    public int[] predictions() {
        float[] l = device.read(buf.logits);
        int k = dims.classes();
        int[] p = new int[l.length / k];
        for (int i = 0; i < p.length; i++) {
            int best = 0;
            for (int j = 1; j < k; j++) {
                if (l[i * k + j] > l[i * k + best]) {
                    best = j;
                }
            }
            p[i] = best;
        }
        return p;
    }

    @Override
    public String toString() {
        return "VitModel" + dims + Arrays.toString(new int[] {dims.tokens()});
    }
}
