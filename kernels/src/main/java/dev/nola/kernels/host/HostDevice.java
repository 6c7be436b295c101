package dev.nola.kernels.host;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Checks;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Ops;
import dev.nola.kernels.Tensor;
import java.util.function.Function;

/**
 * A device whose memory is the JVM heap: the {@code reference} and {@code cpu} backends. Work runs
 * synchronously on the calling thread (and, for {@code cpu}, its fork-join pool).
 */
public final class HostDevice extends AbstractDevice {

    /** The largest host tensor: a Java array's limit. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private final DeviceInfo info;
    private final Ops ops;

    /**
     * @param info the device description
     * @param ops  makes this device's ops (called once, with this device)
     */
    public HostDevice(DeviceInfo info, Function<HostDevice, Ops> ops) {
        this.info = info;
        this.ops = ops.apply(this);
    }

    @Override
    public DeviceInfo info() {
        return info;
    }

    @Override
    public Tensor allocate(int... shape) {
        requireOpen();
        long n = Checks.shape("shape", shape);
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " has " + n
                    + " elements; device " + info.id() + " holds at most " + MAX_ELEMENTS + " per tensor");
        }
        return new HostTensor(this, live, shape, (int) n);
    }

    private static float[] data(Tensor t) {
        return ((HostTensor) t).data();
    }

    @Override
    protected void doWrite(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        System.arraycopy(src, srcOffset, data(dst), (int) dstOffset, length);
    }

    @Override
    protected void doRead(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        System.arraycopy(data(src), (int) srcOffset, dst, dstOffset, length);
    }

    @Override
    protected void doCopy(Tensor src, Tensor dst) {
        float[] s = data(src);
        System.arraycopy(s, 0, data(dst), 0, s.length);
    }

    @Override
    public Ops ops() {
        requireOpen();
        return ops;
    }
}
