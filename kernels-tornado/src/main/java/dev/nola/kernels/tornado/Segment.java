package dev.nola.kernels.tornado;

import static uk.ac.manchester.tornado.api.enums.DataTransferMode.EVERY_EXECUTION;
import static uk.ac.manchester.tornado.api.enums.DataTransferMode.FIRST_EXECUTION;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import uk.ac.manchester.tornado.api.DataRange;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.exceptions.TornadoExecutionPlanException;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.TornadoNativeArray;

/**
 * A recorded sequence of kernel calls (a {@link TornadoPlans#capture captured} training step, or
 * one {@link #parts part} of it) as one TornadoVM execution plan: the calls' tasks in order, split
 * into task graphs of at most {@value #TASKS_PER_GRAPH} tasks and {@value #OBJECTS_PER_GRAPH} arrays
 * (TornadoVM's limits: 256 tasks, 1024 graph nodes per task graph), the graphs sharing
 * their device buffers, so data stays on the device from the first task to the last. Built once per
 * sequence and replayed whenever the same sequence (the same calls on the same storages) is
 * recorded again, with that recording's per-call values (parameter buffers, grids): no
 * recompilation.
 *
 * <p><b>Buffers.</b> Each storage tensor has one device buffer for the whole plan, allocated by the
 * first graph that uses it (its <em>owner</em>), which copies it in if the sequence reads it before
 * writing it ({@code FIRST_EXECUTION}: once; {@code EVERY_EXECUTION} for a tensor that changed
 * elsewhere between replays, see {@link TornadoPlans}) and persists it; each later graph up to the
 * tensor's last use consumes it from the graph before (TornadoVM passes a buffer only from the graph
 * executed just before, so a tensor is carried through the graphs between two uses). Nothing is copied
 * back after a run: a written tensor's latest data stays in the plan ({@link TornadoTensor#owner()}),
 * copied back when the host or another plan needs it ({@link #pull}, TornadoVM's
 * {@code UNDER_DEMAND}). Once the graph that owns an arena has run (copying it in), the host memory of
 * the tensors addressed through it, and its free ranges, are given back ({@link HostMemory}) and
 * those tensors count as living here too, read or written: on a device whose buffers are host
 * memory (PoCL) each byte would otherwise exist twice. An arena copied in once is copied by a graph of
 * its own before the calls' graphs ({@link Prologue}), so its host pages go before the next arena is
 * copied: the first run never holds every arena twice. Per-call parameter buffers are graph-local and
 * copied in every run, a few words each; placeholders are graph-local and sent once. The calls' scratch
 * is one array for the whole segment, carried through its graphs like a tensor and never copied
 * ({@link #scratch}).
 *
 * <p><b>TornadoVM behaviours this relies on or avoids</b> (5.2.1; found by small experiments against
 * the SDK, and exercised by {@code SegmentTest}): the graphs are run one by one ({@code withGraph(i).execute()}), because
 * {@code execute()} of the whole multi-graph plan fails with a null device buffer; only the owner
 * graph persists a tensor, because a consumer that persists it again frees the shared buffer twice
 * when the plan is closed; a graph may consume a tensor that none of its tasks uses (carried through);
 * a graph may declare an input its tasks do not use.
 */
final class Segment implements AutoCloseable {

    /** Tasks per task graph at most (TornadoVM's limit is 256 per graph). */
    static final int TASKS_PER_GRAPH = 32;
    /**
     * Arrays per task graph at most, its calls' parameter buffers and the arrays carried through it
     * included: TornadoVM builds each task graph into a graph of at most 1024 nodes (it cannot grow:
     * "Tornado Graph resize not implemented yet"), two to four per array.
     */
    static final int OBJECTS_PER_GRAPH = 240;
    /** Arrays every graph holds besides its calls': the placeholders ({@link Placeholders}) and its scratch. */
    private static final int GRAPH_LOCALS = 5;
    /** Room kept in a graph for the tensors its own calls bring, when deciding where a recording splits into parts. */
    private static final int ROOM = 64;

