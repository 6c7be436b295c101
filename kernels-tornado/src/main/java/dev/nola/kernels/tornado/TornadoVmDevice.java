package dev.nola.kernels.tornado;

import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.LiveTensors;
import dev.nola.kernels.Ops;
import dev.nola.kernels.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import uk.ac.manchester.tornado.api.common.TornadoDevice;

/**
 * One TornadoVM device ({@code tornado:B:D}). Tensors are off-heap {@code FloatArray}s; ops run
 * through persistent execution plans ({@link TornadoOps}) that are compiled once per kernel and
 * tensor set and keep read-only operands resident on the device. Every op has finished when it
 * returns (TornadoVM's {@code execute} blocks), and each op's output is copied back to its array,
 * so {@link #read} and {@link #synchronize} need no extra wait.
 *
 * <p>Closing the device frees every plan's device memory and closes every tensor.
 */
final class TornadoVmDevice implements Device {

    private final DeviceInfo info;
    private final TornadoDevice device;
    private final TornadoOps ops;
    private final LiveTensors live = new LiveTensors();
    private boolean closed;

    TornadoVmDevice(DeviceInfo info, TornadoDevice device) {
        this.info = info;
        this.device = device;
        this.ops = new TornadoOps(this, device);
    }

    TornadoDevice tornadoDevice() {
        return device;
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
        long limit = Math.min(Integer.MAX_VALUE - 8, info.maxAllocBytes() / Float.BYTES);
        if (n > limit) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n + " elements; device "
                    + info.id() + " holds at most " + limit + " per tensor");
        }
        return new TornadoTensor(this, live, shape, (int) n);
    }

    /** Drops the execution plans that hold a closing tensor. */
    void evict(TornadoTensor t) {
        ops.evict(t);
    }

    TornadoTensor tensor(String name, Tensor t) {
        return (TornadoTensor) Checks.on(this, name, t);
    }

    @Override
    public void write(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        open();
        TornadoTensor d = tensor("dst", dst);
        Checks.notNull("src", src);
        Checks.range("src", srcOffset, length, src.length);
        Checks.range("dst", dstOffset, length, d.size());
        MemorySegment.copy(src, srcOffset, d.array().getSegment(), ValueLayout.JAVA_FLOAT, dstOffset * Float.BYTES, length);
        d.touch();
    }

    @Override
    public void read(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        open();
        TornadoTensor s = tensor("src", src);
        Checks.notNull("dst", dst);
        Checks.range("src", srcOffset, length, s.size());
        Checks.range("dst", dstOffset, length, dst.length);
        MemorySegment.copy(s.array().getSegment(), ValueLayout.JAVA_FLOAT, srcOffset * Float.BYTES, dst, dstOffset, length);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        open();
        TornadoTensor s = tensor("src", src);
        TornadoTensor d = tensor("dst", dst);
        if (s.size() != d.size()) {
            throw new IllegalArgumentException("src has " + s.size() + " elements, dst has " + d.size() + "; sizes must match");
        }
        MemorySegment.copy(s.array().getSegment(), 0, d.array().getSegment(), 0, s.size() * Float.BYTES);
        d.touch();
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
            ops.closeAll();
            closed = true;
        }
    }
}
