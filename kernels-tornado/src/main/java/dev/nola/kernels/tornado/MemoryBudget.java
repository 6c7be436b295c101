package dev.nola.kernels.tornado;

/**
 * Bytes of device buffers that a device's compiled plans ({@link PlanCache}) and segments
 * ({@link Capture}) may hold together before the least recently used are freed: TornadoVM gives every
 * plan its own device copy of each array it uses, so memory, not the number of plans, is the limit.
 */
final class MemoryBudget {

    private final long limit;
    private long held;

    MemoryBudget(long limit) {
        this.limit = limit;
    }

    void add(long bytes) {
        held += bytes;
    }

    void remove(long bytes) {
        held -= bytes;
    }

    /** Bytes held now. */
    long held() {
        return held;
    }

    boolean exceeded() {
        return held > limit;
    }
}
