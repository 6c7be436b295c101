package dev.nola.kernels.tornado;

import static uk.ac.manchester.tornado.api.enums.DataTransferMode.EVERY_EXECUTION;
import static uk.ac.manchester.tornado.api.enums.DataTransferMode.FIRST_EXECUTION;

import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import uk.ac.manchester.tornado.api.TaskGraph;
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
 * Also the layout choice (CPU-shaped kernels or one element per work-item).
 *
 * <p><b>Views.</b> TornadoVM keeps one device buffer per {@link FloatArray}, so every kernel takes the
 * storage arrays of its operands and each operand's element offset in the int parameter buffer
 * ({@link Call}): a view at offset o is addressed as {@code x[o + i]}, and a plan serves every offset of
 * the same storage tensors. Where an output covers only part of its storage and is not read, the
 * plan also copies the storage in, so that copying the whole array back leaves the elements around
 * the view as they were.
 *
 * <p>OpenCL build options are {@value #OPENCL_FLAGS} (TornadoVM's default adds
 * {@code -cl-mad-enable -cl-fast-relaxed-math}, which would break the bit-identical mix).
 */
final class TornadoPlans {

    /** OpenCL C options for every plan: no fast-math, so fma stays fma and sums keep their order. */
    static final String OPENCL_FLAGS = "-cl-std=CL1.2";
    /**
     * Plans kept per device at most. A training step calls each op on its own tensor sets (a GPT-2 step:
     * hundreds of op and tensor combinations), every one a plan whose rebuild costs a TornadoVM JIT
     * compile (60 ms for fill, 350 ms for a matmul, measured on PoCL), so the cache must hold a whole
     * step: what bounds it in practice is {@link #budgetBytes}.
     */
    static final int MAX_PLANS = 4096;

    private static final AtomicLong NAMES = new AtomicLong();

    private record Key(String op, List<TornadoTensor> storages, String transfers) {
    }

    private final TornadoDevice device;
    private final TornadoOptions options;
    private final TornadoProfile profile;
    /** CPU-shaped kernels (a contiguous chunk per work-item) rather than one element per work-item. */
    final boolean cpuLayout;
    private final Map<Key, KernelPlan> plans = new LinkedHashMap<>(16, 0.75f, true);
    /**
     * Bytes of device buffers the cached plans may hold before the least recently used are freed:
     * TornadoVM gives every plan its own device copy of each array it uses, so memory, not the number
     * of plans, is the limit. Half the device's global memory.
     */
    private final long budgetBytes;
    private long heldBytes;
    private long built;

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

    TornadoPlans(TornadoDevice device, long budgetBytes, boolean cpuLayout, TornadoOptions options) {
        this.options = options;
        this.profile = new TornadoProfile(options.profile());
        this.device = device;
        this.cpuLayout = cpuLayout;
        this.budgetBytes = budgetBytes;
    }

    /** How a kernel uses an operand. */
    private enum Use {
        /** read */
        IN,
        /** written, not read */
        OUT,
        /** read and written */
        IN_OUT,
        /** read, and kept on the device between calls until its storage is written */
        RESIDENT,
        /** not touched (an absent optional operand: the kernel gets another operand's array) */
        NONE,
        /** written and read on the device only (a workspace between a plan's tasks): sent once, never copied back */
        SCRATCH
    }

    /** Builds a plan's task: {@code a[i]} is operand i's storage array, in the order they were added. */
    interface TaskBuilder {
        TaskGraph task(TaskGraph graph, IntArray ip, FloatArray fp, FloatArray[] a);
    }

    /** Starts the operands of one call of {@code op}. */
    Call call(String op) {
        return new Call(op);
    }

