package dev.nola.kernels.tornado;

import java.util.List;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.TornadoProfilerResult;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
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

    /** The (first) task's name inside every graph. */
    static final String TASK = "t";

    /** The name of task i inside a graph of several. */
    static String task(int i) {
        return i == 0 ? TASK : TASK + i;
    }

    final IntArray ip;
    final FloatArray fp;
    final List<TornadoTensor> tensors;
    private final List<TornadoTensor> resident;
    /** Floats of the plan's own scratch array (0 without one), set by {@link TornadoPlans}. */
    long scratchFloats;
    private final long[] residentVersions;
    private final WorkerGrid1D[] grids;
    private final TornadoExecutionPlan plan;

    /** Builds the task graph from a fresh graph, the parameter buffers and the device. */
    interface GraphBuilder {
        TaskGraph build(TaskGraph graph, IntArray ip, FloatArray fp);
    }

    KernelPlan(String name, TornadoDevice device, String openclFlags, int ipSize, int fpSize,
               List<TornadoTensor> tensors, List<TornadoTensor> resident, GraphBuilder builder) {
        this(name, device, openclFlags, 1, ipSize, fpSize, tensors, resident, builder);
    }

    /** A plan whose graph has {@code tasks} tasks, named {@link #task}(0..tasks-1). */
    KernelPlan(String name, TornadoDevice device, String openclFlags, int tasks, int ipSize, int fpSize,
               List<TornadoTensor> tensors, List<TornadoTensor> resident, GraphBuilder builder) {
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
        if (PROFILE) {
            plan.withProfiler(ProfilerMode.SILENT);
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

    /** Runs every task in order, with the grids set (and adds TornadoVM's profile to {@link #TOTALS} when profiling). */
    void execute() {
        TornadoExecutionResult r = plan.execute();
        if (PROFILE) {
            TornadoProfilerResult p = r.getProfilerResult();
            TOTALS[0] += p.getTotalTime();
            TOTALS[1] += p.getDeviceKernelTime();
            TOTALS[2] += p.getDeviceWriteTime();
            TOTALS[3] += p.getDeviceReadTime();
            TOTALS[4] += p.getDataTransferDispatchTime() + p.getKernelDispatchTime();
            TOTALS[5] += p.getCompileTime();
            TOTALS[6] += p.getTotalBytesCopyIn();
            TOTALS[7] += p.getTotalBytesCopyOut();
            TOTALS[8]++;
        }
    }

    /**
     * {@code -Dnola.tornado.profile=true}: every plan runs with TornadoVM's profiler (silent) and its
     * figures are summed into {@link #TOTALS}, read through {@code AbstractDevice.backendCounters()}.
     */
    static final boolean PROFILE = Boolean.getBoolean("nola.tornado.profile");
    /** Names of {@link #TOTALS}: nanoseconds, then bytes, then plan executions. */
    static final String[] TOTAL_NAMES = {"tornado.total_ns", "tornado.kernel_ns", "tornado.copy_in_ns",
            "tornado.copy_out_ns", "tornado.dispatch_ns", "tornado.compile_ns", "tornado.copy_in_bytes",
            "tornado.copy_out_bytes", "tornado.executions"};
    static final long[] TOTALS = new long[TOTAL_NAMES.length];

    /** Largest CPU work-group. */
    static final int CPU_GROUP = 64;
    /** Fewest CPU work-groups a kernel is split into (where it has that many work-items). */
    static final int CPU_GROUPS = 32;

    @Override
    public void close() {
        try {
            plan.close();
        } catch (TornadoExecutionPlanException e) {
            throw new IllegalStateException("freeing a TornadoVM plan's device memory failed: " + e.getMessage(), e);
        }
    }
}
