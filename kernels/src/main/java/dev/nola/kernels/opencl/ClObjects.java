package dev.nola.kernels.opencl;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts of the OpenCL objects this backend holds right now, process-wide. Every create increments,
 * every release decrements; a leak test opens and closes devices and checks that all return to
 * where they started.
 */
final class ClObjects {

    static final AtomicInteger CONTEXTS = new AtomicInteger();
    static final AtomicInteger QUEUES = new AtomicInteger();
    static final AtomicInteger BUFFERS = new AtomicInteger();
    static final AtomicInteger PROGRAMS = new AtomicInteger();
    static final AtomicInteger KERNELS = new AtomicInteger();

    private ClObjects() {
    }

    /** All counts as one string, for test messages. */
    static String snapshot() {
        return "contexts=" + CONTEXTS.get() + " queues=" + QUEUES.get() + " buffers=" + BUFFERS.get()
                + " programs=" + PROGRAMS.get() + " kernels=" + KERNELS.get();
    }

    /** The sum of all counts. */
    static int total() {
        return CONTEXTS.get() + QUEUES.get() + BUFFERS.get() + PROGRAMS.get() + KERNELS.get();
    }
}
