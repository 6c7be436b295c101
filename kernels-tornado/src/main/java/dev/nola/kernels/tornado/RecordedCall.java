package dev.nola.kernels.tornado;

import java.util.List;
import java.util.function.UnaryOperator;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * A kernel call recorded inside a capture ({@link Capture}), waiting for its {@link Segment}: its key
 * (op variant, storages, uses, placement), the arrays its tasks get (null for the call's own scratch,
 * which the segment's graph provides), what it reads and writes ({@link Arg}), the floats of scratch it
 * needs, its tasks and its per-call values.
 */
record RecordedCall(CallKey key, Object[] arrays, List<Arg> args, long scratchFloats, KernelTasks tasks, CallValues values) {

    /**
     * One array a recorded call passes to its tasks: the array, its tensor, whether the call reads it (or
     * writes only part of it, so the rest must be on the device too) and whether it writes it.
     * Placeholders and the call's own scratch are not listed (a segment gives each graph its own).
     */
    record Arg(Object array, TornadoTensor tensor, boolean read, boolean written) {
    }

    /**
     * Adds the call's tasks to one of a segment's graphs; {@code scratch} stands in for its own scratch,
     * and each array is replaced by the one the segment passes for it ({@code deviceArray}: an arena's
     * used prefix, {@link TornadoArenas.Chunk#prefix}).
     */
    TaskGraph addTo(TaskGraph graph, KernelTasks.Names names, FloatArray scratch, UnaryOperator<Object> deviceArray) {
        Object[] a = arrays.clone();
        for (int i = 0; i < a.length; i++) {
            a[i] = a[i] == null ? scratch : deviceArray.apply(a[i]);
        }
        return tasks.add(graph, names, values.ip, values.fp, new KernelTasks.Operands(a));
    }

    int taskCount() {
        return values.tasks();
    }
}
