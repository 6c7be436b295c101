package dev.nola.kernels.tornado;

import java.util.ArrayList;
import java.util.List;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.exceptions.TornadoExecutionPlanException;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Compiled kernels bound to their tensors: a {@link TaskGraph} of one or a few tasks (run in order,
 * each with its own grid) in a persistent {@link TornadoExecutionPlan}. The kernel is compiled on the first run and reused by later calls
 * with the same tensors; per-call values go through {@link #ip} and {@link #fp} (copied on every
 * run, a few words), never as scalar arguments, which TornadoVM bakes into the code as constants.
 *
 * <p>Tensors listed as resident are copied to the device on the first run only
 * ({@code DataTransferMode.FIRST_EXECUTION}) and stay there; the plan remembers their versions, and
 * {@link TornadoPlans} replaces the plan when one has been written since.
 */
final class KernelPlan implements AutoCloseable {

    /**
     * Prefix of the task names {@link #task} gives: empty for a plan of its own; while a {@link Segment}
     * adds recorded calls to its graphs, the call's index, so the tasks of many calls in one graph keep
     * distinct names. Set only by {@link Segment} while it builds; like the rest of the backend, this
     * assumes one thread drives the TornadoVM devices at a time.
     */
    static String prefix = "";

    /** Whether a {@link Segment} is adding recorded calls to its graphs (it declares every transfer itself). */
    static boolean inSegment() {
        return !prefix.isEmpty();
    }

    /** The name of task i of a call (its kernels use it when adding their tasks to a graph). */
    static String task(int i) {
        return prefix + "t" + i;
    }

    /** Adds a recorded call's tasks to a segment's graph; {@code scratch} stands for the call's own scratch array. */
    interface TaskAdder {
        TaskGraph add(TaskGraph graph, IntArray ip, FloatArray fp, FloatArray scratch);
    }

    /**
     * One storage array a recorded call passes to its tasks: the array, its tensor, whether the call
     * reads it (or writes only part of it, so the rest must be on the device too) and whether it writes
     * it. Placeholders and the call's own scratch are not listed (a segment gives each graph its own).
     */
    record Arg(Object array, TornadoTensor tensor, boolean read, boolean written) {
    }

    /** A recorded call (deferred mode), or null for a plan of its own. */
    final Recorded recorded;

    /**
     * What a deferred plan carries into its {@link Segment}: the cache key of the call (op variant,
     * storages, transfers), its arrays, the floats of scratch it needs and the task adder.
     */
    record Recorded(Object key, List<Arg> args, long scratchFloats, TaskAdder adder, Recorder recorder) {
    }

    /** Where {@link #execute} sends a deferred plan. */
    interface Recorder {
        void add(KernelPlan call);
    }

    /** The grid settings of each task, kept so that a replay can apply a new call's grids to its segment's. */
    private final int[] globalSizes;
    private final boolean[] smallGroupsOf;

    final IntArray ip;
    final FloatArray fp;
    final List<TornadoTensor> tensors;
    private final List<TornadoTensor> resident;
    /** Floats of the plan's own scratch array (0 without one), set by {@link TornadoPlans}. */
    long scratchFloats;
    private final long[] residentVersions;
    private final WorkerGrid1D[] grids;
    private final TornadoExecutionPlan plan;
    /** Where a plan of its own adds its runs' profiler figures (null for a recorded call). */
    private final TornadoProfile profile;

    /** Builds the task graph from a fresh graph, the parameter buffers and the device. */
    interface GraphBuilder {
        TaskGraph build(TaskGraph graph, IntArray ip, FloatArray fp);
    }

    KernelPlan(String name, TornadoDevice device, String openclFlags, int ipSize, int fpSize,
               List<TornadoTensor> tensors, List<TornadoTensor> resident, GraphBuilder builder) {
        this(name, device, openclFlags, new TornadoProfile(false), 1, ipSize, fpSize, tensors, resident, builder);
    }

    /**
     * A plan whose graph has {@code tasks} tasks, named {@link #task}(0..tasks-1), its runs added to
     * {@code profile}.
     */
    KernelPlan(String name, TornadoDevice device, String openclFlags, TornadoProfile profile, int tasks, int ipSize,
               int fpSize, List<TornadoTensor> tensors, List<TornadoTensor> resident, GraphBuilder builder) {
        this.recorded = null;
        this.profile = profile;
        this.globalSizes = new int[tasks];
        this.smallGroupsOf = new boolean[tasks];
        this.ip = new IntArray(Math.max(1, ipSize));
        this.fp = new FloatArray(Math.max(1, fpSize));
        this.tensors = List.copyOf(tensors);
        this.resident = List.copyOf(resident);
        this.residentVersions = new long[resident.size()];
        for (int i = 0; i < resident.size(); i++) {
            residentVersions[i] = resident.get(i).version();
        }
        TaskGraph g = builder.build(new TaskGraph(name), ip, fp);
        this.grids = new WorkerGrid1D[tasks];
        GridScheduler scheduler = new GridScheduler();
        for (int i = 0; i < tasks; i++) {
            grids[i] = new WorkerGrid1D(1);
            scheduler.addWorkerGrid(name + "." + task(i), grids[i]);
        }
        this.plan = new TornadoExecutionPlan(g.snapshot());
        plan.withDevice(device).withGridScheduler(scheduler).withCompilerFlags(TornadoVMBackendType.OPENCL, openclFlags);
        profile.attach(plan);
    }

