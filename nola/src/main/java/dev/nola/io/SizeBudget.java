package dev.nola.io;

import dev.nola.kernels.DeviceInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The memory a file asks for, checked before any of it is allocated. A reader lists each allocation
 * that a file's claims would cause ({@link #addFloats}, {@link #addBytes}; sizes in {@code long},
 * saturating at {@link Long#MAX_VALUE} instead of overflowing), then calls {@link #requireOnDevice}
 * or {@link #requireOnHeap}. A refusal is a {@link TooLargeException} with one line naming the file,
 * the allocation, the bytes needed and the limit; so no {@link OutOfMemoryError} (or a device's
 * allocation failure) ever comes from what a file says.
 *
 * <p>Limits: on a device, each allocation must fit {@link DeviceInfo#maxAllocBytes()} and their sum
 * {@link DeviceInfo#globalMemBytes()}. On the heap, the sum must fit what is free below the maximum
 * heap ({@code -Xmx}) less a margin for the rest of the program; the reference backend keeps tensors
 * on the heap (its global memory is reported as {@link Runtime#maxMemory()}), so both limits apply
 * to it. The cpu backend's tensors are native memory; its global memory is the machine's.
 */
public final class SizeBudget {

    /** One allocation: what it is (for messages) and its size. */
    public record Need(String what, long bytes) {
    }

    /** Bytes of heap kept free for the program itself: the larger of 32 MiB and 1/8 of the maximum. */
    static long heapMargin() {
        return Math.max(32L << 20, Runtime.getRuntime().maxMemory() / 8);
    }

    private final String source;
    private final List<Need> needs = new ArrayList<>();
    private long total;

    private SizeBudget(String source) {
        this.source = source;
    }

    /** An empty budget for allocations caused by {@code source} (a file, named in messages). */
    public static SizeBudget of(String source) {
        return new SizeBudget(source);
    }

    /** Adds a float32 tensor of {@code elements} elements. */
    public SizeBudget addFloats(String what, long elements) {
        return addBytes(what, times(elements, Float.BYTES));
    }

    /** Adds an allocation of {@code bytes} bytes ({@link Long#MAX_VALUE}: more than a long counts). */
    public SizeBudget addBytes(String what, long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes + " for " + what);
        }
        needs.add(new Need(what, bytes));
        total = plus(total, bytes);
        return this;
    }

    /** {@code a · b} for non-negative operands, {@link Long#MAX_VALUE} where it overflows. */
    public static long times(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return hi != 0 || lo < 0 ? Long.MAX_VALUE : lo;
    }

    /** {@code a + b} for non-negative operands, {@link Long#MAX_VALUE} where it overflows. */
    public static long plus(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }

    /** The allocations in the order added. */
    public List<Need> needs() {
        return Collections.unmodifiableList(needs);
    }

    /** Their sum in bytes. */
    public long totalBytes() {
        return total;
    }

    /**
     * Refuses unless every allocation fits one buffer of the device and all fit its memory at once
     * (and the free heap, for a device whose memory is the heap).
     *
     * @throws TooLargeException naming the file, the allocation, the bytes and the limit
     */
    public void requireOnDevice(DeviceInfo device) {
        for (Need n : needs) {
            if (n.bytes() > device.maxAllocBytes()) {
                throw new TooLargeException(source + ": " + n.what() + " needs " + Echo.bytes(n.bytes()) + "; device "
                        + device.id() + " allows at most " + Echo.bytes(device.maxAllocBytes()) + " per allocation"
                        + heapNote(device));
            }
        }
        if (total > device.globalMemBytes()) {
            throw new TooLargeException(source + ": " + subject() + " would take " + Echo.bytes(total)
                    + " on device " + device.id() + ", which has " + Echo.bytes(device.globalMemBytes()) + " of memory"
                    + heapNote(device));
        }
        if (memoryIsHeap(device)) {
            requireOnHeap();
        }
    }

    /**
     * Refuses unless all allocations fit the free Java heap at once.
     *
     * @throws TooLargeException naming the file, the bytes and the free heap
     */
    public void requireOnHeap() {
        Runtime rt = Runtime.getRuntime();
        long max = rt.maxMemory();
        if (total <= free(rt)) {
            return;
        }
        if (total <= max - heapMargin()) {
            // what the runtime counts as used includes garbage; collect once before refusing
            System.gc();
            if (total <= free(rt)) {
                return;
            }
        }
        throw new TooLargeException(source + ": " + subject() + " would take " + Echo.bytes(total)
                + " of Java heap, but " + Echo.bytes(Math.max(0, free(rt))) + " of the " + Echo.bytes(max)
                + " maximum (-Xmx) is free");
    }

    /** Shorthand for one heap allocation: {@code of(source).addBytes(what, bytes).requireOnHeap()}. */
    public static void requireHeap(String source, String what, long bytes) {
        of(source).addBytes(what, bytes).requireOnHeap();
    }

    private static long free(Runtime rt) {
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()) - heapMargin();
    }

    /** The allocation, or how many there are and the largest. */
    private String subject() {
        if (needs.size() == 1) {
            return needs.getFirst().what();
        }
        Need big = needs.getFirst();
        for (Need n : needs) {
            if (n.bytes() > big.bytes()) {
                big = n;
            }
        }
        return needs.size() + " allocations (the largest: " + big.what() + ", " + Echo.bytes(big.bytes()) + ")";
    }

    private static String heapNote(DeviceInfo device) {
        return memoryIsHeap(device) ? " (its memory is the Java heap, set by -Xmx)" : "";
    }

    /**
     * Whether a device keeps its tensors on this JVM's heap: the host backends describe the heap as
     * a CPU device whose global memory is {@link Runtime#maxMemory()}.
     */
    static boolean memoryIsHeap(DeviceInfo device) {
        return device.type() == DeviceInfo.Type.CPU && device.globalMemBytes() == Runtime.getRuntime().maxMemory();
    }
}
