package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * One call of a kernel as an op sees it, from {@link KernelCall#launch}: fill {@link #ip} and
 * {@link #fp}, set the grids, then {@link #execute} (or {@link #run}, both at once for a one-task
 * call). Executing runs the compiled plan, or inside a capture adds the recorded call to the recording.
 */
final class Launch {

    final IntArray ip;
    final FloatArray fp;
    private final String op;
    private final CallValues values;
    private final Runnable go;

    Launch(String op, CallValues values, Runnable go) {
        this.op = op;
        this.values = values;
        this.ip = values.ip;
        this.fp = values.fp;
        this.go = go;
    }

    /** Sets task {@code task}'s grid ({@link CallValues#grid}), checking that it fits TornadoVM's 1-D grid. */
    void grid(int task, long globalSize, boolean smallGroups) {
        values.grid(task, fits(globalSize), smallGroups);
    }

    private int fits(long globalSize) {
        if (globalSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + " needs " + globalSize + " work-items; TornadoVM's 1-D grid holds at most "
                    + Integer.MAX_VALUE);
        }
        return (int) globalSize;
    }

    /** Runs the single task over {@code globalSize} work-items: {@link #grid} of task 0, then {@link #execute}. */
    void run(long globalSize, boolean smallGroups) {
        grid(0, globalSize, smallGroups);
        execute();
    }

    /** Runs the single task as {@code groups} work-groups of exactly {@code local} work-items each. */
    void runGroups(long groups, int local) {
        groups(0, groups, local);
        execute();
    }

    /**
     * Sets task {@code task}'s grid to {@code groups} work-groups of exactly {@code local} work-items
     * ({@link CallValues#groups}).
     */
    void groups(int task, long groups, int local) {
        values.groups(task, fits(groups * local), local);
    }

    /** Runs the tasks in order (or records them inside a capture). */
    void execute() {
        go.run();
    }
}
