package dev.nola.kernels.tornado;

import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * What the TornadoVM op families of one device share: the cache of {@link KernelPlan}s (task graph +
 * persistent execution plan) per op variant and tensor set, so a training loop that calls the same
 * op on the same tensors compiles once and then only moves what changed:
 * <ul>
 *   <li>the materialised basis of {@code mix} and {@code coefficientGradient} is resident: copied to
 *       the device on the plan's first run only, the plan replaced if the basis is written again;</li>
 *   <li>coefficients, gradients, matmul operands and the per-call parameters are copied in on every
 *       call (they change every step), and each op's output is copied back to its array.</li>
 * </ul>
 * Also the layout choice (CPU-shaped kernels or one element per work-item) and the rules for views.
 *
 * <p><b>Views.</b> The kernels address whole {@link FloatArray}s from element 0, and TornadoVM keeps
 * one device buffer per array, so an operand must start at element 0 of its storage ({@link #at0});
 * a view at another offset is rejected (no hidden copies) until the TornadoVM v2 issue. A view at
 * offset 0 that covers only the front of its storage is fine; where it is an output the kernel does
 * not read, the plan also copies the storage in ({@link #partial}), so that copying the whole array
 * back leaves the elements behind the view as they were.
 *
 * <p>OpenCL build options are {@value #OPENCL_FLAGS} (TornadoVM's default adds
 * {@code -cl-mad-enable -cl-fast-relaxed-math}, which would break the bit-identical mix).
 */
final class TornadoPlans {

    /** OpenCL C options for every plan: no fast-math, so fma stays fma and sums keep their order. */
    static final String OPENCL_FLAGS = "-cl-std=CL1.2";
    /** Plans kept per device before the least recently used is freed. */
    static final int MAX_PLANS = 64;
    /** Why views at an offset, batches and row strides are rejected, appended to each such message. */
    static final String WHOLE_TENSORS = "TornadoVM kernels take whole tensors (addressed from element 0) until the"
            + " TornadoVM v2 issue";

    private static final AtomicLong NAMES = new AtomicLong();

    private record Key(String op, List<TornadoTensor> tensors) {
    }

    private final TornadoDevice device;
    /** CPU-shaped kernels (a contiguous chunk per work-item) rather than one element per work-item. */
    final boolean cpuLayout;
    private final Map<Key, KernelPlan> plans = new LinkedHashMap<>(16, 0.75f, true);

    TornadoPlans(TornadoDevice device) {
        this.device = device;
        this.cpuLayout = device.getDeviceType() == TornadoDeviceType.CPU;
    }

    /**
     * The storage of an operand that starts at element 0 of it (a storage tensor, or a view at offset
     * 0, such as a reshape); a view at another offset throws {@link UnsupportedOperationException}.
     */
    static TornadoTensor at0(String op, String name, Tensor t) {
        if (t.offset() != 0) {
            throw new UnsupportedOperationException(op + ": " + name + " is a view at element " + t.offset()
                    + " of its storage (" + t.storage() + "); " + WHOLE_TENSORS);
        }
        return (TornadoTensor) t.storage();
    }

    /** Whether a tensor covers only part of its storage (so an output must be copied in first). */
    static boolean partial(Tensor t) {
        return t.size() != t.storage().size();
    }

    /** Throws {@link UnsupportedOperationException} for a matmul argument the kernels cannot address. */
    static void unsupported(String op, String what) {
        throw new UnsupportedOperationException(op + ": " + what + "; " + WHOLE_TENSORS);
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

    /** The cached plan of {@code op} on these storage tensors, built (and the eldest freed) when missing or stale. */
    KernelPlan plan(String op, List<TornadoTensor> tensors, List<TornadoTensor> resident, int ipSize, int fpSize,
                    KernelPlan.GraphBuilder builder) {
        Key key = new Key(op, tensors);
        KernelPlan p = plans.get(key);
        if (p != null && p.stale()) {
            plans.remove(key);
            p.close();
            p = null;
        }
        if (p == null) {
            p = new KernelPlan("nola" + NAMES.incrementAndGet(), device, OPENCL_FLAGS, ipSize, fpSize, tensors, resident, builder);
            plans.put(key, p);
            if (plans.size() > MAX_PLANS) {
                Iterator<KernelPlan> it = plans.values().iterator();
                KernelPlan eldest = it.next();
                it.remove();
                eldest.close();
            }
        }
        return p;
    }

    /** Frees the plans that use a tensor being closed. */
    void evict(TornadoTensor t) {
        Iterator<KernelPlan> it = plans.values().iterator();
        while (it.hasNext()) {
            KernelPlan p = it.next();
            if (p.uses(t)) {
                it.remove();
                p.close();
            }
        }
    }

    void closeAll() {
        for (KernelPlan p : plans.values()) {
            p.close();
        }
        plans.clear();
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
