package dev.nola.kernels.tornado;

import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The graphs a {@link Segment} runs before its calls' graphs, one per arena it copies in once: each
 * copies its arena to the device and keeps it there, so that the segment gives back that arena's host
 * pages ({@link HostMemory#discard}) before the next arena is copied.
 *
 * <p>Why: every arena of a training step is used by its first graph, which would otherwise copy them
 * all in at once. On a device whose buffers are host memory (PoCL), and on a kernel where reading an
 * untouched page commits it, the first run then held every arena twice (its host pages, all read by the
 * copy, and its device copy) until that graph had run: the process's peak. With a graph per arena the
 * peak holds one arena twice at most.
 *
 * <p>A consumed buffer must have been allocated by a task of an earlier graph, and TornadoVM copies
 * in only what its access analysis finds read, so each graph has one task, {@link #arrive}, that reads
 * (and, behind a guard that never holds, writes) its arena. The graphs run on every run of the segment
 * (TornadoVM hands buffers on from the graph executed just before, so the chain must not change), a
 * one-work-item kernel and no copy each after the first.
 */
final class Prologue {

    /** The name of the one task of a prologue graph. */
    static final String TASK = "arrive";

    private Prologue() {
    }

    /**
     * The task of a prologue graph: one work-item that would copy {@code a[0]} over itself if
     * {@code ip[0]} were above 0 (it is 0): a read and a write of {@code a} for TornadoVM's analysis,
     * so the arena is copied in and kept; nothing happens.
     */
    static void arrive(KernelContext ctx, IntArray ip, FloatArray a) {
        int i = ctx.globalIdx;
        if (i < ip.get(0)) {
            a.set(i, a.get(i) + 0f);
        }
    }

    /**
     * Adds the task to {@code graph} (named {@code name}) over {@code arena}, its parameter buffer
     * copied in once, and its one-work-item grid to {@code scheduler}.
     */
    static TaskGraph add(TaskGraph graph, String name, FloatArray arena, GridScheduler scheduler) {
        IntArray ip = new IntArray(1); // ip[0] = 0: no work-item does anything
        graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, ip);
        TaskGraph g = graph.task(TASK, Prologue::arrive, new KernelContext(), ip, arena);
        scheduler.addWorkerGrid(name + "." + TASK, new WorkerGrid1D(1));
        return g;
    }
}
