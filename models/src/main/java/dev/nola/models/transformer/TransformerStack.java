package dev.nola.models.transformer;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.optim.Parameter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.spec.RopeSpec;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.spec.WeightTable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The blocks of a {@link ModelSpec} and its final norm, on the device: what GPT-2, the LLaMA family
 * and the ViT share. The model in front writes the embedded sequence into {@link #input}, runs
 * {@link #forward}, and reads {@link #normed()}; for training it writes dL/d(normed) into
 * {@link #normedGradient()} and {@link #backward()} returns dL/d(input).
 *
 * <p>Buffers: the residual stream after every block ([B·T, C] each, kept for the backward pass), the
 * final norm's output and statistics, two gradient buffers that the backward pass ping-pongs between,
 * and one {@link TransformerBlock.Scratch} for every block's backward temporaries — allocated once per
 * (B, T).
 *
 * <p>Parameters ({@link #trainable}): the weights whose {@link WeightSpec.Training} is ALWAYS, then
 * the adapters in site order, then — when the base trains — every other weight in table order.
 */
public final class TransformerStack implements AutoCloseable {

    private final Device device;
    private final ModelSpec spec;
    private final DeviceWeights weights;
    private final DeviceWeights grads;
    private final boolean trainBase;
    private final List<TransformerBlock> blocks = new ArrayList<>();
    private final Norm finalNorm;
    private final Map<String, Adapter> adapters = new LinkedHashMap<>();
    private final Tensor ropeCos;
    private final Tensor ropeSin;
    private Buffers buf;
    /** The low-rank activations of per-row adapters ({@link RowAdapters}); null until needed. */
    private Tensor rowScratch;

    /**
     * @param weights   the model's weights (the stack does not close them)
     * @param trainBase whether the base weights get gradients (pretraining) or stay frozen
     * @param adapters  adapters by site name ({@link ModelSpec#sites()}); every name must be a site of
     *                  this model and every adapter of its site's shape
     */
    public TransformerStack(Device device, ModelSpec spec, DeviceWeights weights, boolean trainBase,
                            Map<String, ? extends Adapter> adapters) {
        this.device = Checks.notNull("device", device);
        this.spec = Checks.notNull("spec", spec);
        this.weights = Checks.notNull("weights", weights);
        Map<String, ? extends Adapter> named = adapters == null ? Map.of() : adapters;
        Map<String, AdapterSite> sites = spec.sites();
        Set<String> unknown = new HashSet<>(named.keySet());
        unknown.removeAll(sites.keySet());
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("adapters " + new java.util.TreeSet<>(unknown) + " name no adapter site of this "
                    + spec.layers() + "-layer " + spec.architecture() + "; expected names like "
                    + sites.keySet().iterator().next());
        }
        this.trainBase = trainBase;
        // gradients only for what trains: every weight in pretraining, else the ALWAYS ones (a new head)
        WeightTable always = new WeightTable(spec.weights().list().stream()
                .filter(w -> w.training() == WeightSpec.Training.ALWAYS).toList());
        this.grads = trainBase ? DeviceWeights.zeros(device, spec.weights())
                : always.size() > 0 ? DeviceWeights.zeros(device, always) : null;
        RopeSpec rope = spec.blocks().isEmpty() ? null : spec.blocks().get(0).attention().rope();
        if (rope != null) {
            float[][] t = rope.tables();
            ropeCos = device.upload(t[0], rope.positions(), rope.headDim() / 2);
            ropeSin = device.upload(t[1], rope.positions(), rope.headDim() / 2);
        } else {
            ropeCos = null;
            ropeSin = null;
        }
        TransformerBlock.Rope r = rope == null ? null : new TransformerBlock.Rope(ropeCos, ropeSin, rope.headDim());
        DeviceWeights blockGrads = trainBase ? grads : null;
        try {
            for (var b : spec.blocks()) {
                TransformerBlock block = new TransformerBlock(device, b, weights, blockGrads, named, r);
                this.adapters.putAll(block.adapters());
                blocks.add(block);
            }
            this.finalNorm = Norm.of(spec.finalNorm(), weights, blockGrads);
        } catch (RuntimeException e) {
            // an adapter of the wrong shape: free what this constructor allocated before saying so
            close();
            throw e;
        }
    }

    /** The spec. */
    public ModelSpec spec() {
        return spec;
    }

    /** The device. */
    public Device device() {
        return device;
    }

    /** The weights. */
    public DeviceWeights weights() {
        return weights;
    }

    /** The gradient of a weight; null when that weight does not train. */
    public Tensor gradient(String name) {
        if (grads == null) {
            return null;
        }
        WeightSpec w = spec.weights().get(name);
        return trainBase || w.training() == WeightSpec.Training.ALWAYS ? grads.get(name) : null;
    }

    /** Whether the base weights train. */
    public boolean trainsBase() {
        return trainBase;
    }

    /** The adapters by site name, in site order. */
    public Map<String, Adapter> adapters() {
        return adapters;
    }

    /** What an optimizer steps: ALWAYS weights, the adapters, then (pretraining) every base weight, by name. */
    public ParameterSet trainable() {
        ParameterSet set = new ParameterSet(device);
        for (WeightSpec w : spec.weights().list()) {
            if (w.training() == WeightSpec.Training.ALWAYS) {
                set.add(new Parameter(w.name(), weights.get(w.name()), grads.get(w.name())));
            }
        }
        for (Adapter a : adapters.values()) {
            set.addAll(a.parameterSet());
        }
        if (trainBase) {
            for (WeightSpec w : spec.weights().list()) {
                if (w.training() == WeightSpec.Training.BASE) {
                    set.add(new Parameter(w.name(), weights.get(w.name()), grads.get(w.name())));
                }
            }
        }
        return set;
    }

    private static final class Buffers implements AutoCloseable {
        final int b;
        final int t;
        final List<Tensor> residual = new ArrayList<>();
        final Tensor normed;
        final Tensor mean;
        final Tensor rstd;
        final Tensor dres;
        final Tensor dres2;
        final TransformerBlock.Scratch scratch;
        /** dres or dres2: where the last backward left dL/d(input); null before one. */
        Tensor dinput;

        Buffers(Device d, ModelSpec spec, int b, int t) {
            this.b = b;
            this.t = t;
            int n = b * t;
            int c = spec.width();
            for (int i = 0; i <= spec.layers(); i++) {
                residual.add(d.allocate(n, c));
            }
            normed = d.allocate(n, c);
            mean = d.allocate(n);
            rstd = d.allocate(n);
            dres = d.allocate(n, c);
            dres2 = d.allocate(n, c);
            scratch = spec.layers() == 0 ? null : new TransformerBlock.Scratch(d, spec.blocks().get(0), b, t);
        }

        @Override
        public void close() {
            residual.forEach(Tensor::close);
            for (Tensor x : new Tensor[] {normed, mean, rstd, dres, dres2}) {
                x.close();
            }
            if (scratch != null) {
                scratch.close();
            }
        }
    }

    /**
     * The embedded sequence's buffer [B·T, C] for a batch of B sequences of T positions (the buffers are
     * made for this (B, T) if they are not already); the caller writes it before {@link #forward}.
     */
    public Tensor input(int b, int t) {
        Checks.positive("b", b);
        Checks.positive("t", t);
        if (buf == null || buf.b != b || buf.t != t) {
            if (buf != null) {
                buf.close();
            }
            buf = new Buffers(device, spec, b, t);
        }
        buf.dinput = null;
        return buf.residual.get(0);
    }

    private Buffers buffers() {
        if (buf == null) {
            throw new IllegalStateException("no input yet: call input(b, t) first");
        }
        return buf;
    }

    /** Runs every block and the final norm over {@link #input}; the result is {@link #normed()}. */
    public void forward() {
        Buffers s = buffers();
        for (int i = 0; i < blocks.size(); i++) {
            blocks.get(i).forward(s.residual.get(i), s.residual.get(i + 1), s.b, s.t, s.scratch);
        }
        finalNorm.forward(device, s.residual.get(blocks.size()), s.normed, s.mean, s.rstd);
    }

    /**
     * {@link #forward} for generation: the {@link #input} holds T new positions of each sequence, which
     * start at position {@code cache.length()}; every block appends their keys and values to the cache,
     * which then holds T more positions. Keeps nothing for a backward pass.
     */
    public void forwardCached(KvCache cache) {
        forwardCached(cache, null);
    }

    /**
     * {@link #forwardCached(KvCache)} with low-rank updates per row besides the stack's own adapters
     * (a request's adapter in a server that holds one base for many adapters).
     *
     * @param rows which of the B·T input rows get which factors, or null
     */
    public void forwardCached(KvCache cache, RowAdapters rows) {
        Buffers s = buffers();
        if (cache.batch() != s.b) {
            throw new IllegalArgumentException("the KV cache holds " + cache.batch() + " sequences; the input has " + s.b);
        }
        if (cache.length() + s.t > cache.capacity()) {
            throw new IllegalArgumentException("the KV cache holds " + cache.capacity() + " positions; " + cache.length() + " + "
                    + s.t + " would not fit");
        }
        Tensor h = rowScratch(rows, s.b * s.t);
        for (int i = 0; i < blocks.size(); i++) {
            blocks.get(i).forwardCached(s.residual.get(i), s.residual.get(i + 1), s.b, s.t, cache, i, rows, h);
        }
        finalNorm.forward(device, s.residual.get(blocks.size()), s.normed, s.mean, s.rstd);
        cache.advance(s.t);
    }

    /**
     * One decode step of B independent sequences ({@link #input}{@code (B, 1)} holds one new position
     * of each): each sequence has its own cache (batch 1, any length with room for one more), to which
     * every block appends; the base matmuls run once over the B rows and {@code rows} gives each row
     * its adapter. Continuous batching calls this with whichever sequences are running at the step.
     *
     * @param caches one per input row, in row order
     * @param rows   which rows get which factors, or null
     */
    public void forwardDecode(List<KvCache> caches, RowAdapters rows) {
        Buffers s = buffers();
        if (caches.size() != s.b || s.t != 1) {
            throw new IllegalArgumentException("a decode step takes one position of each sequence and one cache per sequence; got "
                    + caches.size() + " caches for input [" + s.b + ", " + s.t + "]");
        }
        for (int i = 0; i < caches.size(); i++) {
            KvCache c = caches.get(i);
            if (c.batch() != 1 || c.length() < 1 || c.length() >= c.capacity()) {
                throw new IllegalArgumentException("cache " + i + " holds " + c.batch() + " sequences, " + c.length() + " of "
                        + c.capacity() + " positions; expected one prefilled sequence with room for one more");
            }
        }
        Tensor h = rowScratch(rows, s.b);
        for (int i = 0; i < blocks.size(); i++) {
            blocks.get(i).forwardDecode(s.residual.get(i), s.residual.get(i + 1), caches, i, rows, h);
        }
        finalNorm.forward(device, s.residual.get(blocks.size()), s.normed, s.mean, s.rstd);
        caches.forEach(c -> c.advance(1));
    }

    /** Scratch for the low-rank activations of {@code rows} over n rows, grown when needed; null without rows. */
    private Tensor rowScratch(RowAdapters rows, int n) {
        if (rows == null) {
            return null;
        }
        if (rows.end() > n) {
            throw new IllegalArgumentException("row adapters cover " + rows.end() + " rows; the input has " + n);
        }
        long need = (long) n * Math.max(1, rows.maxRank());
        if (rowScratch == null || rowScratch.size() < need) {
            if (rowScratch != null) {
                rowScratch.close();
            }
            rowScratch = device.allocate(Math.toIntExact(need));
        }
        return rowScratch;
    }

    /** A KV cache for B sequences of up to {@code capacity} positions of this model. */
    public KvCache newCache(int b, int capacity) {
        return new KvCache(device, spec, b, capacity);
    }

    /** The final norm's output of the last forward, [B·T, C]. */
    public Tensor normed() {
        return buffers().normed;
    }

    /**
     * The buffer [B·T, C] the caller fills with dL/d({@link #normed()}) before {@link #backward()};
     * its contents are consumed (it is reused as scratch by the backward pass).
     */
    public Tensor normedGradient() {
        return buffers().dres2;
    }

    /**
     * Backward of the last forward from {@link #normedGradient()}: adapter (and, pretraining, weight)
     * gradients are accumulated. Returns dL/d(input) [B·T, C], valid until the next forward.
     */
    public Tensor backward() {
        Buffers s = buffers();
        device.linalg().fill(s.dres, 0f);
        finalNorm.backward(device, s.dres2, s.residual.get(blocks.size()), s.mean, s.rstd, s.dres);
        Tensor dout = s.dres;
        Tensor dx = s.dres2;
        for (int i = blocks.size() - 1; i >= 0; i--) {
            blocks.get(i).backward(s.residual.get(i), dout, dx, s.scratch);
            Tensor tmp = dout;
            dout = dx;
            dx = tmp;
        }
        s.dinput = dout;
        return dout;
    }

    /** dL/d(input) of the last backward; an error before one. */
    public Tensor inputGradient() {
        if (buf == null || buf.dinput == null) {
            throw new IllegalStateException("no backward pass since the last forward");
        }
        return buf.dinput;
    }

    /** Frees the buffers, the gradients and the rotary tables (weights and adapters belong to the caller). */
    @Override
    public void close() {
        blocks.forEach(TransformerBlock::close);
        if (buf != null) {
            buf.close();
            buf = null;
        }
        if (grads != null) {
            grads.close();
        }
        if (rowScratch != null) {
            rowScratch.close();
            rowScratch = null;
        }
        if (ropeCos != null) {
            ropeCos.close();
            ropeSin.close();
        }
    }
}