    /**
     * The one packing rule, for graphs ({@link #graphsOf}) and for the parts of a recording
     * ({@link #parts}): whether a graph of {@code tasks} tasks that holds {@code arrays} tensor arrays
     * (carried through it and brought by its calls) and {@code calls} calls (two parameter buffers each)
     * stays within {@value #TASKS_PER_GRAPH} tasks and {@value #OBJECTS_PER_GRAPH} arrays.
     */
    static boolean fits(int tasks, int arrays, int calls) {
        return tasks <= TASKS_PER_GRAPH && arrays + 2 * calls + GRAPH_LOCALS <= OBJECTS_PER_GRAPH;
    }

    /**
     * Splits a recording into parts that each become a segment of their own: a part ends where the
     * tensors that are live across the boundary (used before it and after it) would not fit a task
     * graph beside its own calls. A long training step (GPT-2 124M: hundreds of tensors live in the
     * middle of the step, activations kept for backward) becomes a few segments; a tensor one part
     * writes and a later part reads is copied through the host between them.
     *
     * @return the parts as [first call, end) ranges, in order
     */
    static List<int[]> parts(List<RecordedCall> calls) {
        Map<Object, Integer> last = lastUses(calls);
        List<int[]> out = new ArrayList<>();
        Set<Object> seen = identitySet();
        int start = 0;
        for (int c = 0; c < calls.size(); c++) {
            int live = 0;
            for (Object a : seen) {
                if (last.get(a) >= c) {
                    live++;
                }
            }
            // a part must leave a full graph of calls room beside what is live across its boundary
            if (c > start && !fits(0, live + ROOM, TASKS_PER_GRAPH)) {
                out.add(new int[] {start, c});
                start = c;
                seen.clear();
            }
            for (RecordedCall.Arg a : calls.get(c).args()) {
                seen.add(a.array());
            }
        }
        out.add(new int[] {start, calls.size()});
        return out;
    }

    /** The index of the last call that uses each array. */
    private static Map<Object, Integer> lastUses(List<RecordedCall> calls) {
        Map<Object, Integer> last = new IdentityHashMap<>();
        for (int c = 0; c < calls.size(); c++) {
            for (RecordedCall.Arg a : calls.get(c).args()) {
                last.put(a.array(), c);
            }
        }
        return last;
    }

    private static Set<Object> identitySet() {
        return Collections.newSetFromMap(new IdentityHashMap<>());
    }

    /**
     * The graph of each call: a new graph starts where the tasks would pass {@link #TASKS_PER_GRAPH}
     * or the arrays (carried in, brought by the calls, and the calls' own) {@link #OBJECTS_PER_GRAPH}.
     */
    private static int[] graphsOf(List<RecordedCall> calls) {
        Map<Object, Integer> last = lastUses(calls);
        int[] graphOf = new int[calls.size()];
        int g = 0;
        int tasks = 0;
        int graphStart = 0;
        Set<Object> before = identitySet();
        Set<Object> inGraph = identitySet();
        int carried = 0;
        for (int c = 0; c < calls.size(); c++) {
            RecordedCall call = calls.get(c);
            int fresh = 0;
            for (RecordedCall.Arg a : call.args()) {
                if (!inGraph.contains(a.array()) && !(before.contains(a.array()) && last.get(a.array()) >= graphStart)) {
                    fresh++;
                }
            }
            int calls0 = c - graphStart;
            if (c > graphStart && !fits(tasks + call.taskCount(), carried + inGraph.size() + fresh, calls0 + 1)) {
                g++;
                tasks = 0;
                before.addAll(inGraph);
                inGraph.clear();
                graphStart = c;
                carried = 0;
                for (Object a : before) {
                    if (last.get(a) >= c) {
                        carried++;
                    }
                }
            }
            graphOf[c] = g;
            tasks += call.taskCount();
            for (RecordedCall.Arg a : call.args()) {
                if (!(before.contains(a.array()) && last.get(a.array()) >= graphStart)) {
                    inGraph.add(a.array());
                }
            }
        }
        return graphOf;
    }

    private static final AtomicLong NAMES = new AtomicLong();

