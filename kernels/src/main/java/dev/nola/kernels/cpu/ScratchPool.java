package dev.nola.kernels.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Native scratch buffers for the cpu kernels' calls, taken for the length of a call and given back,
 * so a training step reuses the same few buffers instead of allocating new ones.
 *
 * <p>Why: a buffer from {@code Arena.ofAuto()} is freed only when the GC finds it unreachable. The
 * small kernels (norm and bias gradients' partials, GELU/SwiGLU blocks, adapter partials) took one
 * per call, so native memory the GC does not see piled up between collections: NMT counted a peak of
 * ~100 MB of such buffers in a GPT-2 124M step, spread over the fork-join workers' malloc arenas.
 *
 * <p>Buffers come in power-of-two classes from {@link #MIN_FLOATS} floats up; each is 64-byte
 * aligned and handed out zeroed over the floats asked for. A class keeps at most {@link #kept} idle
 * buffers (about {@link #BYTES_PER_CLASS} bytes), and buffers larger than {@link #MAX_POOLED_FLOATS}
 * floats are never kept: one given back beyond that is freed at once (its own shared arena closed),
 * so what the pool holds is bounded by the most a call ever held at once, not by the number of calls.
 */
final class ScratchPool {

    /** The smallest class: 1,024 floats (4 KiB). */
    static final int MIN_FLOATS = 1 << 10;
    /** The largest class kept when idle: 4 Mi floats (16 MiB). */
    static final int MAX_POOLED_FLOATS = 1 << 22;
    /**
     * Idle bytes a class keeps, within {@link #MIN_KEPT} and {@link #MAX_KEPT} buffers: one call may
     * hold dozens of small buffers at once (the adapter backward: two partials per chunk of rows, up
     * to 16 chunks), and freeing one is a handshake with every thread (~150 µs), so small classes
     * keep many; large ones few.
     */
    static final long BYTES_PER_CLASS = 16L << 20;
    /** Fewest idle buffers any class keeps. */
    static final int MIN_KEPT = 4;
    /** Most idle buffers any class keeps. */
    static final int MAX_KEPT = 64;

    private static final int CLASSES = Integer.numberOfTrailingZeros(MAX_POOLED_FLOATS) - Integer.numberOfTrailingZeros(MIN_FLOATS) + 1;
    @SuppressWarnings("unchecked")
    private static final ConcurrentLinkedDeque<Buffer>[] IDLE = new ConcurrentLinkedDeque[CLASSES];
    /** Idle buffers per class, counted apart from the deques so the bound holds under concurrent give-backs. */
    private static final AtomicIntegerArray COUNT = new AtomicIntegerArray(CLASSES);
    private static final AtomicLong ALLOCATED = new AtomicLong();
    private static final AtomicLong FREED = new AtomicLong();

    static {
        for (int c = 0; c < CLASSES; c++) {
            IDLE[c] = new ConcurrentLinkedDeque<>();
        }
    }

    private ScratchPool() {
    }

    /**
     * A scratch buffer: {@link #segment} has at least the floats asked for, the first of them zero.
     * Closing gives it back to the pool (or frees it); it must not be used after.
     */
    static final class Buffer implements AutoCloseable {
        private final Arena arena;
        private final int floats;
        /** The buffer's memory, 64-byte aligned, {@code 4 · capacity} bytes. */
        final MemorySegment segment;

        private Buffer(int floats) {
            this.floats = floats;
            this.arena = Arena.ofShared();
            this.segment = arena.allocate((long) floats * Float.BYTES, 64);
            ALLOCATED.incrementAndGet();
        }

        /** Floats the buffer holds (its class; at least what was asked). */
        int capacity() {
            return floats;
        }

        @Override
        public void close() {
            int c = classOf(floats);
            int keep = kept(floats);
            if (c >= 0 && COUNT.getAndUpdate(c, k -> k < keep ? k + 1 : k) < keep) {
                IDLE[c].addFirst(this);
            } else {
                arena.close();
                FREED.incrementAndGet();
            }
        }
    }

    /** A buffer of at least {@code n} floats whose first {@code n} are zero, for the caller alone until closed. */
    static Buffer take(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n is " + n + "; expected >= 0");
        }
        int size = sizeFor(n);
        int c = classOf(size);
        Buffer b = c >= 0 ? IDLE[c].pollFirst() : null;
        if (b != null) {
            COUNT.decrementAndGet(c);
        } else {
            return new Buffer(size); // fresh memory from an arena is zeroed
        }
        b.segment.asSlice(0, (long) n * Float.BYTES).fill((byte) 0);
        return b;
    }

    /** The capacity a request for n floats gets: its power-of-two class, or n itself past the largest kept class. */
    static int sizeFor(int n) {
        if (n <= MIN_FLOATS) {
            return MIN_FLOATS;
        }
        if (n > MAX_POOLED_FLOATS) {
            return n;
        }
        return Integer.highestOneBit(n - 1) << 1;
    }

    /** Idle buffers of {@code size} floats a class keeps. */
    static int kept(int size) {
        long byBytes = BYTES_PER_CLASS / ((long) size * Float.BYTES);
        return (int) Math.max(MIN_KEPT, Math.min(MAX_KEPT, byBytes));
    }

    private static int classOf(int size) {
        if (size > MAX_POOLED_FLOATS || Integer.bitCount(size) != 1) {
            return -1;
        }
        return Integer.numberOfTrailingZeros(size) - Integer.numberOfTrailingZeros(MIN_FLOATS);
    }

    /** Buffers allocated so far (for tests: a pooled call allocates none once warm). */
    static long allocated() {
        return ALLOCATED.get();
    }

    /** Buffers freed so far, past a class's bound or too large to keep. */
    static long freed() {
        return FREED.get();
    }

    /** Idle buffers held now, all classes. */
    static int idle() {
        int s = 0;
        for (int c = 0; c < CLASSES; c++) {
            s += COUNT.get(c);
        }
        return s;
    }
}
