package dev.nola.kernels.host;

import dev.nola.kernels.AbstractTensor;
import dev.nola.kernels.DType;
import dev.nola.kernels.LiveTensors;
import dev.nola.kernels.Tensor;

/**
 * A tensor in JVM heap memory, for the host backends ({@code reference}, {@code cpu}): a float[], an
 * int[] or, for bfloat16, a short[] of the raw 16-bit patterns, by element type. Kernels reach a tensor
 * or view through {@link #floats(Tensor)} / {@link #ints(Tensor)} / {@link #halves(Tensor)} and its
 * element {@link Tensor#offset()}.
 */
public final class HostTensor extends AbstractTensor {

    private float[] floats;
    private int[] ints;
    private short[] halves;

    HostTensor(HostDevice device, LiveTensors owner, DType dtype, int[] shape, int size) {
        super(device, owner, dtype, shape, size);
        switch (dtype) {
            case FLOAT32 -> this.floats = new float[size];
            case INT32 -> this.ints = new int[size];
            case BF16 -> this.halves = new short[size];
        }
    }

    /** The backing float array of a float32 storage tensor; valid until it is closed. */
    public float[] data() {
        requireOpen();
        return floats;
    }

    /** The backing int array of an int32 storage tensor; valid until it is closed. */
    public int[] intData() {
        requireOpen();
        return ints;
    }

    /** The bfloat16 bits of a bfloat16 storage tensor; valid until it is closed. */
    public short[] halfData() {
        requireOpen();
        return halves;
    }

    /** The bfloat16 bits behind a host bfloat16 tensor or view (index it from {@code t.offset()}; widen with {@code BFloat16.widen}). */
    public static short[] halves(Tensor t) {
        return ((HostTensor) t.storage()).halfData();
    }

    /** The float array behind a host tensor or view (index it from {@code t.offset()}). */
    public static float[] floats(Tensor t) {
        return ((HostTensor) t.storage()).data();
    }

    /** The int array behind a host int32 tensor or view (index it from {@code t.offset()}). */
    public static int[] ints(Tensor t) {
        return ((HostTensor) t.storage()).intData();
    }

    /** Whether every given tensor (nulls skipped) starts at element 0 of its array: what the vector kernels that index from 0 need. */
    public static boolean atZero(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.offset() != 0) {
                return false;
            }
        }
        return true;
    }

    /** The element offset of a tensor or view within its array. */
    public static int at(Tensor t) {
        return (int) t.offset();
    }

    @Override
    protected void release() {
        floats = null;
        ints = null;
        halves = null;
    }
}