    /**
     * One array of this plan: a tensor's own array, or an arena ({@link TornadoArenas}) that holds
     * several of the tensors the calls use.
     */
    private static final class Info {
        /** The array the calls were recorded with: the host's (a tensor's own, or its arena). */
        final Object array;
        /**
         * The array this plan's graphs pass for it: {@link #array}, or for an arena the prefix that holds
         * every tensor this plan uses in it ({@link TornadoArenas.Chunk#prefix}), so nothing past the last
         * of them is copied in or allocated on the device.
         */
        Object device;
        /** The first graph that uses it (allocates, copies in, persists): a prologue graph for an arena copied in once. */
        int owner;
        /** The last graph that uses it. */
        int last;
        /** Some tensor in it is read before anything in the sequence writes it: copied in. */
        boolean input;
        boolean written;
        /** Copied in on every run rather than once. */
        boolean every;
        /** Kept on the device after its owner graph ran (TornadoVM's persistOnDevice). */
        boolean persisted;
        /** The tensors the calls address through it. */
        final List<Use> tensors = new ArrayList<>();

        Info(Object array, int owner) {
            this.array = array;
            this.device = array;
            this.owner = owner;
            this.last = owner;
        }

        long bytes() {
            return device instanceof FloatArray f ? f.getSize() * 4L : ((IntArray) device).getSize() * 4L;
        }
    }

    /** A tensor the calls use, through which array, and how. */
    private static final class Use {
        final TornadoTensor tensor;
        final Info in;
        /** The first call that uses it. */
        final int firstCall;
        /** Read before anything in the sequence writes it (by its first call): its array is copied in. */
        boolean input;
        boolean written;

        Use(TornadoTensor tensor, Info in, int firstCall) {
            this.tensor = tensor;
            this.in = in;
            this.firstCall = firstCall;
        }

        /** Whether the array is the tensor's arena (a pull copies its region only). */
        boolean inArena() {
            return in.array != tensor.data();
        }
    }

    /** The recorded calls this plan was built from (it keeps their parameter buffers and grids). */
    final List<RecordedCall> calls;
    private final int[] graphOf;
    private final Map<Object, Info> arrays = new IdentityHashMap<>();
    private final List<Info> order = new ArrayList<>();
    private final Map<TornadoTensor, Use> tensors = new IdentityHashMap<>();
    private final List<Use> uses = new ArrayList<>();
    private final Map<TornadoTensor, Long> deviceVersions = new IdentityHashMap<>();
    /**
     * The calls' scratch ({@link KernelCall#ownScratch}): one array for the whole segment, as long as the
     * largest any call needs, allocated on the device by the first graph whose calls use it and carried to
     * the last; never copied in or out (a workspace is written before it is read), so its host memory
     * ({@link HostMemory}) is never committed. One zero-filled array per graph, each copied in, was 149 MB
     * of host memory and as much again on the device in a GPT-2 124M LoRA step (a packed B of 7–9 MB in
     * 28 of its 29 graphs). Null when no call needs one.
     */
    private final FloatArray scratch;
    private final long scratchFloats;
    /** The graphs the scratch lives in: the first and the last whose calls use it (-1 without one). */
    private final int scratchFirst;
    private final int scratchLast;
    private final int graphs;
    /** The prologue graphs ({@link Prologue}) before the calls' graphs: one per arena copied in once. */
    private final int prologues;
    private final TornadoExecutionPlan plan;
    /** Its tasks' kernel methods and TornadoVM's code cache: one compiled kernel per method ({@link SharedKernels}). */
    private final SharedKernels kernels;
    private TornadoExecutionResult last;
    private boolean ran;
    private final long deviceBytes;
    private final TornadoProfile profile;

