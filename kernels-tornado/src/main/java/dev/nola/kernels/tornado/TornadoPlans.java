package dev.nola.kernels.tornado;

import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import java.util.concurrent.atomic.AtomicLong;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * What the TornadoVM op families of one device share: where their calls start ({@link #call}, the
 * one {@link KernelCall} builder), the cache of compiled plans ({@link PlanCache}), capture
 * ({@link Capture}) and the {@link MemoryBudget} they share, the {@link Placeholders}, the device's
 * switches ({@link TornadoOptions}) and profiler sums, and the layout choice (CPU-shaped kernels or one
 * element per work-item).
 *
 * <p>Outside a capture a call runs its cached plan, which moves only what changed:
 * <ul>
 *   <li>the materialised basis of {@code mix} and {@code coefficientGradient} is resident: copied to
 *       the device on the plan's first run only, the plan replaced if the basis is written again;</li>
 *   <li>coefficients, gradients, matmul operands and the per-call parameters are copied in on every
 *       call (they change every step), and each op's output is copied back to its array.</li>
 * </ul>
 *
 * <p>OpenCL build options are {@value #OPENCL_FLAGS} (TornadoVM's default adds
 * {@code -cl-mad-enable -cl-fast-relaxed-math}, which would break the bit-identical mix).
 */
final class TornadoPlans {

    /** OpenCL C options for every plan: no fast-math, so fma stays fma and sums keep their order. */
    static final String OPENCL_FLAGS = "-cl-std=CL1.2";

    private static final AtomicLong NAMES = new AtomicLong();

    private final TornadoDevice device;
    private final TornadoOptions options;
    private final TornadoProfile profile;
    /** CPU-shaped kernels (a contiguous chunk per work-item) rather than one element per work-item. */
    final boolean cpuLayout;
    private final Placeholders placeholders = new Placeholders();
    private final PlanCache cache;
    private final Capture capture;

    TornadoPlans(TornadoDevice device) {
        this(device, TornadoOptions.fromSystemProperties());
    }

    /** With the given switches. */
    TornadoPlans(TornadoDevice device, TornadoOptions options) {
        this(device, device.getMaxGlobalMemory() / 2, device.getDeviceType() == TornadoDeviceType.CPU, options);
    }

    /** With a given byte budget and layout (tests run the GPU-shaped kernels on a CPU device this way). */
    TornadoPlans(TornadoDevice device, long budgetBytes, boolean cpuLayout) {
        this(device, budgetBytes, cpuLayout, TornadoOptions.fromSystemProperties());
    }

    /**
     * With the given switches, layout and budget: bytes of device buffers the plans and segments may hold
     * before the least recently used are freed (half the device's global memory by default).
     */
    TornadoPlans(TornadoDevice device, long budgetBytes, boolean cpuLayout, TornadoOptions options) {
        this.options = options;
        this.profile = new TornadoProfile(options.profile());
        this.device = device;
        this.cpuLayout = cpuLayout;
        MemoryBudget budget = new MemoryBudget(budgetBytes);
        this.cache = new PlanCache(budget);
        this.capture = new Capture(device, options, profile, budget, placeholders, cache::closeAll);
    }

    /** Starts the operands of one call of {@code op}. */
    KernelCall call(String op) {
        return new KernelCall(this, op);
    }

    /** The array a kernel gets for storage {@code t}: inside a capture its arena ({@link Capture#inArena}), else its own. */
    Object arrayOf(TornadoTensor t) {
        return capture.inArena(t) ? t.arena() : t.data();
    }

    /** The element index of operand {@code t}'s first element in {@link #arrayOf} its storage. */
    int offsetOf(Tensor t) {
        TornadoTensor s = (TornadoTensor) t.storage();
        return Math.toIntExact(t.offset() + (capture.inArena(s) ? s.base() : 0));
    }

    /** Whether ops are being recorded rather than run one by one. */
    boolean recording() {
        return capture.recording();
    }

    Capture capture() {
        return capture;
    }

    PlanCache cache() {
        return cache;
    }

    Placeholders placeholders() {
        return placeholders;
    }

    TornadoDevice device() {
        return device;
    }

    /** A fresh name for a compiled plan's task graph. */
    String nextPlanName() {
        return "nola" + NAMES.incrementAndGet();
    }

    /** The switches this device was opened with. */
    TornadoOptions options() {
        return options;
    }

    /** TornadoVM's profiler figures over this device's plans and segments (empty when profiling is off). */
    TornadoProfile profile() {
        return profile;
    }

    /** Frees the segments and plans that use a tensor being closed (running the recording first if it uses it). */
    void evict(TornadoTensor t) {
        capture.evict(t);
        cache.evict(t);
    }

    void closeAll() {
        capture.closeAll();
        cache.closeAll();
    }

    /**
     * Columns per mix work-item: on a CPU about n/32 (a multiple of 16, 64..4096), so a handful of
     * work-items per core each streams its tile of every basis row in order with the tile of out in
     * L1; elsewhere 1, one element per work-item, whose row reads coalesce across a GPU's lanes.
     */
    int mixTile(long n) {
        if (!cpuLayout) {
            return 1;
        }
        long w = ((n + 31) / 32 + 15) / 16 * 16;
        return (int) Math.max(64, Math.min(4096, w));
    }

    static void streamParams(IntArray ip, FloatArray fp, BasisStream s, int first, int count, int n) {
        ip.set(RandomKernels.P_K0, (int) s.seed());
        ip.set(RandomKernels.P_K1, (int) (s.seed() >>> 32));
        ip.set(RandomKernels.P_STREAM, s.stream());
        ip.set(RandomKernels.P_DOMAIN, s.domain());
        ip.set(RandomKernels.P_FIRST, first);
        ip.set(RandomKernels.P_COUNT, count);
        ip.set(RandomKernels.P_N, n);
        fp.set(0, s.scale());
    }

    /** Philox blocks (4 elements each) per matrix of n elements. */
    static int blocks(long n) {
        return (int) ((n + 3) / 4);
    }
}
