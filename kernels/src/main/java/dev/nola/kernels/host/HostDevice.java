package dev.nola.kernels.host;

import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.LiveTensors;
import dev.nola.kernels.Ops;
import dev.nola.kernels.Tensor;
import java.util.function.Function;

/**
 * A device whose memory is the JVM heap: the {@code reference} and {@code cpu} backends. Work runs
 * synchronously on the calling thread (and, for {@code cpu}, its fork-join pool).
 */
public final class HostDevice implements Device {

    /** The largest host tensor: a Java array's limit. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private final DeviceInfo info;
    private final Ops ops;
    private final LiveTensors live = new LiveTensors();
    private boolean closed;

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

    private void open() {
        if (closed) {
            throw new IllegalStateException("device " + info.id() + " is closed");
        }
    }

    @Override
    public Tensor allocate(int... shape) {
        open();
        long n = Checks.shape("shape", shape);
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " has " + n
                    + " elements; device " + info.id() + " holds at most " + MAX_ELEMENTS + " per tensor");
        }
        return new HostTensor(this, live, shape, (int) n);
    }

    /** Number of open tensors (for leak tests). */
    public int liveTensors() {
        return live.count();
    }

    private float[] data(String name, Tensor t) {
        return ((HostTensor) Checks.on(this, name, t)).data();
    }

    @Override
    public void write(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        open();
        float[] d = data("dst", dst);
        Checks.notNull("src", src);
        Checks.range("src", srcOffset, length, src.length);
        Checks.range("dst", dstOffset, length, d.length);
        System.arraycopy(src, srcOffset, d, (int) dstOffset, length);
    }

    @Override
    public void read(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        open();
        float[] s = data("src", src);
        Checks.notNull("dst", dst);
        Checks.range("src", srcOffset, length, s.length);
        Checks.range("dst", dstOffset, length, dst.length);
        System.arraycopy(s, (int) srcOffset, dst, dstOffset, length);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        open();
        float[] s = data("src", src);
        float[] d = data("dst", dst);
        if (s.length != d.length) {
            throw new IllegalArgumentException("src has " + s.length + " elements, dst has " + d.length + "; sizes must match");
        }
        System.arraycopy(s, 0, d, 0, s.length);
    }

    @Override
    public Ops ops() {
        open();
        return ops;
    }

    @Override
    public void synchronize() {
        open();
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (!closed) {
            live.closeAll();
            closed = true;
        }
    }
}
