package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The one way a kernel call adds its tasks to a task graph, whether the graph is a plan of its own
 * ({@link KernelPlan}) or one graph of a captured step ({@link Segment}): the call's tasks, named
 * {@code names.task(0..)}, on its parameter buffers and its operands' arrays, in the order the
 * {@link KernelCall} listed them. Transfers are not its business: the plan or segment declares them.
 */
@FunctionalInterface
interface KernelTasks {

    TaskGraph add(TaskGraph graph, Names names, IntArray ip, FloatArray fp, Operands a);

    /**
     * The names of a call's tasks: {@code t0, t1, …} in a plan of its own; prefixed with the call's
     * index in a segment, so the tasks of many calls in one graph keep distinct names.
     */
    record Names(String prefix) {

        /** The names of a plan of its own. */
        static final Names OWN = new Names("");

        String task(int i) {
            return prefix + "t" + i;
        }
    }

    /** A call's operand arrays in {@link KernelCall} order: float32 ones through {@link #f}, int32 through {@link #ints}. */
    record Operands(Object[] arrays) {

        FloatArray f(int i) {
            return (FloatArray) arrays[i];
        }

        IntArray ints(int i) {
            return (IntArray) arrays[i];
        }
    }
}
