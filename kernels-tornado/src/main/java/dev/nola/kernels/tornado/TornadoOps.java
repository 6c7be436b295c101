package dev.nola.kernels.tornado;

import static uk.ac.manchester.tornado.api.enums.DataTransferMode.EVERY_EXECUTION;
import static uk.ac.manchester.tornado.api.enums.DataTransferMode.FIRST_EXECUTION;

import dev.nola.kernels.AbstractOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The op contract on a TornadoVM device: each op is a {@link KernelPlan} (task graph + persistent
 * execution plan) cached per op variant and tensor set, so a training loop that calls the same op
 * on the same tensors compiles once and then only moves what changed:
 * <ul>
 *   <li>the materialised basis of {@code mix} and {@code coefficientGradient} is resident: copied to
 *       the device on the plan's first run only, the plan replaced if the basis is written again;</li>
 *   <li>coefficients, gradients, matmul operands and the per-call parameters are copied in on every
 *       call (they change every step), and each op's output is copied back to its array.</li>
 * </ul>
 * Kernels: {@link RandomKernels}, {@link NolaKernels}, {@link LinalgKernels}. The adapter forward
 * and backward are the default compositions of {@link #doMatmul}.
 *
 * <p>OpenCL build options are {@value #OPENCL_FLAGS} (TornadoVM's default adds
 * {@code -cl-mad-enable -cl-fast-relaxed-math}, which would break the bit-identical mix).
 */
final class TornadoOps extends AbstractOps {

    /** OpenCL C options for every plan: no fast-math, so fma stays fma and sums keep their order. */
    static final String OPENCL_FLAGS = "-cl-std=CL1.2";
    /** Plans kept per device before the least recently used is freed. */
    static final int MAX_PLANS = 64;

    private static final AtomicLong NAMES = new AtomicLong();

    private record Key(String op, List<TornadoTensor> tensors) {
    }

    private final TornadoDevice device;
    /** CPU-shaped kernels (a contiguous chunk per work-item) rather than one element per work-item. */
    private final boolean cpuLayout;
    private final Map<Key, KernelPlan> plans = new LinkedHashMap<>(16, 0.75f, true);

    TornadoOps(TornadoVmDevice owner, TornadoDevice device) {
        super(owner);
        this.device = device;
        this.cpuLayout = device.getDeviceType() == TornadoDeviceType.CPU;
    }

    /**
     * Columns per mix work-item: on a CPU about n/32 (a multiple of 16, 64..4096), so a handful of
     * work-items per core each streams its tile of every basis row in order with the tile of out in
     * L1; elsewhere 1, one element per work-item, whose row reads coalesce across a GPU's lanes.
     */
    private int mixTile(long n) {
        if (!cpuLayout) {
            return 1;
        }
        long w = ((n + 31) / 32 + 15) / 16 * 16;
        return (int) Math.max(64, Math.min(4096, w));
    }

    private TornadoTensor t(Tensor x) {
        return (TornadoTensor) x;
    }

    private KernelPlan plan(String op, List<TornadoTensor> tensors, List<TornadoTensor> resident, int ipSize, int fpSize,
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

    private static void streamParams(IntArray ip, FloatArray fp, BasisStream s, int first, int count, int n) {
        ip.set(RandomKernels.P_K0, (int) s.seed());
        ip.set(RandomKernels.P_K1, (int) (s.seed() >>> 32));
        ip.set(RandomKernels.P_STREAM, s.stream());
        ip.set(RandomKernels.P_DOMAIN, s.domain());
        ip.set(RandomKernels.P_FIRST, first);
        ip.set(RandomKernels.P_COUNT, count);
        ip.set(RandomKernels.P_N, n);
        fp.set(0, s.scale());
    }

    private static int blocks(long n) {
        return (int) ((n + 3) / 4);
    }

    // ------------------------------------------------------------------ random

    @Override
    protected void doBasis(BasisStream stream, int firstIndex, int count, long n, Tensor out) {
        TornadoTensor o = t(out);
        long global = (long) count * blocks(n);
        if (global > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("basis of " + count + " x " + n + " needs " + global
                    + " work-items; TornadoVM's 1-D grid holds at most " + Integer.MAX_VALUE);
        }
        KernelPlan p = plan("basis", List.of(o), List.of(), RandomKernels.P_SIZE, 1, (g, ip, fp) -> g
                .transferToDevice(EVERY_EXECUTION, ip, fp)
                .task(KernelPlan.TASK, RandomKernels::basis, new KernelContext(), ip, fp, o.array())
                .transferToHost(EVERY_EXECUTION, o.array()));
        streamParams(p.ip, p.fp, stream, firstIndex, count, (int) n);
        p.run((int) global, false);
        o.touch();
    }

    // ------------------------------------------------------------------ nola

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
        TornadoTensor c = t(coefficients);
        TornadoTensor b = t(basis);
        TornadoTensor o = t(out);
        KernelPlan p;
        if (offset == null) {
            p = plan("mix", List.of(c, b, o), List.of(b), 3, 1, (g, ip, fp) -> g
                    .transferToDevice(EVERY_EXECUTION, ip, c.array())
                    .transferToDevice(FIRST_EXECUTION, b.array())
                    .task(KernelPlan.TASK, NolaKernels::mixFromZero, new KernelContext(), ip, c.array(), b.array(), o.array())
                    .transferToHost(EVERY_EXECUTION, o.array()));
        } else if (offset == out) {
            p = plan("mixInPlace", List.of(c, b, o), List.of(b), 3, 1, (g, ip, fp) -> g
                    .transferToDevice(EVERY_EXECUTION, ip, c.array(), o.array())
                    .transferToDevice(FIRST_EXECUTION, b.array())
                    .task(KernelPlan.TASK, NolaKernels::mixInPlace, new KernelContext(), ip, c.array(), b.array(), o.array())
                    .transferToHost(EVERY_EXECUTION, o.array()));
        } else {
            TornadoTensor f = t(offset);
            p = plan("mixOffset", List.of(c, b, f, o), List.of(b), 3, 1, (g, ip, fp) -> g
                    .transferToDevice(EVERY_EXECUTION, ip, c.array(), f.array())
                    .transferToDevice(FIRST_EXECUTION, b.array())
                    .task(KernelPlan.TASK, NolaKernels::mixOffset, new KernelContext(), ip, c.array(), b.array(), f.array(),
                            o.array())
                    .transferToHost(EVERY_EXECUTION, o.array()));
        }
        int w = mixTile(n);
        p.ip.set(0, k);
        p.ip.set(1, (int) n);
        p.ip.set(2, w);
        p.run((int) ((n + w - 1) / w), cpuLayout);
        o.touch();
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream stream, Tensor offset, Tensor out, int k, long n) {
        TornadoTensor c = t(coefficients);
        TornadoTensor o = t(out);
        KernelPlan p;
        int ps = RandomKernels.P_SIZE;
        if (offset == null) {
            p = plan("mixGenerated", List.of(c, o), List.of(), ps, 1, (g, ip, fp) -> g
                    .transferToDevice(EVERY_EXECUTION, ip, fp, c.array())
                    .task(KernelPlan.TASK, NolaKernels::mixGenerated, new KernelContext(), ip, fp, c.array(), o.array())
                    .transferToHost(EVERY_EXECUTION, o.array()));
        } else if (offset == out) {
            p = plan("mixGeneratedInPlace", List.of(c, o), List.of(), ps, 1, (g, ip, fp) -> g
                    .transferToDevice(EVERY_EXECUTION, ip, fp, c.array(), o.array())
                    .task(KernelPlan.TASK, NolaKernels::mixGeneratedInPlace, new KernelContext(), ip, fp, c.array(), o.array())
                    .transferToHost(EVERY_EXECUTION, o.array()));
        } else {
            TornadoTensor f = t(offset);
            p = plan("mixGeneratedOffset", List.of(c, f, o), List.of(), ps, 1, (g, ip, fp) -> g
                    .transferToDevice(EVERY_EXECUTION, ip, fp, c.array(), f.array())
                    .task(KernelPlan.TASK, NolaKernels::mixGeneratedOffset, new KernelContext(), ip, fp, c.array(),
                            f.array(), o.array())
                    .transferToHost(EVERY_EXECUTION, o.array()));
        }
        streamParams(p.ip, p.fp, stream, 0, k, (int) n);
        p.run(blocks(n), false);
        o.touch();
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
        TornadoTensor b = t(basis);
        TornadoTensor gr = t(grad);
        TornadoTensor o = t(out);
        KernelPlan p = plan("coefficientGradient", List.of(b, gr, o), List.of(b), 2, 1, (g, ip, fp) -> g
                .transferToDevice(EVERY_EXECUTION, ip, gr.array())
                .transferToDevice(FIRST_EXECUTION, b.array())
                .task(KernelPlan.TASK, NolaKernels::coefficientGradient, new KernelContext(), ip, b.array(), gr.array(),
                        o.array())
                .transferToHost(EVERY_EXECUTION, o.array()));
        p.ip.set(0, k);
        p.ip.set(1, (int) n);
        p.run(k, cpuLayout);
        o.touch();
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream stream, Tensor grad, Tensor out, int k, long n) {
        TornadoTensor gr = t(grad);
        TornadoTensor o = t(out);
        KernelPlan p = plan("coefficientGradientGenerated", List.of(gr, o), List.of(), RandomKernels.P_SIZE, 1,
                (g, ip, fp) -> g
                        .transferToDevice(EVERY_EXECUTION, ip, fp, gr.array())
                        .task(KernelPlan.TASK, NolaKernels::coefficientGradientGenerated, new KernelContext(), ip, fp,
                                gr.array(), o.array())
                        .transferToHost(EVERY_EXECUTION, o.array()));
        streamParams(p.ip, p.fp, stream, 0, k, (int) n);
        p.run(k, cpuLayout);
        o.touch();
    }

    // ------------------------------------------------------------------ linalg

    @Override
    protected void doMatmul(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                            int m, int n, int k) {
        TornadoTensor ta = t(a);
        TornadoTensor tb = t(b);
        TornadoTensor tc = t(c);
        long global = cpuLayout
                ? (long) ((m + LinalgKernels.BLOCK_M - 1) / LinalgKernels.BLOCK_M) * ((n + LinalgKernels.BLOCK_N - 1) / LinalgKernels.BLOCK_N)
                : (long) m * n;
        if (global > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("matmul output of " + m + " x " + n + " exceeds TornadoVM's 1-D grid");
        }
        boolean readC = beta != 0f;
        KernelPlan p = plan(readC ? "matmulBeta" : "matmul", List.of(ta, tb, tc), List.of(), LinalgKernels.P_SIZE, 2,
                (g, ip, fp) -> {
                    g.transferToDevice(EVERY_EXECUTION, ip, fp, ta.array(), tb.array());
                    if (readC) {
                        g.transferToDevice(EVERY_EXECUTION, tc.array());
                    }
                    if (cpuLayout) {
                        g.task(KernelPlan.TASK, LinalgKernels::matmulBlock, new KernelContext(), ip, fp, ta.array(),
                                tb.array(), tc.array());
                    } else {
                        g.task(KernelPlan.TASK, LinalgKernels::matmul, new KernelContext(), ip, fp, ta.array(), tb.array(),
                                tc.array());
                    }
                    return g
                            .transferToHost(EVERY_EXECUTION, tc.array());
                });
        IntArray ip = p.ip;
        ip.set(0, m);
        ip.set(1, n);
        ip.set(2, k);
        ip.set(3, transA ? 1 : k);
        ip.set(4, transA ? m : 1);
        ip.set(5, transB ? 1 : n);
        ip.set(6, transB ? k : 1);
        ip.set(7, readC ? 1 : 0);
        p.fp.set(0, alpha);
        p.fp.set(1, beta);
        p.run((int) global, cpuLayout);
        tc.touch();
    }
}
