package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Availability;
import dev.nola.kernels.DType;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import uk.ac.manchester.tornado.api.common.TornadoDevice;

/**
 * One TornadoVM device ({@code tornado:B:D}). Tensors are off-heap {@code FloatArray}s (float32) or
 * {@code IntArray}s (int32); ops run through persistent execution plans ({@link TornadoPlans}, shared
 * by the families {@link TornadoRandomOps}, {@link TornadoNolaOps}, {@link TornadoLinalgOps},
 * {@link TornadoAdapterOps} and {@link TornadoOptimOps}) that are compiled once per kernel and tensor set and keep read-only
 * operands resident on the device. Every op has finished when it returns (TornadoVM's
 * {@code execute} blocks), and each op's output is copied back to its array. Inside a
 * {@link #capture} ops are recorded and run together as one execution plan ({@link Segment}) whose
 * outputs stay on the device until the host reads them.
 *
 * <p>Closing the device frees every plan's device memory and closes every tensor.
 */
final class TornadoVmDevice extends AbstractDevice {

    private final DeviceInfo info;
    private final TornadoDevice device;
    private final TornadoPlans plans;
    /** Where float32 tensors live (null: each has an array of its own, {@code -Dnola.tornado.arenas=false}). */
    private final TornadoArenas arenas;

    TornadoVmDevice(DeviceInfo info, TornadoDevice device) {
        this(info, device, new TornadoPlans(device));
    }

    /** With the given plan cache (tests choose its layout); float32 tensors in arenas as its options say. */
    TornadoVmDevice(DeviceInfo info, TornadoDevice device, TornadoPlans plans) {
        this(info, device, plans, plans.options().arenas());
    }

    /** With the given plan cache, and float32 tensors in arenas or each in an array of its own. */
    TornadoVmDevice(DeviceInfo info, TornadoDevice device, TornadoPlans plans, boolean arenas) {
        this.info = info;
        this.device = device;
        this.plans = plans;
        this.arenas = arenas ? new TornadoArenas(maxChunkFloats(info.maxAllocBytes())) : null;
        provideAll(new TornadoRandomOps(this), new TornadoNolaOps(this), new TornadoLinalgOps(this),
                new TornadoAdapterOps(this), new TornadoOptimOps(this), new TornadoNnOps(this));
    }