    /**
     * The operands of one kernel call, in the order of the kernel's array arguments: their storage
     * arrays, element offsets and uses. Read operands come first, and no storage may follow a written
     * operand's (TornadoVM's graph builder loops forever on a task that reads or writes an array again
     * after writing it), so a kernel with several outputs takes one argument per written storage
     * ({@link OptimKernels#adamw}). TornadoVM copies an argument in only if its access analysis finds
     * the kernel reading it; a store that follows a merge of branches reads as write-only and the
     * copy-in of a partial output is dropped (its buffer zeroed), so output kernels store straight
     * under their bound check (the contract's sentinel checks catch one that does not). The plan it returns copies in every storage that is read (or that holds an output covering only part of
     * it), keeps a storage that is only ever read through resident operands on the device, copies
     * every written storage back, and has operand i's offset in {@code ip[ipSize + i]}.
     */
    final class Call {
        private final String op;
        private final List<TornadoTensor> storages = new ArrayList<>();
        private final List<Integer> offsets = new ArrayList<>();
        private final List<Use> uses = new ArrayList<>();
        private final List<Boolean> partial = new ArrayList<>();
        /** Operands passed as their own array even inside a capture (spare slots, which must differ from every other). */
        private final List<Boolean> own = new ArrayList<>();
        /** Written tensors addressed through an earlier operand's array (the same arena): recorded, not passed. */
        private final List<TornadoTensor> through = new ArrayList<>();
        /** Floats of the plan's own scratch array (operand with a null storage), or 0. */
        private long ownFloats;

        private Call(String op) {
            this.op = op;
        }

        private Call add(Tensor t, Use use, boolean part) {
            TornadoTensor s = (TornadoTensor) t.storage();
            storages.add(s);
            offsets.add(Math.toIntExact(t.offset() + baseOf(s)));
            uses.add(use);
            partial.add(part);
            own.add(false);
            return this;
        }

        /**
         * A written argument the kernel never touches (a spare output slot): passed as its own array
         * even inside a capture, so it differs from every arena the kernel writes.
         */
        Call spare(Tensor t) {
            storages.add((TornadoTensor) t.storage());
            offsets.add(Math.toIntExact(t.offset()));
            uses.add(Use.SCRATCH);
            partial.add(false);
            own.add(true);
            return this;
        }

        Call in(Tensor t) {
            return add(t, Use.IN, false);
        }

        /** An operand the kernel only reads and that may stay on the device between calls. */
        Call resident(Tensor t) {
            return add(t, Use.RESIDENT, false);
        }

        /** An output that the kernel writes {@code written} elements of without reading it. */
        Call out(Tensor t, long written) {
            return add(t, Use.OUT, written != t.storage().size());
        }

        Call inOut(Tensor t) {
            return add(t, Use.IN_OUT, false);
        }

        /** Device-only scratch between the plan's tasks (a workspace): sent once, never copied back. */
        Call scratch(Tensor t) {
            return add(t, Use.SCRATCH, false);
        }

        /**
         * A scratch array of the plan's own, at least {@code floats} long: device-only between its tasks
         * (sent once, never copied back). Not the device workspace: TornadoVM gives every plan its own
         * device copy of each array, so a workspace shared by all plans would cost every plan its
         * largest size. A plan whose scratch is too small for a call is rebuilt.
         */
        Call ownScratch(long floats) {
            if (floats > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(op + " needs " + floats + " floats of scratch; a TornadoVM array holds at most "
                        + (Integer.MAX_VALUE - 8));
            }
            storages.add(null);
            offsets.add(0);
            uses.add(Use.SCRATCH);
            partial.add(false);
            own.add(false);
            ownFloats = Math.max(1, floats);
            return this;
        }

        /**
         * A tensor the kernel reads and writes through an earlier operand's array, which is its arena too
         * (see {@link #arrayOf}): no argument of its own, but the recording knows it is written.
         */
        Call inOutThrough(Tensor t) {
            through.add((TornadoTensor) t.storage());
            return this;
        }

        /** An optional operand: {@code t}, read, or when null the previous operand's array, untouched. */
        Call inOrNone(Tensor t) {
            if (t != null) {
                return in(t);
            }
            storages.add(storages.getLast());
            offsets.add(0);
            uses.add(Use.NONE);
            partial.add(false);
            own.add(own.getLast());
            return this;
        }

        /**
         * The cached plan for these storage tensors and transfers (built when missing or stale), with
         * the operands' offsets set in {@code ip[ipSize..]}.
         */
        KernelPlan plan(int ipSize, int fpSize, TaskBuilder builder) {
            return plan(1, ipSize, fpSize, builder);
        }

