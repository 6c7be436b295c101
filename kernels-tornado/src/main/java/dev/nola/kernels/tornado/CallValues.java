package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * What changes from one call of a kernel to the next: the int and float parameter buffers (copied in
 * on every run, a few words; never scalar arguments, which TornadoVM bakes into the code as
 * constants) and each task's grid. A compiled {@link KernelPlan} owns one, refilled on every call; a
 * {@link RecordedCall} owns its own, which a replayed {@link Segment} copies into the one it holds.
 */
final class CallValues {

    /** Largest CPU work-group. */
    static final int CPU_GROUP = 64;
    /** Fewest CPU work-groups a kernel is split into (where it has that many work-items). */
    static final int CPU_GROUPS = 32;

    final IntArray ip;
    final FloatArray fp;
    private final WorkerGrid1D[] grids;
    private final int[] globalSizes;
    private final boolean[] smallGroups;
    /** Per task, the work-group size fixed by {@link #groups} (0: as {@link #grid} chose). */
    private final int[] fixedGroups;

    CallValues(int tasks, int ipSize, int fpSize) {
        this.ip = new IntArray(Math.max(1, ipSize));
        this.fp = new FloatArray(Math.max(1, fpSize));
        this.grids = new WorkerGrid1D[tasks];
        this.globalSizes = new int[tasks];
        this.smallGroups = new boolean[tasks];
        this.fixedGroups = new int[tasks];
        for (int i = 0; i < tasks; i++) {
            grids[i] = new WorkerGrid1D(1);
        }
    }

    int tasks() {
        return grids.length;
    }

    /** Task {@code task}'s grid, as a {@code GridScheduler} is given it. */
    WorkerGrid1D grid(int task) {
        return grids[task];
    }

    /**
     * Sets task {@code task}'s grid to {@code globalSize} work-items (each kernel guards its own
     * bound). With {@code small} (CPU devices) the work-group is at most {@value #CPU_GROUP}
     * work-items and small enough for at least {@value #CPU_GROUPS} groups, the global size rounded up
     * to a multiple of it: PoCL runs one work-group per thread, and the size TornadoVM picks by itself
     * (up to 4096) puts a kernel of a few hundred chunky work-items on one core. Otherwise TornadoVM
     * chooses.
     */
    void grid(int task, int globalSize, boolean small) {
        globalSizes[task] = globalSize;
        smallGroups[task] = small;
        fixedGroups[task] = 0;
        WorkerGrid1D grid = grids[task];
        if (small) {
            long local = Math.max(1, Math.min(CPU_GROUP, globalSize / CPU_GROUPS));
            long global = (globalSize + local - 1) / local * local;
            grid.setGlobalWork(global, 1, 1);
            grid.setLocalWork(local, 1, 1);
        } else {
            grid.setGlobalWork(globalSize, 1, 1);
            grid.setLocalWorkToNull();
        }
    }

    /**
     * Sets task {@code task}'s grid to work-groups of exactly {@code local} work-items, {@code globalSize}
     * (a multiple of {@code local}) in all: the kernels that give each group one row and reduce it in
     * local memory ({@link NnGroupKernels}).
     */
    void groups(int task, int globalSize, int local) {
        globalSizes[task] = globalSize;
        smallGroups[task] = false;
        fixedGroups[task] = local;
        grids[task].setGlobalWork(globalSize, 1, 1);
        grids[task].setLocalWork(local, 1, 1);
    }

    /** Takes a later call's values (parameter buffers, grids) into these. */
    void copyFrom(CallValues later) {
        for (int i = 0; i < ip.getSize(); i++) {
            ip.set(i, later.ip.get(i));
        }
        for (int i = 0; i < fp.getSize(); i++) {
            fp.set(i, later.fp.get(i));
        }
        for (int t = 0; t < grids.length; t++) {
            if (later.fixedGroups[t] > 0) {
                groups(t, later.globalSizes[t], later.fixedGroups[t]);
            } else {
                grid(t, later.globalSizes[t], later.smallGroups[t]);
            }
        }
    }
}
