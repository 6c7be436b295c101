package dev.nola.kernels.tornado;

/**
 * The backend's own switches, read once when a device opens (never in a static initialiser), and
 * handed to its plan cache, segments and arenas:
 * <ul>
 *   <li>{@code profile} ({@code -Dnola.tornado.profile=true}): every plan and segment runs with
 *       TornadoVM's silent profiler, its figures summed per device ({@link TornadoProfile});</li>
 *   <li>{@code traceFlush} ({@code -Dnola.tornado.traceFlush=true}): prints where a capture was split
 *       by a host access and the size of each graph a segment builds;</li>
 *   <li>{@code arenas} ({@code -Dnola.tornado.arenas}, default true): float32 tensors live in
 *       {@link TornadoArenas}; false gives each an array of its own.</li>
 *   <li>{@code prologue} ({@code -Dnola.tornado.prologue}, default true): a segment copies each arena it
 *       copies in once by a graph of its own ({@link Prologue}); false copies them with its first graph
 *       that uses them, all at once (kept to measure the difference);</li>
 *   <li>{@code tuneNativeHeap} ({@code -Dnola.tornado.tuneNativeHeap}, default true): the backend sets
 *       glibc's allocator before TornadoVM starts ({@link HostMemory#tuneNativeHeap}); false leaves
 *       glibc's defaults.</li>
 *   <li>{@code shareKernels} ({@code -Dnola.tornado.shareKernels}, default true): a segment's tasks of one
 *       kernel method share its compiled code ({@link SharedKernels}); false compiles every task (kept to
 *       measure the difference).</li>
 * </ul>
 */
record TornadoOptions(boolean profile, boolean traceFlush, boolean arenas, boolean prologue, boolean tuneNativeHeap,
                      boolean shareKernels) {

    /** The switches as the JVM's system properties set them now. */
    static TornadoOptions fromSystemProperties() {
        return new TornadoOptions(Boolean.getBoolean("nola.tornado.profile"), Boolean.getBoolean("nola.tornado.traceFlush"),
                Boolean.parseBoolean(System.getProperty("nola.tornado.arenas", "true")),
                Boolean.parseBoolean(System.getProperty("nola.tornado.prologue", "true")),
                Boolean.parseBoolean(System.getProperty("nola.tornado.tuneNativeHeap", "true")),
                Boolean.parseBoolean(System.getProperty("nola.tornado.shareKernels", "true")));
    }

    /** The same switches with arenas on or off (tests compare both). */
    TornadoOptions withArenas(boolean on) {
        return new TornadoOptions(profile, traceFlush, on, prologue, tuneNativeHeap, shareKernels);
    }

    /** The same switches with the arenas' prologue graphs on or off (tests compare both). */
    TornadoOptions withPrologue(boolean on) {
        return new TornadoOptions(profile, traceFlush, arenas, on, tuneNativeHeap, shareKernels);
    }

    /** The same switches with kernel sharing on or off (tests compare both). */
    TornadoOptions withSharedKernels(boolean on) {
        return new TornadoOptions(profile, traceFlush, arenas, prologue, tuneNativeHeap, on);
    }
}
