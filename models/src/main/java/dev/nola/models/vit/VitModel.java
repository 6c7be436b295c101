package dev.nola.models.vit;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.Layout;
import dev.nola.models.spec.LinearSpec;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.transformer.CrossEntropyLoss;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.transformer.Linear;
import dev.nola.models.transformer.TransformerStack;
import java.util.List;
import java.util.Map;

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

    private final Device device;
    private final VitConfig config;
    private final ModelSpec spec;
    private final DeviceWeights w;
    private final TransformerStack stack;
    private final Linear head;
    private final CrossEntropyLoss loss;
    private Buffers buf;

    /**
     * @param weights   on device, by {@code config.spec()}'s table; the model does not close them
     * @param trainBase whether the base trains (pretraining); the head always does
     * @param adapters  adapters by site name ({@code h.{i}.mlp.fc}, …), or empty for none
     */
    public VitModel(Device device, VitConfig config, DeviceWeights weights, boolean trainBase,
                    Map<String, ? extends Adapter> adapters) {
        this.device = Checks.notNull("device", device);
        this.config = Checks.notNull("config", config);
        this.spec = config.spec();
        this.w = Checks.notNull("weights", weights);
        this.stack = new TransformerStack(device, spec, weights, trainBase, adapters);
        this.head = new Linear(LinearSpec.whole("head.weight", "head.bias", Layout.CONV1D, config.width(), config.classes(),
                null, null), weights.get("head.weight"), weights.get("head.bias"));
        this.loss = new CrossEntropyLoss(device);
    }

    /** Fresh weights of a ViT (seeded), on the device; the caller closes them. */
    public static DeviceWeights randomWeights(Device d, VitConfig config, long seed) {
        return DeviceWeights.random(d, config.spec().weights(), seed, config.drawOrder(),
                DeviceWeights.Sampler.BOX_MULLER_COS);
    }

    /** A new classification head (weight and bias) for a base; closing it frees both. */
    public record Head(Tensor weight, Tensor bias) implements AutoCloseable {
        /** The tensors under the table's names. */
        public Map<String, Tensor> tensors() {
            return Map.of("head.weight", weight, "head.bias", bias);
        }

        @Override
        public void close() {
            weight.close();
            bias.close();
        }
    }

    /**
     * A fresh head of {@code config.classes()} outputs for a base of its width (the few-shot task replaces
     * the head): weight N(0, 0.02) from its own seeded generator, bias 0.
     */
    public static Head newHead(Device d, VitConfig config, long seed) {
        var table = config.spec().weights();
        try (DeviceWeights fresh = DeviceWeights.random(d, new dev.nola.models.spec.WeightTable(
                java.util.List.of(table.get("head.weight"))), seed, java.util.List.of("head.weight"),
                DeviceWeights.Sampler.BOX_MULLER_COS)) {
            Tensor w = d.allocate(config.width(), config.classes());
            d.copy(fresh.get("head.weight"), w);
            return new Head(w, d.allocate(config.classes()));
        }
    }

    /** The shape. */
    public VitConfig config() {
        return config;
    }

    /** The adapters by site name. */
    public Map<String, Adapter> adapters() {
        return stack.adapters();
    }

    /** The head's parameters alone (weight and bias). */
    public ParameterSet head() {
        ParameterSet all = stack.trainable();
        ParameterSet h = new ParameterSet(device);
        all.list().stream().filter(p -> p.name().startsWith("head.")).forEach(h::add);
        return h;
    }

    /** What an optimizer steps: the head, the adapters, and with trainBase every weight. */
    public ParameterSet trainable() {
        return stack.trainable();
    }

    private static final class Buffers implements AutoCloseable {
        final int b;
        final Tensor patches;
        final Tensor ids;
        final Tensor pooled;
        final Tensor logits;
        final Tensor dpooled;

        Buffers(Device d, VitConfig dims, int b) {
            this.b = b;
            int n = b * dims.tokens();
            int c = dims.width();
            patches = d.allocate(b * dims.patches(), dims.patchSize());
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = i % dims.tokens() == 0 ? 0 : 1;
            }
            this.ids = d.upload(ids, n);
            pooled = d.allocate(b, c);
            logits = d.allocate(b, dims.classes());
            dpooled = d.allocate(b, c);
        }

        @Override
        public void close() {
            for (Tensor x : new Tensor[] {patches, ids, pooled, logits, dpooled}) {
                x.close();
            }
        }
    }

    /** Cuts images [B, side, side] into patches [B·Np, P·P], row-major patches in row-major order. */
    float[] patchify(float[] pixels, int b) {
        VitConfig dims = config;
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
        VitConfig dims = config;
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
        Tensor x = stack.input(b, t);
        device.nn().encoderForward(s.ids, w.get("tokens"), w.get("positions"), x, t);
        // rows 1..Np of every sequence += patches·W
        device.linalg().matmulBatched(false, false, b, dims.patches(), c, dims.patchSize(), 1f, s.patches,
                dims.patchSize(), (long) dims.patches() * dims.patchSize(), w.get("patch.weight"), c, 0, 1f,
                x.view(c, (int) (x.size() - c)), c, (long) t * c);
        stack.forward();
        device.nn().poolForward(NnOps.Pool.FIRST, stack.normed().reshape(b, t, c), s.pooled);
        head.forward(device, s.pooled, s.logits);
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
        loss.prepare(labels, b, labelSmoothing); // bad labels cost no forward pass
        forward(pixels, b);
        loss.forwardRows(buf.logits, 0);
    }

    /** The mean loss of the last forward with labels (reads B floats back). */
    public double loss() {
        return loss.mean();
    }

    /**
     * Backward of the last forward with labels (with its label smoothing): accumulates the gradients of
     * {@link #trainable()}.
     */
    public void backward() {
        Buffers s = buf;
        int b = s.b;
        VitConfig dims = config;
        int t = dims.tokens();
        int c = dims.width();
        NnOps nn = device.nn();
        loss.backward(s.logits);
        device.linalg().fill(s.dpooled, 0f);
        head.backward(device, s.pooled, s.logits, s.dpooled, stack.gradient("head.weight"), stack.gradient("head.bias"));
        Tensor dnormed = stack.normedGradient();
        device.linalg().fill(dnormed, 0f);
        nn.poolBackward(NnOps.Pool.FIRST, s.dpooled, dnormed.reshape(b, t, c));
        Tensor dout = stack.backward();
        if (stack.trainsBase()) {
            nn.encoderBackward(s.ids, dout, stack.gradient("tokens"), stack.gradient("positions"), t);
            Tensor dpatch = stack.gradient("patch.weight");
            for (int img = 0; img < b; img++) {
                Tensor rows = dout.view((long) img * t * c + c, dims.patches() * c).reshape(dims.patches(), c);
                Tensor p = s.patches.view((long) img * dims.patches() * dims.patchSize(),
                        dims.patches() * dims.patchSize()).reshape(dims.patches(), dims.patchSize());
                device.linalg().matmul(true, false, 1f, p, rows, 1f, dpatch);
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
        stack.close();
        loss.close();
        if (buf != null) {
            buf.close();
        }
    }

    /** The predicted class of each image of the last forward (reads B·K floats back). */
    public int[] predictions() {
        float[] l = device.read(buf.logits);
        int k = config.classes();
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
        return "VitModel" + config;
    }
}
