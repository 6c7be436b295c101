package dev.nola.kernels.host;

import dev.nola.kernels.AbstractTensor;
import dev.nola.kernels.DType;
import dev.nola.kernels.LiveTensors;
import dev.nola.kernels.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * A tensor in host memory, for the host backends. Its storage is one of two kinds, chosen by the
 * device ({@link HostDevice.Memory}):
 * <ul>
 *   <li>{@code HEAP} ({@code reference}): a float[], an int[] or, for bfloat16, a short[] of the raw
 *       16-bit patterns, by element type, reached through {@link #floats(Tensor)} / {@link #ints(Tensor)}
 *       / {@link #halves(Tensor)} and the element {@link Tensor#offset()};</li>
 *   <li>{@code NATIVE} ({@code cpu}): one 64-byte aligned native segment of
 *       {@code size · dtype.bytes()} bytes (a bfloat16 tensor is 2-byte elements, read as
 *       {@code JAVA_SHORT}), freed when the tensor closes, reached through {@link #segment(Tensor)}
 *       (indexed from the offset) or {@link #slice(Tensor)} (the view's elements only, from 0).</li>
 * </ul>
 * A heap tensor also answers {@link #segment(Tensor)}, with a segment over its array (so a cpu family
 * can run on a heap device, as the contract tests' mixed devices do); asking a native tensor for an
 * array is a programming error and says so.
 */
public final class HostTensor extends AbstractTensor {

    private float[] floats;
    private int[] ints;
    private short[] halves;
    private NativeMemory.Block block;
    private MemorySegment heapSegment;

    HostTensor(HostDevice device, LiveTensors owner, DType dtype, int[] shape, int size, HostDevice.Memory memory) {
        super(device, owner, dtype, shape, size);
        if (memory == HostDevice.Memory.NATIVE) {
            this.block = NativeMemory.allocate((long) size * dtype.bytes());
            return;
        }
        switch (dtype) {
            case FLOAT32 -> this.heapSegment = MemorySegment.ofArray(this.floats = new float[size]);
            case INT32 -> this.heapSegment = MemorySegment.ofArray(this.ints = new int[size]);
            case BF16 -> this.heapSegment = MemorySegment.ofArray(this.halves = new short[size]);
        }
    }

    /** The backing float array of a float32 heap tensor; valid until it is closed. */
    public float[] data() {
        requireOpen();
        if (floats == null) {
            throw wrongKind("a float[]");
        }
        return floats;
    }

    /** The backing int array of an int32 heap tensor; valid until it is closed. */
    public int[] intData() {
        requireOpen();
        if (ints == null) {
            throw wrongKind("an int[]");
        }
        return ints;
    }

    /** The bfloat16 bits of a bfloat16 heap tensor; valid until it is closed. */
    public short[] halfData() {
        requireOpen();
        if (halves == null) {
            throw wrongKind("a short[]");
        }
        return halves;
    }

    /** All the bytes of this tensor as a segment (native, or over its heap array); valid until it is closed. */
    public MemorySegment segmentData() {
        requireOpen();
        return block != null ? block.segment() : heapSegment;
    }

    private IllegalStateException wrongKind(String asked) {
        return new IllegalStateException("tensor " + this + " is held " + (block != null ? "in native memory" : "on the heap")
                + "; " + asked + " was asked for");
    }

    /**
     * The bfloat16 bits behind a heap bfloat16 tensor or view (index it from {@code t.offset()}; widen
     * with {@code BFloat16.widen}).
     */
    public static short[] halves(Tensor t) {
        return ((HostTensor) t.storage()).halfData();
    }

    /** The float array behind a heap host tensor or view (index it from {@code t.offset()}). */
    public static float[] floats(Tensor t) {
        return ((HostTensor) t.storage()).data();
    }

    /** The int array behind a heap host int32 tensor or view (index it from {@code t.offset()}). */
    public static int[] ints(Tensor t) {
        return ((HostTensor) t.storage()).intData();
    }

    /** The segment behind a host tensor or view, whole (index its elements from {@code t.offset()}). */
    public static MemorySegment segment(Tensor t) {
        return ((HostTensor) t.storage()).segmentData();
    }

    /** The bytes of exactly a tensor or view's elements, element 0 at byte 0; null for null. */
    public static MemorySegment slice(Tensor t) {
        if (t == null) {
            return null;
        }
        long bytes = t.dtype().bytes();
        return segment(t).asSlice(t.offset() * bytes, t.size() * bytes);
    }

    /** Whether a host tensor or view is held in native memory. */
    public static boolean isNative(Tensor t) {
        return ((HostTensor) t.storage()).block != null;
    }

    /** The element offset of a tensor or view within its storage. */
    public static int at(Tensor t) {
        return (int) t.offset();
    }

    @Override
    protected void release() {
        floats = null;
        ints = null;
        halves = null;
        heapSegment = null;
        if (block != null) {
            NativeMemory.Block b = block;
            block = null;
            NativeMemory.free(b);
        }
    }
}
