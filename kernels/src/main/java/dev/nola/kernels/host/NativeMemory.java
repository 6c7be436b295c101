package dev.nola.kernels.host;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Zeroed, 64-byte aligned native memory for the cpu backend's tensors, from the C library's
 * {@code calloc} and {@code free} through the FFM linker.
 *
 * <p>Why not an {@link java.lang.foreign.Arena} per tensor: a shared arena's {@code close()} performs
 * a thread-local handshake with every Java thread (so that no thread is still reading the segment),
 * which is microseconds to milliseconds per tensor, and a training step frees hundreds of tensors; a
 * confined arena cannot be read by the fork-join workers. {@code free} is a plain call. Use after
 * free is prevented one level up: a closed {@link HostTensor} refuses to hand out its segment.
 *
 * <p>{@code calloc} rather than {@code malloc} + fill: for large blocks the C library maps fresh
 * zero pages, so a tensor's pages are only touched (and counted in RSS) when a kernel writes them,
 * and freeing returns them to the system.
 */
final class NativeMemory {

    /** Alignment of every block: one cache line, and one AVX-512 vector. */
    static final long ALIGNMENT = 64;

    private static final MethodHandle CALLOC;
    private static final MethodHandle FREE;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        CALLOC = linker.downcallHandle(libc.find("calloc").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_LONG));
        FREE = linker.downcallHandle(libc.find("free").orElseThrow(), FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** A block: the address {@code calloc} returned (for {@link #free}) and the aligned segment of the bytes asked for. */
    record Block(long raw, MemorySegment segment) {
    }

    private NativeMemory() {
    }

    /**
     * Allocates {@code bytes} zeroed bytes at a 64-byte aligned address.
     *
     * @throws OutOfMemoryError when the C library has no memory to give
     */
    static Block allocate(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes is " + bytes + "; expected >= 0");
        }
        long raw;
        try {
            raw = ((MemorySegment) CALLOC.invokeExact(1L, bytes + ALIGNMENT - 1)).address();
        } catch (Throwable t) {
            throw new IllegalStateException("calloc failed", t);
        }
        if (raw == 0) {
            throw new OutOfMemoryError("native allocation of " + bytes + " bytes for a cpu tensor failed");
        }
        long aligned = (raw + ALIGNMENT - 1) & -ALIGNMENT;
        return new Block(raw, MemorySegment.ofAddress(aligned).reinterpret(bytes));
    }

    /** Returns a block's memory to the C library; its segment must not be used after. */
    static void free(Block block) {
        try {
            FREE.invokeExact(MemorySegment.ofAddress(block.raw()));
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
