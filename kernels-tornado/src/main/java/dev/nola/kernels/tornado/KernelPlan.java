package dev.nola.kernels.tornado;

import java.util.List;
import java.util.function.UnaryOperator;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.exceptions.TornadoExecutionPlanException;

/**
 * A compiled kernel call bound to its tensors: a {@link TaskGraph} of one or a few tasks (run in order,
 * each with its own grid) in a persistent {@link TornadoExecutionPlan}. The kernel is compiled on the
 * first run and reused by later calls with the same tensors ({@link PlanCache}); per-call values go
 * through its {@link CallValues}.
 *
 * <p>Tensors listed as resident are copied to the device on the first run only
 * ({@code DataTransferMode.FIRST_EXECUTION}) and stay there; the plan remembers their versions, and
 * the cache replaces the plan when one has been written since ({@link #stale}).
 */
final class KernelPlan implements AutoCloseable {

    /** The parameter buffers and grids the graph is bound to; refilled by every call. */
    final CallValues values;
    private final List<TornadoTensor> tensors;
    private final List<TornadoTensor> resident;
    private final long[] residentVersions;
    /** Floats of the plan's own scratch array (0 without one). */
    private final long scratchFloats;
    private final TornadoExecutionPlan plan;
    /** Where the plan adds its runs' profiler figures. */
    private final TornadoProfile profile;

    /**
     * Builds the plan (nothing runs yet): {@code graph} turns a fresh graph named {@code name} into the
     * call's transfers and tasks, named {@link KernelTasks.Names#OWN}; its runs are added to {@code profile}.
     */
    KernelPlan(String name, TornadoDevice device, String openclFlags, TornadoProfile profile, CallValues values,
               List<TornadoTensor> tensors, List<TornadoTensor> resident, long scratchFloats, UnaryOperator<TaskGraph> graph) {
        this.values = values;
        this.profile = profile;
        this.tensors = List.copyOf(tensors);
        this.resident = List.copyOf(resident);
        this.scratchFloats = scratchFloats;
        this.residentVersions = new long[resident.size()];
        for (int i = 0; i < resident.size(); i++) {
            residentVersions[i] = resident.get(i).version();
        }
        TaskGraph g = graph.apply(new TaskGraph(name));
        GridScheduler scheduler = new GridScheduler();
        for (int i = 0; i < values.tasks(); i++) {
            scheduler.addWorkerGrid(name + "." + KernelTasks.Names.OWN.task(i), values.grid(i));
        }
        this.plan = new TornadoExecutionPlan(g.snapshot());
        plan.withDevice(device).withGridScheduler(scheduler).withCompilerFlags(TornadoVMBackendType.OPENCL, openclFlags);
        profile.attach(plan);
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

    long scratchFloats() {
        return scratchFloats;
    }

    /** Bytes of the device buffers this plan holds: its tensors, its own scratch and the parameter buffers. */
    long deviceBytes() {
        long b = (scratchFloats + values.ip.getSize() + values.fp.getSize()) * 4L;
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

    /** Whether {@link #freeDevice} released the device buffers since the plan last ran. */
    private boolean deviceFreed;

    /** Releases the plan's device buffers and keeps its compiled kernels; the next run allocates them again. */
    void freeDevice() {
        plan.freeDeviceMemory();
        deviceFreed = true;
    }

    boolean deviceFreed() {
        return deviceFreed;
    }

    /** The plan is about to run again after {@link #freeDevice}: its buffers count once more. */
    void deviceInUse() {
        deviceFreed = false;
    }

    /** Runs every task in order with the grids set, the tensors' latest data on the host first. */
    void execute() {
        for (TornadoTensor t : tensors) {
            t.toHost();
        }
        profile.add(plan.execute());
    }

    @Override
    public void close() {
        try {
            plan.close();
        } catch (TornadoExecutionPlanException e) {
            throw new IllegalStateException("freeing a TornadoVM plan's device memory failed: " + e.getMessage(), e);
        }
    }
}