    /**
     * A deferred call: nothing is built; {@link #execute} hands it to {@code recorded.recorder()}, and a
     * {@link Segment} adds its tasks to one of its graphs.
     */
    KernelPlan(int tasks, int ipSize, int fpSize, Recorded recorded) {
        this.recorded = recorded;
        this.profile = null;
        this.globalSizes = new int[tasks];
        this.smallGroupsOf = new boolean[tasks];
        this.ip = new IntArray(Math.max(1, ipSize));
        this.fp = new FloatArray(Math.max(1, fpSize));
        List<TornadoTensor> ts = new ArrayList<>();
        for (Arg a : recorded.args()) {
            if (a.tensor() != null && !ts.contains(a.tensor())) {
                ts.add(a.tensor());
            }
        }
        this.tensors = List.copyOf(ts);
        this.resident = List.of();
        this.residentVersions = new long[0];
        this.grids = new WorkerGrid1D[tasks];
        for (int i = 0; i < tasks; i++) {
            grids[i] = new WorkerGrid1D(1);
        }
        this.plan = null;
    }

    boolean deferred() {
        return recorded != null;
    }

    int tasks() {
        return grids.length;
    }

    WorkerGrid1D grid(int task) {
        return grids[task];
    }

    /** Copies a later call's per-call values (parameter buffers, grids) into this one, which a segment holds. */
    void takeCallFrom(KernelPlan later) {
        for (int i = 0; i < ip.getSize(); i++) {
            ip.set(i, later.ip.get(i));
        }
        for (int i = 0; i < fp.getSize(); i++) {
            fp.set(i, later.fp.get(i));
        }
        for (int t = 0; t < grids.length; t++) {
            grid(t, later.globalSizes[t], later.smallGroupsOf[t]);
        }
    }

    /** Whether a resident tensor was written (or closed) since this plan copied it. */
    boolean stale() {
        for (int i = 0; i < resident.size(); i++) {
            TornadoTensor t = resident.get(i);
            if (t.isClosed() || t.version() != residentVersions[i]) {
                return true;
            }
        }
        return false;
    }

    /** Bytes of the device buffers this plan holds: its tensors, its own scratch and the parameter buffers. */
    long deviceBytes() {
        long b = (scratchFloats + ip.getSize() + fp.getSize()) * 4L;
        for (TornadoTensor t : tensors) {
            b += t.size() * 4L;
        }
        return b;
    }

    boolean uses(TornadoTensor t) {
        for (TornadoTensor u : tensors) {
            if (u == t) {
                return true;
            }
        }
        return false;
    }

    /** Runs the (single) kernel over {@code globalSize} work-items: {@link #grid} of task 0, then {@link #execute}. */
    void run(int globalSize, boolean smallGroups) {
        grid(0, globalSize, smallGroups);
        execute();
    }

    /**
     * Sets task {@code task}'s grid to {@code globalSize} work-items (each kernel guards its own
     * bound). With {@code smallGroups} (CPU devices) the work-group is at most {@value #CPU_GROUP}
     * work-items and small enough for at least {@value #CPU_GROUPS} groups, the global size rounded up
     * to a multiple of it: PoCL runs one work-group per thread, and the size TornadoVM picks by itself
     * (up to 4096) puts a kernel of a few hundred chunky work-items on one core. Otherwise TornadoVM
     * chooses.
     */
    void grid(int task, int globalSize, boolean smallGroups) {
        globalSizes[task] = globalSize;
        smallGroupsOf[task] = smallGroups;
        WorkerGrid1D grid = grids[task];
        if (smallGroups) {
            long local = Math.max(1, Math.min(CPU_GROUP, globalSize / CPU_GROUPS));
            long global = (globalSize + local - 1) / local * local;
            grid.setGlobalWork(global, 1, 1);
            grid.setLocalWork(local, 1, 1);
        } else {
            grid.setGlobalWork(globalSize, 1, 1);
            grid.setLocalWorkToNull();
        }
    }

    /** Runs every task in order, with the grids set (and adds TornadoVM's profile to the device's when profiling). */
    void execute() {
        if (recorded != null) {
            recorded.recorder().add(this);
            return;
        }
        for (TornadoTensor t : tensors) {
            t.toHost();
        }
        profile.add(plan.execute());
    }

    /** Largest CPU work-group. */
    static final int CPU_GROUP = 64;
    /** Fewest CPU work-groups a kernel is split into (where it has that many work-items). */
    static final int CPU_GROUPS = 32;

    @Override
    public void close() {
        if (plan == null) {
            return;
        }
        try {
            plan.close();
        } catch (TornadoExecutionPlanException e) {
            throw new IllegalStateException("freeing a TornadoVM plan's device memory failed: " + e.getMessage(), e);
        }
    }
}
