package dev.nola.models.transformer;

import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.AttentionSpec;
import dev.nola.models.spec.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The keys and values of every layer for B sequences of up to {@code capacity} positions, so that
 * generation runs the model over the prompt once (prefill) and then over one new position per token.
 * Layer l holds K and V [B, capacity, KVH·headDim] (keys after the rotary embedding, as attention reads
 * them) and scratch for one decode step's scores [B, NH, capacity]. {@link #length()} positions are
 * filled, the same for every sequence.
 */
public final class KvCache implements AutoCloseable {

    private final int batch;
    private final int capacity;
    private final List<Tensor> keys = new ArrayList<>();
    private final List<Tensor> values = new ArrayList<>();
    private final Tensor scores;
    private int length;

    /** A cache for a model of this spec on the device. */
    public KvCache(Device d, ModelSpec spec, int batch, int capacity) {
        this.batch = Checks.positive("batch", batch);
        this.capacity = Checks.positive("capacity", capacity);
        try {
            int heads = 1;
            for (var b : spec.blocks()) {
                AttentionSpec a = b.attention();
                int w = a.kvHeads() * a.headDim();
                keys.add(d.allocate(batch, capacity, w));
                values.add(d.allocate(batch, capacity, w));
                heads = Math.max(heads, a.heads());
            }
            scores = d.allocate(batch, heads, capacity);
        } catch (RuntimeException e) {
            keys.forEach(Tensor::close);
            values.forEach(Tensor::close);
            throw e;
        }
    }

    /** B, the sequences. */
    public int batch() {
        return batch;
    }

    /** The most positions the cache holds. */
    public int capacity() {
        return capacity;
    }

    /** Positions filled so far. */
    public int length() {
        return length;
    }

    /** Empties the cache (its memory is kept for the next sequence). */
    public void clear() {
        length = 0;
    }

    /** Marks {@code t} more positions as filled. */
    void advance(int t) {
        if (length + t > capacity) {
            throw new IllegalArgumentException("the KV cache holds " + capacity + " positions; " + length + " + " + t
                    + " would not fit");
        }
        length += t;
    }

    Tensor keys(int layer) {
        return keys.get(layer);
    }

    Tensor values(int layer) {
        return values.get(layer);
    }

    Tensor scores() {
        return scores;
    }

    @Override
    public void close() {
        keys.forEach(Tensor::close);
        values.forEach(Tensor::close);
        scores.close();
    }
}
