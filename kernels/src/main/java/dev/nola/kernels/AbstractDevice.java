package dev.nola.kernels;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * What every backend's device shares: the open/closed state, the registry of open tensors, views, the
 * op families it provides, the per-device workspace, and the argument checks of {@link #write},
 * {@link #read} and {@link #copy}, so a bad range or a closed device fails the same way on every
 * backend (as the families' {@code Abstract…Ops} classes do for the ops).
 *
 * <p>Backends implement allocation and the {@code do…} transfers, which receive storage tensors and
 * absolute element offsets (views already resolved and ranges checked), register their families in
 * the constructor ({@link #provide}, or {@link #lack} with the reason), and hook into {@link #close()}
 * through {@link #drain()} and {@link #release()}.
 */
public abstract class AbstractDevice implements Device {

    /** The device's open tensors; backend tensors join it when created and it is closed with the device. */
    protected final LiveTensors live = new LiveTensors();
    private final Map<OpFamily, Object> families = new EnumMap<>(OpFamily.class);
    private final Map<OpFamily, String> missing = new EnumMap<>(OpFamily.class);
    private final Map<String, Tensor> workspaces = new HashMap<>();
    /**
     * Per int32 storage tensor: the least and greatest value ever written into it ([0, 0] when fresh).
     * Weak keys (tensors compare by identity), so closed tensors leave it.
     */
    private final Map<Tensor, int[]> intRanges = new WeakHashMap<>();
    private long allocations;
    private long transferCalls;
    private long bytesToDevice;
    private long bytesToHost;
    private long transferNanos;
    private boolean closed;

    /** How the device names itself in messages: its id, unless a backend says more. */
    protected String describe() {
        return id();
    }

    /** Throws {@link IllegalStateException} once the device is closed. */
    protected final void requireOpen() {
        if (closed) {
            throw new IllegalStateException("device " + describe() + " is closed");
        }
    }

    @Override
    public final boolean isClosed() {
        return closed;
    }

    /** Number of open storage tensors, workspaces included (for leak tests). */
    public final int liveTensors() {
        return live.count();
    }

    /** Number of device allocations made so far, workspace growth included (for tests that ops do not allocate). */
    public final long allocations() {
        return allocations;
    }

    /** Bytes held by the device's open tensors, workspaces included (element bytes, before any rounding by the backend). */
    public final long memoryBytes() {
        return live.bytes();
    }

    /** The most {@link #memoryBytes()} has been since the device opened or since {@link #resetPeakMemory()}. */
    public final long peakMemoryBytes() {
        return live.peakBytes();
    }

    /** Starts a new peak of {@link #peakMemoryBytes()} from what is held now. */
    public final void resetPeakMemory() {
        live.resetPeak();
    }

    /**
     * The host↔device transfers made so far through {@link #write} and {@link #read} (uploads
     * included): their count, bytes each way, and the wall time of the copies themselves. Each
     * transfer first waits for the work already enqueued, outside the timed part, so the time is the
     * copy's and not the kernels' before it. Device-to-device {@link #copy} is not a transfer.
     */
    public final TransferCounts transfers() {
        return new TransferCounts(transferCalls, bytesToDevice, bytesToHost, transferNanos);
    }

    /**
     * Counters a backend keeps beyond the shared ones, by name (e.g. TornadoVM's profiler sums under
     * {@code -Dnola.tornado.profile=true}); totals since the device opened, empty by default.
     */
    public Map<String, Long> backendCounters() {
        return Map.of();
    }

    private long startTransfer() {
        awaitBeforeTransfer();
        return System.nanoTime();
    }

    /**
     * Before a host transfer: waits for the enqueued work it may depend on ({@link #doSynchronize} by
     * default). A backend that orders transfers against its own work per tensor overrides it.
     */
    protected void awaitBeforeTransfer() {
        doSynchronize();
    }

    private void endTransfer(long t0, long toDevice, long toHost) {
        transferNanos += System.nanoTime() - t0;
        transferCalls++;
        bytesToDevice += toDevice;
        bytesToHost += toHost;
    }

    // ---------------------------------------------------------------- families

    /** Registers the implementation of a family (constructor time). */
    protected final void provide(OpFamily family, Object implementation) {
        if (!family.type().isInstance(implementation)) {
            throw new IllegalArgumentException(implementation + " does not implement " + family.type().getSimpleName());
        }
        families.put(family, implementation);
        missing.remove(family);
    }

    /** Registers each implementation under the family whose interface it implements (constructor time). */
    protected final void provideAll(Object... implementations) {
        for (Object impl : implementations) {
            boolean matched = false;
            for (OpFamily f : OpFamily.values()) {
                if (f.type().isInstance(impl)) {
                    provide(f, impl);
                    matched = true;
                }
            }
            if (!matched) {
                throw new IllegalArgumentException(impl + " implements no op family");
            }
        }
    }

    /** Records that this device lacks a family, and why (constructor time). */
    protected final void lack(OpFamily family, String reason) {
        families.remove(family);
        missing.put(family, reason);
    }

    @Override
    public final Availability supports(OpFamily family) {
        Checks.notNull("family", family);
        if (families.containsKey(family)) {
            return Availability.yes();
        }
        return Availability.no(missing.getOrDefault(family, "the " + family.label() + " family is not implemented on "
                + info().id()));
    }

    private <T> T family(OpFamily family, Class<T> type) {
        requireOpen();
        Object f = families.get(family);
        if (f == null) {
            throw new UnsupportedOperationException("device " + describe() + " has no " + family.label() + " ops: "
                    + supports(family).reason());
        }
        if (profile != null) {
            OpProfile p = profile;
            f = profiled.computeIfAbsent(family, k -> p.wrap(this, k, families.get(k)));
        }
        return type.cast(f);
    }

    private OpProfile profile;
    private final Map<OpFamily, Object> profiled = new EnumMap<>(OpFamily.class);

    /**
     * Times every op this device runs from now on into {@code profile} (each op between two
     * synchronisations, see {@link OpProfile}), or stops timing with {@code null}. Families fetched
     * before the call are not timed: callers fetch them per use ({@code device.nn()}).
     */
    public final void profile(OpProfile profile) {
        this.profile = profile;
        profiled.clear();
    }

    @Override
    public final RandomOps random() {
        return family(OpFamily.RANDOM, RandomOps.class);
    }

    @Override
    public final NolaOps nola() {
        return family(OpFamily.NOLA, NolaOps.class);
    }

    @Override
    public final LinalgOps linalg() {
        return family(OpFamily.LINALG, LinalgOps.class);
    }

    @Override
    public final AdapterOps adapter() {
        return family(OpFamily.ADAPTER, AdapterOps.class);
    }

    @Override
    public final NnOps nn() {
        return family(OpFamily.NN, NnOps.class);
    }

    @Override
    public final OptimOps optim() {
        return family(OpFamily.OPTIM, OptimOps.class);
    }

    // ---------------------------------------------------------------- memory

    /**
     * Limits the bytes of storage tensors this device may hold at once (0: no limit beyond the device's own):
     * an allocation past it is refused with a {@link DeviceMemoryExhausted} before anything is allocated. Set
     * from {@code RuntimeSettings.memoryLimit()} when the device is opened ({@code Backends.open}).
     */
    public final void limitMemory(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("memory limit is " + bytes + " bytes; expected >= 0 (0 for none)");
        }
        this.memoryLimit = bytes;
    }

    /** The limit {@link #limitMemory} set, 0 for none. */
    public final long memoryLimit() {
        return memoryLimit;
    }

    private long memoryLimit;

    @Override
    public final Availability holds(DType dtype) {
        Checks.notNull("dtype", dtype);
        return dtype == DType.BF16 ? bf16Support() : Availability.yes();
    }

    /** Whether this backend implements the bfloat16 operands (matmul's b, the embedding table); yes unless overridden. */
    protected Availability bf16Support() {
        return Availability.yes();
    }

    @Override
    public final Tensor allocate(DType dtype, int... shape) {
        requireOpen();
        Checks.notNull("dtype", dtype);
        Availability a = holds(dtype);
        if (!a.available()) {
            throw new UnsupportedOperationException("device " + describe() + " cannot hold " + dtype.label() + " tensors: "
                    + a.reason());
        }
        long n = Checks.shape("shape", shape);
        if (memoryLimit > 0) {
            long bytes = Math.multiplyHigh(n, dtype.bytes()) != 0 ? Long.MAX_VALUE : n * dtype.bytes();
            long inUse = live.bytes();
            if (bytes > memoryLimit - inUse) {
                throw DeviceMemoryExhausted.of(id(), dtype, shape, bytes, inUse, memoryLimit);
            }
        }
        Tensor t = doAllocate(dtype, shape, n);
        allocations++;
        if (dtype == DType.INT32) {
            intRanges.put(t, new int[] {0, 0});
        }
        return t;
    }

    /**
     * A conservative range of an int32 tensor's values: the least and greatest value ever written into
     * its storage from the host or by a copy ({@code [0, 0]} for a fresh one). Checking layers use it to
     * reject out-of-range ids and labels without reading them back; only when the range says "maybe"
     * do they read the values.
     */
    public final int[] valueRange(Tensor ints) {
        Checks.onInts(this, "ints", ints);
        int[] r = intRanges.get(ints.storage());
        return r == null ? new int[] {Integer.MIN_VALUE, Integer.MAX_VALUE} : r.clone();
    }

    private void widen(Tensor storage, int lo, int hi) {
        int[] r = intRanges.computeIfAbsent(storage, s -> new int[] {lo, hi});
        r[0] = Math.min(r[0], lo);
        r[1] = Math.max(r[1], hi);
    }

    /** Allocates a zero-filled storage tensor of a checked shape with {@code n} elements. */
    protected abstract Tensor doAllocate(DType dtype, int[] shape, long n);

    @Override
    public final Tensor view(Tensor parent, long offset, int... shape) {
        requireOpen();
        Checks.onAny(this, "parent", parent);
        long n = Checks.shape("shape", shape);
        if (offset < 0 || offset > parent.size() - n) {
            throw new IllegalArgumentException("view of shape " + java.util.Arrays.toString(shape) + " at offset " + offset
                    + " covers elements [" + offset + ", " + (offset + n) + "), outside the parent's [0, " + parent.size()
                    + ") (shape " + java.util.Arrays.toString(parent.shape()) + ")");
        }
        return new TensorView(parent.storage(), parent.offset() + offset, shape, n);
    }

    /**
     * A float32 scratch tensor of at least {@code elements} for a backend's kernels, one per
     * {@code purpose}: allocated on first use, grown when a larger one is asked for, and otherwise
     * reused, so ops allocate nothing per call. Ops run in order on the device's queue, so two ops may
     * share a purpose; two buffers live within one op need two purposes. Freed with the device.
     *
     * @param purpose what the scratch holds, e.g. {@code "matmul.packedB"}
     * @param elements the floats needed, &gt; 0
     */
    public final Tensor workspace(String purpose, long elements) {
        requireOpen();
        Checks.notNull("purpose", purpose);
        if (elements <= 0 || elements > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("workspace '" + purpose + "' of " + elements
                    + " floats; expected 1 .. " + (Integer.MAX_VALUE - 8));
        }
        Tensor t = workspaces.get(purpose);
        if (t == null || t.isClosed() || t.size() < elements) {
            if (t != null) {
                t.close(); // the runtime keeps memory alive until enqueued kernels that use it finish
                workspaces.remove(purpose);
            }
            try {
                t = allocate(DType.FLOAT32, (int) elements);
            } catch (DeviceMemoryExhausted e) {
                throw e.named("workspace " + purpose);
            }
            workspaces.put(purpose, t);
        }
        return t;
    }

    // ---------------------------------------------------------------- transfers

    @Override
    public final void write(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        requireOpen();
        Checks.onFloats(this, "dst", dst);
        Checks.notNull("src", src);
        Checks.range("src", srcOffset, length, src.length);
        Checks.range("dst", dstOffset, length, dst.size());
        long t0 = startTransfer();
        doWrite(dst.storage(), dst.offset() + dstOffset, src, srcOffset, length);
        endTransfer(t0, (long) dst.dtype().bytes() * length, 0);
    }

    @Override
    public final void write(Tensor dst, long dstOffset, int[] src, int srcOffset, int length) {
        requireOpen();
        Checks.onInts(this, "dst", dst);
        Checks.notNull("src", src);
        Checks.range("src", srcOffset, length, src.length);
        Checks.range("dst", dstOffset, length, dst.size());
        if (length > 0) {
            int lo = Integer.MAX_VALUE;
            int hi = Integer.MIN_VALUE;
            for (int i = srcOffset; i < srcOffset + length; i++) {
                lo = Math.min(lo, src[i]);
                hi = Math.max(hi, src[i]);
            }
            widen(dst.storage(), lo, hi);
        }
        long t0 = startTransfer();
        doWriteInts(dst.storage(), dst.offset() + dstOffset, src, srcOffset, length);
        endTransfer(t0, 4L * length, 0);
    }

    @Override
    public final void read(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        requireOpen();
        Checks.onFloats(this, "src", src);
        Checks.notNull("dst", dst);
        Checks.range("src", srcOffset, length, src.size());
        Checks.range("dst", dstOffset, length, dst.length);
        long t0 = startTransfer();
        doRead(src.storage(), src.offset() + srcOffset, dst, dstOffset, length);
        endTransfer(t0, 0, (long) src.dtype().bytes() * length);
    }

    @Override
    public final void read(Tensor src, long srcOffset, int[] dst, int dstOffset, int length) {
        requireOpen();
        Checks.onInts(this, "src", src);
        Checks.notNull("dst", dst);
        Checks.range("src", srcOffset, length, src.size());
        Checks.range("dst", dstOffset, length, dst.length);
        long t0 = startTransfer();
        doReadInts(src.storage(), src.offset() + srcOffset, dst, dstOffset, length);
        endTransfer(t0, 0, 4L * length);
    }

    @Override
    public final void copy(Tensor src, Tensor dst) {
        requireOpen();
        Checks.onAny(this, "src", src);
        Checks.onAny(this, "dst", dst);
        if (src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("src is " + src.dtype().label() + ", dst is " + dst.dtype().label()
                    + "; copy needs the same element type");
        }
        if (src.size() != dst.size()) {
            throw new IllegalArgumentException("src has " + src.size() + " elements, dst has " + dst.size() + "; sizes must match");
        }
        if (src.storage() == dst.storage() && src.offset() == dst.offset()) {
            return; // the same elements
        }
        Checks.noOverlap("dst", dst, "src", src);
        if (src.dtype() == DType.INT32) {
            int[] r = valueRange(src);
            widen(dst.storage(), r[0], r[1]);
        }
        if (profile != null) {
            profile.time(this, "device.copy", () -> doCopy(src.storage(), src.offset(), dst.storage(), dst.offset(), src.size()));
        } else {
            doCopy(src.storage(), src.offset(), dst.storage(), dst.offset(), src.size());
        }
    }

    @Override
    public final void synchronize() {
        requireOpen();
        doSynchronize();
    }

    @Override
    public final void capture(Runnable work) {
        requireOpen();
        Checks.notNull("work", work);
        doCapture(work);
    }

    /** Runs a {@link #capture}: by default the ops simply run as they are issued. */
    protected void doCapture(Runnable work) {
        work.run();
    }

    /** Closes every tensor and the backend's resources; idempotent. */
    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            drain();
        } finally {
            try {
                workspaces.clear();
                intRanges.clear();
                live.closeAll();
            } finally {
                release();
            }
        }
    }

    /**
     * Copies {@code length} floats from the host into a float32 or bfloat16 storage tensor at an absolute,
     * checked offset (bfloat16: each rounded with {@link BFloat16#round(float)}).
     */
    protected abstract void doWrite(Tensor dst, long dstOffset, float[] src, int srcOffset, int length);

    /** Copies {@code length} ints from the host into a storage tensor at an absolute, checked offset. */
    protected abstract void doWriteInts(Tensor dst, long dstOffset, int[] src, int srcOffset, int length);

    /** Copies {@code length} elements of a float32 or bfloat16 (widened) storage tensor to the host as floats, after all enqueued work. */
    protected abstract void doRead(Tensor src, long srcOffset, float[] dst, int dstOffset, int length);

    /** Copies {@code length} ints of a storage tensor to the host, after all enqueued work. */
    protected abstract void doReadInts(Tensor src, long srcOffset, int[] dst, int dstOffset, int length);

    /** Copies {@code n} elements between non-overlapping ranges of storage tensors of one element type. */
    protected abstract void doCopy(Tensor src, long srcOffset, Tensor dst, long dstOffset, long n);

    /** Waits for enqueued work; nothing for devices that run synchronously. */
    protected void doSynchronize() {
    }

    /** First step of close: finish enqueued work (the device already counts as closed). */
    protected void drain() {
    }

    /** Last step of close, after every tensor is closed: free the backend's own resources. */
    protected void release() {
    }
}
