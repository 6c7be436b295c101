package dev.nola.kernels.host;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DType;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import java.util.List;
import java.util.function.Function;

/**
 * A device whose memory is the JVM heap: the {@code reference} and {@code cpu} backends. Work runs
 * synchronously on the calling thread (and, for {@code cpu}, its fork-join pool).
 */
public final class HostDevice extends AbstractDevice {

    /** The largest host tensor: a Java array's limit. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private final DeviceInfo info;

    /**
     * @param info     the device description
     * @param families makes this device's op families (called once, with this device); each is
     *                 registered under the family interface it implements
     */
    public HostDevice(DeviceInfo info, Function<HostDevice, List<Object>> families) {
        this.info = info;
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
        return new HostTensor(this, live, dtype, shape, (int) n);
    }

    @Override
    protected void doWrite(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        if (dst.dtype() == DType.BF16) {
            BFloat16.round(src, srcOffset, HostTensor.halves(dst), (int) dstOffset, length);
            return;
        }
        System.arraycopy(src, srcOffset, HostTensor.floats(dst), (int) dstOffset, length);
    }

    @Override
    protected void doWriteInts(Tensor dst, long dstOffset, int[] src, int srcOffset, int length) {
        System.arraycopy(src, srcOffset, HostTensor.ints(dst), (int) dstOffset, length);
    }

    @Override
    protected void doRead(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        if (src.dtype() == DType.BF16) {
            BFloat16.widen(HostTensor.halves(src), (int) srcOffset, dst, dstOffset, length);
            return;
        }
        System.arraycopy(HostTensor.floats(src), (int) srcOffset, dst, dstOffset, length);
    }

    @Override
    protected void doReadInts(Tensor src, long srcOffset, int[] dst, int dstOffset, int length) {
        System.arraycopy(HostTensor.ints(src), (int) srcOffset, dst, dstOffset, length);
    }

    @Override
    protected void doCopy(Tensor src, long srcOffset, Tensor dst, long dstOffset, long n) {
        switch (src.dtype()) {
            case FLOAT32 -> System.arraycopy(HostTensor.floats(src), (int) srcOffset, HostTensor.floats(dst), (int) dstOffset, (int) n);
            case INT32 -> System.arraycopy(HostTensor.ints(src), (int) srcOffset, HostTensor.ints(dst), (int) dstOffset, (int) n);
            case BF16 -> System.arraycopy(HostTensor.halves(src), (int) srcOffset, HostTensor.halves(dst), (int) dstOffset, (int) n);
        }
    }
}