    /**
     * Builds the plan for these recorded calls (nothing runs yet); tensors in {@code everyExecution}
     * are copied in on every run instead of once. {@code placeholders} are the arrays kernels get for
     * absent operands: sent once to every graph.
     */
    Segment(List<RecordedCall> calls, TornadoDevice device, String openclFlags, Set<TornadoTensor> everyExecution,
            List<Object> placeholders, TornadoOptions options, TornadoProfile profile) {
        this.calls = List.copyOf(calls);
        this.profile = profile;
        int[] graphOf = graphsOf(calls);
        int g = graphOf.length == 0 ? 0 : graphOf[graphOf.length - 1];
        this.graphOf = graphOf;
        long scratchMax = 0;
        int scratchFirst0 = -1;
        int scratchLast0 = -1;
        for (int c = 0; c < calls.size(); c++) {
            RecordedCall call = calls.get(c);
            int cg = graphOf[c];
            if (call.scratchFloats() > 0) {
                scratchMax = Math.max(scratchMax, call.scratchFloats());
                scratchFirst0 = scratchFirst0 < 0 ? cg : scratchFirst0;
                scratchLast0 = cg;
            }
            for (RecordedCall.Arg a : call.args()) {
                Info in = arrays.get(a.array());
                if (in == null) {
                    in = new Info(a.array(), cg);
                    arrays.put(a.array(), in);
                    order.add(in);
                }
                Use u = tensors.get(a.tensor());
                if (u == null) {
                    u = new Use(a.tensor(), in, c);
                    tensors.put(a.tensor(), u);
                    uses.add(u);
                    in.tensors.add(u);
                } else if (u.in != in) {
                    throw new IllegalStateException(a.tensor() + " is addressed through two arrays in one TornadoVM segment");
                }
                u.input |= u.firstCall == c && a.read();
                u.written |= a.written();
                in.input |= u.input;
                in.last = cg;
                in.written |= a.written();
            }
        }
        long bytes = 0;
        for (Use u : uses) {
            u.in.every |= u.input && everyExecution.contains(u.tensor);
        }
        for (Info in : order) {
            if (!in.tensors.isEmpty() && in.tensors.get(0).inArena()) {
                long end = 0;
                for (Use u : in.tensors) {
                    end = Math.max(end, (long) u.tensor.base() + u.tensor.size());
                }
                in.device = in.tensors.get(0).tensor.region().chunk().prefix(end);
            }
        }
        // each arena copied in once gets a graph of its own before the calls' (see Prologue); the calls'
        // graphs follow, consuming it
        List<Info> arrivals = new ArrayList<>();
        for (Info in : order) {
            boolean arena = !in.tensors.isEmpty() && in.tensors.get(0).inArena();
            if (options.prologue() && arena && in.input && !in.every) {
                arrivals.add(in);
            }
        }
        this.prologues = arrivals.size();
        for (Info in : order) {
            in.owner += prologues;
            in.last += prologues;
        }
        for (int p = 0; p < prologues; p++) {
            arrivals.get(p).owner = p;
        }
        this.graphs = prologues + g + 1;
        this.scratchFloats = scratchMax;
        this.scratchFirst = scratchFirst0 < 0 ? -1 : scratchFirst0 + prologues;
        this.scratchLast = scratchLast0 < 0 ? -1 : scratchLast0 + prologues;
        this.scratch = scratchMax == 0 ? null
                : FloatArray.fromSegmentShallow(HostMemory.allocate(TornadoNativeArray.ARRAY_HEADER + scratchMax * 4));
        bytes += scratchMax * 4;
        for (Info in : order) {
            bytes += in.bytes();
            if (options.traceFlush() && in.bytes() >= 1 << 20) {
                long inputBytes = 0;
                long tensorBytes = 0;
                for (Use u : in.tensors) {
                    inputBytes += u.input ? u.tensor.size() * 4L : 0;
                    tensorBytes += u.tensor.size() * 4L;
                }
                System.err.printf("segment array of %d MB: graphs %d-%d, %s, %d tensors of %d MB (%d MB of them read before written)%n",
                        in.bytes() >> 20, in.owner, in.last, in.input ? (in.every ? "copied in every run" : "copied in once")
                                : "not copied in", in.tensors.size(), tensorBytes >> 20, inputBytes >> 20);
            }
        }
        String base = "seg" + NAMES.incrementAndGet() + "g";
        GridScheduler scheduler = new GridScheduler();
        ImmutableTaskGraph[] built = new ImmutableTaskGraph[graphs];
        this.kernels = new SharedKernels(options.shareKernels());
        int c = 0;
        for (g = 0; g < graphs; g++) {
            String name = base + g;
            TaskGraph tg = kernels.graph(name);
            boolean prologue = g < prologues;
            List<Object> consumed = new ArrayList<>();
            List<Object> once = new ArrayList<>(placeholders);
            List<Object> always = new ArrayList<>();
            List<Object> persisted = new ArrayList<>();
            for (Info in : order) {
                if (in.owner < g && in.last >= g) {
                    consumed.add(in.device);
                } else if (in.owner == g) {
                    if (in.input) {
                        (in.every ? always : once).add(in.device);
                    }
                    if (in.last > g || in.written) {
                        persisted.add(in.device);
                        in.persisted = true;
                    }
                }
            }
            if (scratch != null && g > scratchFirst && g <= scratchLast) {
                consumed.add(scratch);
            } else if (scratch != null && g == scratchFirst && scratchLast > g) {
                persisted.add(scratch); // allocated here, not copied in: see scratch
            }
            int first = c;
            for (; c < calls.size() && graphOf[c] + prologues == g; c++) {
                RecordedCall call = calls.get(c);
                always.add(call.values().ip);
                always.add(call.values().fp);
            }
            if (!consumed.isEmpty()) {
                tg.consumeFromDevice(base + (g - 1), consumed.toArray());
            }
            tg.transferToDevice(EVERY_EXECUTION, always.toArray());
            tg.transferToDevice(FIRST_EXECUTION, once.toArray());
            if (prologue) {
                tg = Prologue.add(tg, name, (FloatArray) arrivals.get(g).device, scheduler);
                kernels.task(Prologue.TASK);
            }
            for (int k = first; k < c; k++) {
                RecordedCall call = calls.get(k);
                KernelTasks.Names names = new KernelTasks.Names("c" + k + "_");
                tg = call.addTo(tg, names, scratch, a -> deviceArray(a));
                for (int t = 0; t < call.taskCount(); t++) {
                    scheduler.addWorkerGrid(name + "." + names.task(t), call.values().grid(t));
                    kernels.task(names.task(t));
                }
            }
            if (!persisted.isEmpty()) {
                tg.persistOnDevice(persisted.toArray());
            }
            if (options.traceFlush()) {
                System.err.printf("segment graph %d: calls %d, consumed %d, copied in %d+%d, persisted %d%n", g, c - first,
                        consumed.size(), once.size(), always.size(), persisted.size());
            }
            kernels.endGraph();
            built[g] = tg.snapshot();
        }
        this.deviceBytes = bytes;
        this.plan = new TornadoExecutionPlan(built);
        plan.withDevice(device).withGridScheduler(scheduler).withCompilerFlags(TornadoVMBackendType.OPENCL, openclFlags);
        profile.attach(plan);
        kernels.attach(device, plan);
    }

