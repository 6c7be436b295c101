package dev.nola.kernels.host;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DType;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

/**
 * A device in this process's memory: the {@code reference} backend (tensors on the JVM heap) and the
 * {@code cpu} backend (tensors in native memory, so they are never moved or collected by the GC and
 * the heap stays small). Work runs synchronously on the calling thread (and, for {@code cpu}, its
 * fork-join pool).
 */
public final class HostDevice extends AbstractDevice {

    /** The largest host tensor: a Java array's limit. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    /** Where a host device keeps its tensors. */
    public enum Memory {
        /** Java arrays on the heap (the reference backend: its kernels stay plain array loops). */
        HEAP,
        /** 64-byte aligned native memory, freed when a tensor or the device closes (the cpu backend). */
        NATIVE
    }

    private final DeviceInfo info;
    private final Memory memory;

    /**
     * A device with its tensors on the heap.
     *
     * @param info     the device description
     * @param families makes this device's op families (called once, with this device); each is
     *                 registered under the family interface it implements
     */
    public HostDevice(DeviceInfo info, Function<HostDevice, List<Object>> families) {
        this(info, Memory.HEAP, families);
    }

    /**
     * @param info     the device description
     * @param memory   where its tensors are held (the reference families read heap tensors only; the cpu
     *                 families read either, through {@link HostTensor#segment})
     * @param families makes this device's op families (called once, with this device); each is
     *                 registered under the family interface it implements
     */
    public HostDevice(DeviceInfo info, Memory memory, Function<HostDevice, List<Object>> families) {
        this.info = info;
        this.memory = memory;
        provideAll(families.apply(this).toArray());
    }

    @Override
    public DeviceInfo info() {
        return info;
    }

    @Override
    protected Tensor doAllocate(DType dtype, int[] shape, long n) {
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " has " + n
                    + " elements; device " + info.id() + " holds at most " + MAX_ELEMENTS + " per tensor");
        }
        return new HostTensor(this, live, dtype, shape, (int) n, memory);
    }

    // Every host tensor answers HostTensor.segment (native, or over its heap array), so one copy
    // path serves both kinds of memory.

    @Override
    protected void doWrite(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        MemorySegment d = HostTensor.segment(dst);
        if (dst.dtype() == DType.BF16) { // rounded to nearest even, element by element (BFloat16, the one definition)
            for (int i = 0; i < length; i++) {
                d.setAtIndex(JAVA_SHORT, dstOffset + i, BFloat16.round(src[srcOffset + i]));
            }
            return;
        }
        MemorySegment.copy(src, srcOffset, d, JAVA_FLOAT, dstOffset * Float.BYTES, length);
    }

    @Override
    protected void doWriteInts(Tensor dst, long dstOffset, int[] src, int srcOffset, int length) {
        MemorySegment.copy(src, srcOffset, HostTensor.segment(dst), JAVA_INT, dstOffset * Integer.BYTES, length);
    }

    @Override
    protected void doRead(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        MemorySegment s = HostTensor.segment(src);
        if (src.dtype() == DType.BF16) { // widened exactly
            for (int i = 0; i < length; i++) {
                dst[dstOffset + i] = BFloat16.widen(s.getAtIndex(JAVA_SHORT, srcOffset + i));
            }
            return;
        }
        MemorySegment.copy(s, JAVA_FLOAT, srcOffset * Float.BYTES, dst, dstOffset, length);
    }

    @Override
    protected void doReadInts(Tensor src, long srcOffset, int[] dst, int dstOffset, int length) {
        MemorySegment.copy(HostTensor.segment(src), JAVA_INT, srcOffset * Integer.BYTES, dst, dstOffset, length);
    }

    @Override
    protected void doCopy(Tensor src, long srcOffset, Tensor dst, long dstOffset, long n) {
        long bytes = src.dtype().bytes();
        MemorySegment.copy(HostTensor.segment(src), srcOffset * bytes, HostTensor.segment(dst), dstOffset * bytes, n * bytes);
    }
}