        /** As {@link #plan(int, int, TaskBuilder)} for a graph of {@code tasks} tasks, named {@link KernelPlan#task}(i). */
        KernelPlan plan(int tasks, int ipSize, int fpSize, TaskBuilder builder) {
            int n = storages.size();
            // the arrays the kernel gets: inside a capture a tensor in an arena is passed as its arena
            Object[] arrays = new Object[n];
            StringBuilder placed = new StringBuilder();
            for (int i = 0; i < n; i++) {
                arrays[i] = storages.get(i) == null ? null : own.get(i) ? storages.get(i).data() : arrayOf(storages.get(i));
                placed.append(storages.get(i) != null && arrays[i] != storages.get(i).data() ? 'a' : '-');
            }
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    if ((uses.get(i) == Use.OUT || uses.get(i) == Use.IN_OUT) && arrays[i] != null
                            && arrays[j] == arrays[i]) {
                        // TornadoVM's graph builder makes the task depend on itself and its scheduler loops forever
                        throw new IllegalStateException(op + ": operand " + i + " is written and operand " + j
                                + " shares its storage; a kernel must take read operands first and one argument per written storage");
                    }
                }
            }
            List<TornadoTensor> distinct = new ArrayList<>();
            for (TornadoTensor t : storages) {
                if (t != null && !distinct.contains(t)) {
                    distinct.add(t);
                }
            }
            // per distinct storage: 'r' resident, 'i' copied in, 'o' copied back, in order
            StringBuilder transfers = new StringBuilder();
            List<TornadoTensor> resident = new ArrayList<>();
            List<TornadoTensor> copyIn = new ArrayList<>();
            List<TornadoTensor> copyOut = new ArrayList<>();
            List<TornadoTensor> once = new ArrayList<>();
            for (TornadoTensor t : distinct) {
                boolean read = false;
                boolean written = false;
                boolean keep = false;
                boolean scratch = false;
                for (int i = 0; i < storages.size(); i++) {
                    if (storages.get(i) == t) {
                        Use u = uses.get(i);
                        keep |= u == Use.RESIDENT;
                        scratch |= u == Use.SCRATCH;
                        read |= u == Use.IN || u == Use.IN_OUT || u == Use.OUT && partial.get(i);
                        written |= u == Use.OUT || u == Use.IN_OUT;
                    }
                }
                if (scratch) {
                    once.add(t);
                    transfers.append('s');
                } else if (keep && !read && !written) {
                    resident.add(t);
                    transfers.append('r');
                } else if (read || keep) {
                    copyIn.add(t);
                    transfers.append('i');
                }
                if (written) {
                    copyOut.add(t);
                    transfers.append('o');
                }
                transfers.append(';');
            }
            long own = ownFloats;
            if (recording) {
                List<KernelPlan.Arg> args = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    TornadoTensor t = storages.get(i);
                    Use u = uses.get(i);
                    if (t == null || u == Use.NONE) {
                        continue; // the call's own scratch (the segment's), or another operand's array again
                    }
                    boolean read = u == Use.IN || u == Use.IN_OUT || u == Use.RESIDENT || u == Use.SCRATCH
                            || u == Use.OUT && partial.get(i);
                    args.add(new KernelPlan.Arg(arrays[i], t, read, u == Use.OUT || u == Use.IN_OUT));
                }
                for (TornadoTensor t : through) {
                    args.add(new KernelPlan.Arg(arrayOf(t), t, true, true));
                }
                List<TornadoTensor> ops = new ArrayList<>(storages);
                ops.addAll(through);
                KernelPlan p = new KernelPlan(tasks, ipSize + n, fpSize, new KernelPlan.Recorded(
                        List.of(op, Collections.unmodifiableList(ops), transfers.toString(), placed.toString(), tasks, ipSize,
                                fpSize), args, own,
                        (g, ip, fp, scratch) -> {
                            FloatArray[] a = new FloatArray[n];
                            for (int i = 0; i < n; i++) {
                                a[i] = arrays[i] != null ? (FloatArray) arrays[i] : scratch;
                            }
                            return builder.task(g, ip, fp, a);
                        }, TornadoPlans.this::record));
                for (int i = 0; i < n; i++) {
                    p.ip.set(ipSize + i, offsets.get(i));
                }
                return p;
            }
            KernelPlan p = cached(new Key(op, Collections.unmodifiableList(new ArrayList<>(storages)), transfers.toString()),
                    distinct, resident, own, tasks, ipSize + n, fpSize, (g, ip, fp) -> {
                        g.transferToDevice(EVERY_EXECUTION, fpSize > 0 ? new Object[] {ip, fp} : new Object[] {ip});
                        for (TornadoTensor t : copyIn) {
                            g.transferToDevice(EVERY_EXECUTION, t.array());
                        }
                        for (TornadoTensor t : resident) {
                            g.transferToDevice(FIRST_EXECUTION, t.array());
                        }
                        for (TornadoTensor t : once) {
                            g.transferToDevice(FIRST_EXECUTION, t.array());
                        }
                        FloatArray[] a = new FloatArray[n];
                        for (int i = 0; i < n; i++) {
                            if (storages.get(i) != null) {
                                a[i] = storages.get(i).array();
                            } else {
                                a[i] = new FloatArray((int) own);
                                g.transferToDevice(FIRST_EXECUTION, a[i]);
                            }
                        }
                        TaskGraph tg = builder.task(g, ip, fp, a);
                        for (TornadoTensor t : copyOut) {
                            tg.transferToHost(EVERY_EXECUTION, t.array());
                        }
                        return tg;
                    });
            for (int i = 0; i < n; i++) {
                p.ip.set(ipSize + i, offsets.get(i));
            }
            return p;
        }

        /** Runs the single task of the plan over {@code globalSize} work-items (see {@link KernelPlan#grid}). */
        void run(KernelPlan p, long globalSize, boolean smallGroups) {
            grid(p, 0, globalSize, smallGroups);
            execute(p);
        }

        /** Sets a task's grid, checking that it fits TornadoVM's 1-D grid. */
        void grid(KernelPlan p, int task, long globalSize, boolean smallGroups) {
            if (globalSize > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(op + " needs " + globalSize + " work-items; TornadoVM's 1-D grid holds at most "
                        + Integer.MAX_VALUE);
            }
            p.grid(task, (int) globalSize, smallGroups);
        }

        /** Runs the plan's tasks (grids set) and marks the written storages as changed. */
        void execute(KernelPlan p) {
            p.execute();
            if (p.deferred()) {
                return; // its segment marks what it wrote when it runs
            }
            for (int i = 0; i < storages.size(); i++) {
                if (uses.get(i) == Use.OUT || uses.get(i) == Use.IN_OUT) {
                    storages.get(i).touch();
                }
            }
            through.forEach(TornadoTensor::touch);
        }
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

    /**
     * A plan whose transfers the caller's builder declares itself (the nn family, {@link TornadoNnOps},
     * follows the same operand rules as {@link Call} with several output slots), cached under
     * {@code op} (which names the variant and its transfers) and the storages in operand order.
     */
    KernelPlan plan(String op, List<TornadoTensor> tensors, List<TornadoTensor> resident, int ipSize, int fpSize,
                    KernelPlan.GraphBuilder builder) {
        List<TornadoTensor> distinct = new ArrayList<>();
        for (TornadoTensor t : tensors) {
            if (!distinct.contains(t)) {
                distinct.add(t);
            }
        }
        return cached(new Key(op, List.copyOf(tensors), "declared"), distinct, resident, 0, 1, ipSize, fpSize, builder);
    }

    /** The cached plan under {@code key}, built (and the eldest freed) when missing, stale or short of scratch. */
    private KernelPlan cached(Key key, List<TornadoTensor> tensors, List<TornadoTensor> resident, long scratch, int tasks,
                              int ipSize, int fpSize, KernelPlan.GraphBuilder builder) {
        KernelPlan p = plans.get(key);
        if (p != null && (p.stale() || p.scratchFloats < scratch)) {
            plans.remove(key);
            free(p);
            p = null;
        }
        if (p == null) {
            p = new KernelPlan("nola" + NAMES.incrementAndGet(), device, OPENCL_FLAGS, profile, tasks, ipSize, fpSize, tensors,
                    resident, builder);
            p.scratchFloats = scratch;
            built++;
            heldBytes += p.deviceBytes();
            plans.put(key, p);
            // the least recently used go first; the plan just built stays, whatever its size
            Iterator<KernelPlan> it = plans.values().iterator();
            while ((plans.size() > MAX_PLANS || heldBytes > budgetBytes) && plans.size() > 1) {
                KernelPlan eldest = it.next();
                it.remove();
                free(eldest);
            }
        }
        return p;
    }

    private void free(KernelPlan p) {
        heldBytes -= p.deviceBytes();
        p.close();
    }

    // ---------------------------------------------------------------- capture

    /** Recordings whose segments are kept per device at most (each holds device copies of every tensor it uses). */
    static final int MAX_SEGMENTS = 8;

    private boolean recording;
    private boolean discarding;
    private final List<KernelPlan> pending = new ArrayList<>();
    private final Map<TornadoTensor, Boolean> pendingUse = new IdentityHashMap<>();
    private final Map<List<Object>, Chain> segments = new LinkedHashMap<>(16, 0.75f, true);
    /** Tensors found changed outside a segment between its runs: later segments copy them in every run. */
    private final Set<TornadoTensor> everyExecution = Collections.newSetFromMap(new IdentityHashMap<>());
    private List<Object> placeholders = List.of();
    private long segmentsBuilt;
    private long segmentRuns;

    /**
     * Whether a recorded call addresses {@code t} through its arena ({@link TornadoArenas}): inside a
     * capture (while recording, and while a {@link Segment} adds the recorded tasks), for a float32
     * tensor that lives in an arena and that the host does not write between a segment's runs (those
     * travel on their own, copied in every run, so the arena itself is sent once). Outside a capture
     * every op uses the tensor's own array, so a plan of its own moves that tensor alone.
     */
    boolean inArena(TornadoTensor t) {
        return (recording || KernelPlan.inSegment()) && t.region() != null && !everyExecution.contains(t);
    }

    /** The array a kernel gets for storage {@code t}: its arena ({@link #inArena}) or its own. */
    Object arrayOf(TornadoTensor t) {
        return inArena(t) ? t.arena() : t.data();
    }

    /** The element index of {@code t}'s first element in {@link #arrayOf}{@code (t)}. */
    int baseOf(TornadoTensor t) {
        return inArena(t) ? t.base() : 0;
    }

    /** The switches this cache was opened with. */
    TornadoOptions options() {
        return options;
    }

    /** TornadoVM's profiler figures over this device's plans and segments (empty when profiling is off). */
    TornadoProfile profile() {
        return profile;
    }

    /** Whether ops are being recorded ({@link #capture}) rather than run one by one. */
    boolean recording() {
        return recording;
    }

    /** Arrays kernels get for absent operands (the nn family's): every segment graph holds them. */
    void placeholders(List<Object> arrays) {
        placeholders = List.copyOf(arrays);
    }

    /**
     * Runs {@code work} with every op recorded instead of run, then runs the recording as one
     * {@link Segment}: built (compiled) the first time this sequence of calls on these storages is
     * recorded, replayed after that. A host read of a tensor a recorded op writes, a host write to
     * one a recorded op uses, or {@link TornadoVmDevice#synchronize} runs what was recorded so far
     * first, so results are those of running the ops one by one; such a read splits the sequence into
     * two segments. Nested captures join the outer one.
     */
    void capture(Runnable work) {
        if (recording) {
            work.run();
            return;
        }
        recording = true;
        try {
            work.run();
        } finally {
            recording = false;
            flush();
        }
    }

    void record(KernelPlan call) {
        pending.add(call);
        for (KernelPlan.Arg a : call.recorded.args()) {
            pendingUse.merge(a.tensor(), a.written(), Boolean::logicalOr);
        }
    }

    /** Before the host reads a tensor: runs the recording if it writes it, and makes the array current. */
    void beforeHostRead(TornadoTensor t) {
        if (Boolean.TRUE.equals(pendingUse.get(t))) {
            flush();
        }
        t.toHost();
    }

    /** Before the host writes a tensor: runs the recording if it uses it, and makes the array current. */
    void beforeHostWrite(TornadoTensor t) {
        if (pendingUse.containsKey(t)) {
            flush();
        }
        t.toHost();
        if (recording) {
            // written by the host inside the captured unit: it will be again on every run of it
            everyExecution.add(t);
        }
    }

    /**
     * A recording's execution plans: one {@link Segment} per part of it ({@link Segment#parts}), each
     * with the range of calls it runs.
     */
    private record Chain(List<Segment> parts, List<int[]> ranges) {

        boolean uses(TornadoTensor t) {
            for (Segment s : parts) {
                if (s != null && s.uses(t)) { // null: a part not built yet, or whose build failed
                    return true;
                }
            }
            return false;
        }
    }

    /** Runs what was recorded so far (its segments built, or replayed when the same sequence ran before). */
    void flush() {
        if (pending.isEmpty()) {
            return;
        }
        if (recording && options.traceFlush()) {
            new Throwable("flush inside a capture after " + pending.size() + " calls").printStackTrace();
        }
        List<KernelPlan> calls = new ArrayList<>(pending);
        pending.clear();
        pendingUse.clear();
        if (discarding) {
            return;
        }
        List<Object> key = new ArrayList<>(calls.size());
        for (KernelPlan c : calls) {
            key.add(c.recorded.key());
        }
        Chain chain = segments.get(key);
        if (chain == null) {
            List<int[]> ranges = Segment.parts(calls);
            List<Segment> parts = new ArrayList<>();
            for (int k = 0; k < ranges.size(); k++) {
                parts.add(null);
            }
            chain = new Chain(parts, ranges);
            segments.put(key, chain);
        }
        // tensors found changed between runs join everyExecution only after this recording's segments are
        // built: its calls chose arena or own array when they were recorded, and the build must agree
        Set<TornadoTensor> changed = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int k = 0; k < chain.parts().size(); k++) {
            int[] r = chain.ranges().get(k);
            List<KernelPlan> part = calls.subList(r[0], r[1]);
            Segment s = chain.parts().get(k);
            if (s != null) {
                List<TornadoTensor> stale = s.stale();
                if (!stale.isEmpty() || !s.fits(part)) {
                    changed.addAll(stale);
                    freeSegment(s);
                    s = null;
                }
            }
            if (s == null) {
                // what the other parts of this recording write changes between this part's runs
                Set<TornadoTensor> every = Collections.newSetFromMap(new IdentityHashMap<>());
                every.addAll(everyExecution);
                every.addAll(changed);
                for (int j = 0; j < calls.size(); j++) {
                    if (j < r[0] || j >= r[1]) {
                        for (KernelPlan.Arg a : calls.get(j).recorded.args()) {
                            if (a.written()) {
                                every.add(a.tensor());
                            }
                        }
                    }
                }
                s = new Segment(part, device, OPENCL_FLAGS, every, placeholders, options, profile);
                segmentsBuilt++;
                heldBytes += s.deviceBytes();
                chain.parts().set(k, s);
                s.run(s.calls);
            } else {
                s.run(part);
            }
            segmentRuns++;
        }
        everyExecution.addAll(changed);
        Iterator<Chain> it = segments.values().iterator();
        while ((segments.size() > MAX_SEGMENTS || heldBytes > budgetBytes) && segments.size() > 1) {
            Chain eldest = it.next();
            if (eldest == chain) {
                continue;
            }
            it.remove();
            eldest.parts().forEach(this::freeSegment);
        }
    }

    private void freeSegment(Segment s) {
        if (s == null) {
            return; // a part whose build failed
        }
        heldBytes -= s.deviceBytes();
        s.close(discarding);
    }

    /** Segments built so far (a replayed step builds none). */
    long segmentsBuilt() {
        return segmentsBuilt;
    }

    /** Segment runs so far, builds included. */
    long segmentRuns() {
        return segmentRuns;
    }

    /** Segments held now. */
    int segments() {
        return segments.size();
    }

    /** The device is closing: recorded calls are dropped and nothing is copied back any more. */
    void discard() {
        discarding = true;
        pending.clear();
        pendingUse.clear();
    }

    /** Plans held now (for tests of reuse). */
    int size() {
        return plans.size();
    }

    /** Plans built so far, rebuilt ones included (for tests that a repeated step compiles nothing). */
    long built() {
        return built;
    }

    /** Frees the plans and segments that use a tensor being closed (running the recording first if it uses it). */
    void evict(TornadoTensor t) {
        if (pendingUse.containsKey(t)) {
            flush();
        }
        Iterator<Chain> si = segments.values().iterator();
        while (si.hasNext()) {
            Chain c = si.next();
            if (c.uses(t)) {
                si.remove();
                c.parts().forEach(this::freeSegment);
            }
        }
        everyExecution.remove(t);
        Iterator<KernelPlan> it = plans.values().iterator();
        while (it.hasNext()) {
            KernelPlan p = it.next();
            if (p.uses(t)) {
                it.remove();
                free(p);
            }
        }
    }

    void closeAll() {
        discard();
        for (Chain c : segments.values()) {
            c.parts().forEach(this::freeSegment);
        }
        segments.clear();
        for (KernelPlan p : plans.values()) {
            free(p);
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
