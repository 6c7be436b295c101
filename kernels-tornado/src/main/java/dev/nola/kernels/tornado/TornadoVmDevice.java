package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Checks;
import dev.nola.kernels.DeviceInfo;
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
final class TornadoVmDevice extends AbstractDevice {

    private final DeviceInfo info;
    private final TornadoDevice device;
    private final TornadoOps ops;

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

    @Override
    public Tensor allocate(int... shape) {
        requireOpen();
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

    @Override
    protected void doWrite(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        TornadoTensor d = (TornadoTensor) dst;
        MemorySegment.copy(src, srcOffset, d.array().getSegment(), ValueLayout.JAVA_FLOAT, dstOffset * Float.BYTES, length);
        d.touch();
    }

    @Override
    protected void doRead(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        MemorySegment.copy(((TornadoTensor) src).array().getSegment(), ValueLayout.JAVA_FLOAT, srcOffset * Float.BYTES,
                dst, dstOffset, length);
    }

    @Override
    protected void doCopy(Tensor src, Tensor dst) {
        TornadoTensor d = (TornadoTensor) dst;
        MemorySegment.copy(((TornadoTensor) src).array().getSegment(), 0, d.array().getSegment(), 0,
                src.size() * Float.BYTES);
        d.touch();
    }

    @Override
    public Ops ops() {
        requireOpen();
        return ops;
    }

    /** After the tensors (whose close already evicted their plans): the remaining plans' device memory. */
    @Override
    protected void release() {
        ops.closeAll();
    }
}