    /** The array this plan's graphs pass for {@code array} (a call's argument as recorded). */
    private Object deviceArray(Object array) {
        Info in = arrays.get(array);
        return in == null ? array : in.device;
    }

    int graphs() {
        return graphs;
    }

    /** Its tasks' kernels and TornadoVM's code cache ({@link SharedKernels}). */
    SharedKernels kernels() {
        return kernels;
    }

    int calls() {
        return calls.size();
    }

    long deviceBytes() {
        return deviceBytes;
    }

    /** Whether a new recording of the same sequence fits this plan (its calls need no more scratch). */
    boolean fits(List<RecordedCall> recording) {
        for (int c = 0; c < recording.size(); c++) {
            if (recording.get(c).scratchFloats() > scratchFloats) {
                return false;
            }
        }
        return true;
    }

    /**
     * The tensors this plan copies in once whose device copy is out of date: written since its last run
     * by the host, an op outside it or another segment. The plan cannot copy them again; the caller
     * rebuilds it with them copied in every run.
     */
    List<TornadoTensor> stale() {
        List<TornadoTensor> out = new ArrayList<>();
        if (!ran) {
            return out;
        }
        for (Use u : uses) {
            if (u.input && !u.in.every && (u.tensor.isClosed() || deviceVersions.get(u.tensor) != u.tensor.version())) {
                out.add(u.tensor);
            }
        }
        return out;
    }

    boolean uses(TornadoTensor t) {
        return tensors.containsKey(t);
    }