    /**
     * Segments built and run ({@link #capture}), and TornadoVM's profiler sums over every plan run so
     * far (with {@code -Dnola.tornado.profile=true}).
     */
    @Override
    public Map<String, Long> backendCounters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("tornado.segments_built", plans.capture().segmentsBuilt());
        m.put("tornado.segment_runs", plans.capture().segmentRuns());
        m.put("tornado.segment_tasks", plans.capture().tasksBuilt());
        m.put("tornado.segment_tasks_shared", plans.capture().kernelsShared());
        m.put("tornado.arena_bytes", arenas == null ? 0 : arenas.bytes());
        m.putAll(plans.profile().counters());
        return m;
    }

    /**
     * Floats per arena at most: 64 Mi (256 MiB), or less where the device allocates less per buffer
     * (at least the first chunk's size; a larger tensor gets a chunk of its own).
     */
    private static int maxChunkFloats(long maxAllocBytes) {
        long header = TornadoArenas.headerFloats() + TornadoArenas.ALIGN;
        return (int) Math.max(TornadoArenas.FIRST_CHUNK, Math.min(64L << 20, maxAllocBytes / 4 - header));
    }

    /** The arenas float32 tensors live in, or null when they are off. */
    TornadoArenas arenas() {
        return arenas;
    }

    TornadoDevice tornadoDevice() {
        return device;
    }

    /** The plan cache and layout the families share. */
    TornadoPlans plans() {
        return plans;
    }

    @Override
    public DeviceInfo info() {
        return info;
    }

    /** {@code tornado:B:D (name)}, for messages. */
    @Override
    protected String describe() {
        return info.id() + " (" + info.name() + ")";
    }

    /** The TornadoVM kernels read float32 weights only; a bfloat16 tensor is refused at allocation, with this reason. */
    @Override
    protected Availability bf16Support() {
        return Availability.no("the tornado backend has no bfloat16 kernels (matmul's b, the embedding table); use"
                + " --weights f32 here, or the cpu or opencl backend for bf16");
    }

    @Override
    protected Tensor doAllocate(DType dtype, int[] shape, long n) {
        long limit = Math.min(Integer.MAX_VALUE - 8, info.maxAllocBytes() / dtype.bytes());
        if (n > limit) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n + " elements; device "
                    + describe() + " holds at most " + limit + " per tensor");
        }
        TornadoArenas.Region region = arenas != null && dtype == DType.FLOAT32 ? arenas.place((int) n) : null;
        return new TornadoTensor(this, live, dtype, shape, (int) n, region);
    }

    /**
     * Records the ops {@code work} issues and runs them as one execution plan ({@link Segment}), built
     * the first time this sequence runs and replayed afterwards: data stays on the device between the
     * ops and nothing is copied back until the host reads it (see {@link Capture#run}).
     */
    @Override
    protected void doCapture(Runnable work) {
        plans.capture().run(work);
    }

    /** Host transfers wait per tensor ({@link Capture#beforeHostRead}), so a capture is not split by unrelated ones. */
    @Override
    protected void awaitBeforeTransfer() {
    }

    /** Runs what a capture has recorded so far (TornadoVM's own executions block). */
    @Override
    protected void doSynchronize() {
        plans.capture().flush();
    }

    /** Closing: recorded ops are dropped and no segment copies its data back. */
    @Override
    protected void drain() {
        plans.capture().discard();
    }

    /** Drops the execution plans that hold a closing tensor. */
    void evict(TornadoTensor t) {
        plans.evict(t);
    }

    private static TornadoTensor storage(Tensor t) {
        return (TornadoTensor) t;
    }

    @Override
    protected void doWrite(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        TornadoTensor d = storage(dst);
        plans.capture().beforeHostWrite(d);
        MemorySegment.copy(src, srcOffset, d.segment(), ValueLayout.JAVA_FLOAT, dstOffset * Float.BYTES, length);
        d.touch();
    }

    @Override
    protected void doWriteInts(Tensor dst, long dstOffset, int[] src, int srcOffset, int length) {
        TornadoTensor d = storage(dst);
        plans.capture().beforeHostWrite(d);
        MemorySegment.copy(src, srcOffset, d.segment(), ValueLayout.JAVA_INT, dstOffset * Integer.BYTES, length);
        d.touch();
    }

    @Override
    protected void doRead(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        plans.capture().beforeHostRead(storage(src));
        MemorySegment.copy(storage(src).segment(), ValueLayout.JAVA_FLOAT, srcOffset * Float.BYTES, dst, dstOffset, length);
    }

    @Override
    protected void doReadInts(Tensor src, long srcOffset, int[] dst, int dstOffset, int length) {
        plans.capture().beforeHostRead(storage(src));
        MemorySegment.copy(storage(src).segment(), ValueLayout.JAVA_INT, srcOffset * Integer.BYTES, dst, dstOffset, length);
    }

    /** A host copy between the arrays (ranges do not overlap; both element types are 4 bytes). */
    @Override
    protected void doCopy(Tensor src, long srcOffset, Tensor dst, long dstOffset, long n) {
        TornadoTensor d = storage(dst);
        if (plans.recording() && d.dtype() == DType.FLOAT32) {
            // inside a capture a copy is a recorded kernel, so the step stays one segment
            ((TornadoLinalgOps) linalg()).copyOnDevice(view(src, srcOffset, (int) n), view(dst, dstOffset, (int) n), n);
            return;
        }
        plans.capture().beforeHostRead(storage(src));
        plans.capture().beforeHostWrite(d);
        MemorySegment.copy(storage(src).segment(), srcOffset * Float.BYTES, d.segment(), dstOffset * Float.BYTES,
                n * Float.BYTES);
        d.touch();
    }

    /** After the tensors (whose close already evicted their plans): the remaining plans' device memory. */
    @Override
    protected void release() {
        plans.closeAll();
    }
}