    /**
     * Runs the plan with a recording's per-call values ({@code recording} is this plan's own calls on
     * the first run, or a later recording of the same sequence), then marks what it wrote as living
     * here.
     */
    void run(List<RecordedCall> recording) {
        if (recording != calls) {
            for (int i = 0; i < calls.size(); i++) {
                calls.get(i).values().copyFrom(recording.get(i).values());
            }
        }
        for (Use u : uses) {
            if (u.input && (u.in.every || !ran)) {
                u.tensor.toHost();
            }
        }
        for (int g = 0; g < graphs; g++) {
            if (!ran) {
                kernels.beforeFirstRun(g); // see SharedKernels
            }
            last = plan.withGraph(g).execute();
            profile.add(last);
            if (!ran) {
                kernels.afterFirstRun(g);
                // the arenas graph g copied in are on the device now: their host pages can go at once,
                // so that at no time does the first run hold every arena twice
                releaseHost(g);
                // its first execution compiled its tasks (TornadoVM's compiler, then the driver's: on PoCL,
                // LLVM in this process); the C heap would keep what that freed, graph after graph
                HostMemory.trimNativeHeap();
            }
        }
        ran = true;
        for (Use u : uses) {
            if (u.written) {
                u.tensor.touch();
                u.tensor.ownedBy(this);
            }
            deviceVersions.put(u.tensor, u.tensor.version());
        }
        for (int g = 0; g < graphs; g++) {
            releaseHost(g); // tensors the host read since the last run (a host read copies a tensor back)
        }
    }

    /**
     * Gives back the host memory ({@link HostMemory#discard}) of the tensors this plan addresses through
     * the arenas graph {@code g} owns, and marks their latest data as living here, so a host read or
     * another plan copies them back first ({@link TornadoTensor#toHost}): this plan's device copy of an
     * arena is current for every tensor it uses once it has run (what it reads was copied in and is
     * rebuilt when changed elsewhere, {@link #stale}; what it writes is here). Not for an arena copied
     * in on every run (its host image is what is copied) nor one TornadoVM does not keep on the device.
     */
    private void releaseHost(int g) {
        for (Info in : order) {
            if (in.owner != g || in.every || !in.persisted) {
                continue;
            }
            if (!ran && !in.tensors.isEmpty() && in.tensors.get(0).inArena()) {
                in.tensors.get(0).tensor.region().chunk().discardFree();
            }
            for (Use u : in.tensors) {
                if (u.inArena() && u.tensor.owner() != this && !u.tensor.isClosed()) {
                    HostMemory.discard(u.tensor.segment(), 0, u.tensor.size() * 4L);
                    u.tensor.ownedBy(this);
                }
            }
        }
    }

    /** Whether this plan holds the latest data of a tensor that is still open. */
    boolean holdsOpenTensors() {
        for (Use u : uses) {
            if (u.tensor.owner() == this && !u.tensor.isClosed()) {
                return true;
            }
        }
        return false;
    }

    /** Copies a tensor this plan holds the latest data of back to its array. */
    void pull(TornadoTensor t) {
        Use u = tensors.get(t);
        if (u == null || last == null) {
            throw new IllegalStateException(t + " is not held by this TornadoVM segment");
        }
        plan.withGraph(u.in.owner);
        if (u.inArena()) {
            // its region of the arena only (TornadoVM's partial copy: element offset and count)
            last.transferToHost(new DataRange((FloatArray) u.in.device).withOffset(t.base()).withSize(t.size()));
        } else {
            last.transferToHost(u.in.device);
        }
        profile.addCopyOut(t.size() * 4L);
    }

    /**
     * Frees the plan's device memory, first copying back what only it holds (unless {@code discard}:
     * the device is closing).
     */
    void close(boolean discard) {
        for (Use u : uses) {
            if (u.tensor.owner() == this) {
                if (!discard && !u.tensor.isClosed()) {
                    u.tensor.toHost();
                } else {
                    u.tensor.ownedBy(null);
                }
            }
        }
        try {
            plan.withAllGraphs();
            plan.close();
        } catch (TornadoExecutionPlanException e) {
            throw new IllegalStateException("freeing a TornadoVM segment's device memory failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        close(false);
    }
}
