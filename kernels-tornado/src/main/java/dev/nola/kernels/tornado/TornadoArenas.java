package dev.nola.kernels.tornado;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.TornadoNativeArray;

/**
 * The float32 tensors of one TornadoVM device, placed in a few large arrays (arenas, "chunks" here)
 * and addressed as arena + element offset, so that a recorded step ({@link Segment}) passes a handful
 * of arrays to its task graphs instead of one per tensor: TornadoVM 5.2.1 builds each task graph into
 * at most 1,024 nodes, two to four per array, and gives every execution plan its own device copy of
 * each array. With arenas a GPT-2 124M step is one segment holding one device copy of the weights.
 *
 * <p><b>Two names for the same memory.</b> Each tensor also has an array of its own, a
 * {@link FloatArray#fromSegmentShallow shallow} array over its region of the arena's host memory (no
 * copy): the ops run one by one outside a capture use it, so each of their plans moves that tensor
 * alone, as before. TornadoVM writes an array's header (16 or 24 bytes) in front of its elements, so
 * every region is preceded by a gap of {@link #headerFloats()} floats that holds it.
 *
 * <p><b>Alignment.</b> A region's first element lies on a 64-byte boundary of the arena's buffer,
 * header included: element {@code base} sits {@code ARRAY_HEADER + 4·base} bytes into the buffer (on
 * the host, whose mapping is page-aligned, and in the device copy, which PoCL aligns to 128 bytes), so
 * base is {@link #aligned} to 12 modulo 16 floats for a 16-byte header, not 0. A row of a tensor then
 * starts on a cache line whenever its length is a multiple of 16, and each {@code float16} load of the
 * sgemm kernels (a row of B read in place, the LM head's rows of A and B) touches one line, not two (a
 * load across two lines costs two on AVX-512). Measured with the tensors as views 12 floats into a larger
 * one, the kernels' other inputs equal, alternated in one JVM, process CPU time of a captured call, median of 7
 * (loaded 2-core machine): the LM head's forward (128 × 50,257 × 768 Bᵀ, {@code matmulDots}) 210 → 160
 * ms, its dx (128 × 768 × 50,257, {@code matmulPanel} in place) 260 → 190 ms (opencl:0:0: 120 and 110).
 *
 * <p><b>Chunks.</b> The first chunk holds {@value #FIRST_CHUNK} floats; each new one twice the last,
 * up to {@code maxChunkFloats}; a tensor larger than that gets a chunk of its own size. Regions are
 * placed first-fit and given back on close (neighbouring free ranges merged), and a reused region is
 * zeroed, as every new tensor is. Chunks live as long as the device: a segment may hold a device copy
 * of one after all its tensors closed. Their host memory is {@link HostMemory}'s: in the RSS only
 * where used, zeroed by giving pages back, and given back by a segment once it holds the data.
 *
 * <p>Single-threaded, like the rest of the backend.
 */
final class TornadoArenas {

    /** Floats of the first chunk (4 MiB). */
    static final int FIRST_CHUNK = 1 << 20;
    /** Region alignment in floats (64 bytes), counted from the buffer's start: see {@link #aligned}. */
    static final int ALIGN = 16;

    /** One arena: its array and its free ranges ([start, end) in element indices, keyed by start). */
    static final class Chunk {
        final FloatArray array;
        final int capacity;
        private final TreeMap<Integer, Integer> free = new TreeMap<>();

        Chunk(int capacity) {
            this.capacity = capacity;
            // TornadoVM's header, then the elements; pages are committed only where written (HostMemory)
            this.array = FloatArray.fromSegmentShallow(HostMemory.allocate(TornadoNativeArray.ARRAY_HEADER + capacity * 4L));
            free.put(0, capacity);
        }

        long bytes() {
            return capacity * 4L;
        }

        /**
         * The array over the first {@code floats} elements of this arena (its own array when that is all
         * of it): what a segment whose tensors all lie below {@code floats} passes to its graphs, so that
         * its device copy is no larger than what it uses. TornadoVM copies an array in whole and allocates
         * its device buffer whole; a GPT-2 124M step's last 256 MiB chunk held 63 MB of tensors, and the
         * rest was copied and held on the device (on PoCL, host memory) for nothing. The view writes its
         * length into the arena's header, which no kernel reads (they address elements by offset).
         */
        FloatArray prefix(long floats) {
            long n = Math.min(capacity, (floats + ALIGN - 1) / ALIGN * ALIGN);
            if (n == capacity) {
                return array;
            }
            return FloatArray.fromSegmentShallow(array.getSegmentWithHeader().asSlice(0, TornadoNativeArray.ARRAY_HEADER + n * 4));
        }

        /**
         * Gives back the host pages of the free ranges ({@link HostMemory#discard}): a device copy of
         * the arena reads all of it, committing them; a region placed there later is zeroed anyway.
         */
        void discardFree() {
            MemorySegment data = array.getSegment();
            for (Map.Entry<Integer, Integer> e : free.entrySet()) {
                HostMemory.discard(data, e.getKey() * 4L, (e.getValue() - e.getKey()) * 4L);
            }
        }
    }

    /**
     * A tensor's place: elements {@code [base, base + size)} of {@code chunk.array}, reserved as
     * {@code [start, end)} with the header gap before {@code base}; {@code own} is the shallow array
     * over the header gap and the elements.
     */
    record Region(Chunk chunk, int start, int base, int end, int size, FloatArray own) {
    }

    private final int maxChunkFloats;
    private final List<Chunk> chunks = new ArrayList<>();
    private int nextChunk = FIRST_CHUNK;

    /** Arenas of at most {@code maxChunkFloats} floats each (a larger tensor gets a chunk of its own). */
    TornadoArenas(int maxChunkFloats) {
        if (maxChunkFloats < FIRST_CHUNK) {
            throw new IllegalArgumentException("maxChunkFloats " + maxChunkFloats + "; expected at least " + FIRST_CHUNK);
        }
        this.maxChunkFloats = maxChunkFloats;
    }

    /** Floats in front of each region that hold TornadoVM's array header. */
    static int headerFloats() {
        return (int) ((TornadoNativeArray.ARRAY_HEADER + 3) / 4);
    }

    /**
     * The first element index at or after {@code at} whose byte offset in a TornadoVM array, header
     * included, is a multiple of 64: {@code (ARRAY_HEADER + 4·base) % 64 == 0}.
     */
    static int aligned(int at) {
        int lead = (int) (TornadoNativeArray.ARRAY_HEADER / 4 % ALIGN); // floats of header past a 64-byte boundary
        return (at + lead + ALIGN - 1) / ALIGN * ALIGN - lead;
    }

    /** Places a zero-filled tensor of {@code size} floats. */
    Region place(int size) {
        int h = headerFloats();
        for (Chunk c : chunks) {
            Region r = fit(c, size, h);
            if (r != null) {
                return r;
            }
        }
        long need = (long) size + h + ALIGN;
        int cap = (int) Math.max(need, Math.min(nextChunk, maxChunkFloats));
        if (need <= maxChunkFloats) {
            nextChunk = (int) Math.min(maxChunkFloats, 2L * nextChunk);
        }
        Chunk c = new Chunk(cap);
        chunks.add(c);
        return fit(c, size, h);
    }

    private static Region fit(Chunk c, int size, int h) {
        for (Map.Entry<Integer, Integer> e : c.free.entrySet()) {
            int start = e.getKey();
            int end = e.getValue();
            int base = aligned(start + h);
            long last = (long) base + size;
            if (last <= end) {
                int stop = (int) Math.min(end, (last + ALIGN - 1) / ALIGN * ALIGN);
                c.free.remove(start);
                if (stop < end) {
                    c.free.put(stop, end);
                }
                MemorySegment data = c.array.getSegment();
                MemorySegment own = data.asSlice((long) (base - h) * 4, (long) (size + h) * 4);
                // a reused region: the new tensor starts at zero, without committing its pages
                HostMemory.discard(own, 0, own.byteSize());
                return new Region(c, start, base, stop, size, FloatArray.fromSegmentShallow(own));
            }
        }
        return null;
    }

    /** Gives a closed tensor's region back (merged with free neighbours). */
    void free(Region r) {
        TreeMap<Integer, Integer> free = r.chunk().free;
        int start = r.start();
        int end = r.end();
        Map.Entry<Integer, Integer> before = free.floorEntry(start);
        if (before != null && before.getValue() == start) {
            start = before.getKey();
            free.remove(before.getKey());
        }
        Integer after = free.get(end);
        if (after != null) {
            free.remove(end);
            end = after;
        }
        free.put(start, end);
    }

    /** Bytes of the arenas' host memory. */
    long bytes() {
        long b = 0;
        for (Chunk c : chunks) {
            b += c.bytes();
        }
        return b;
    }

    /** The arenas now (for tests and counters). */
    int chunks() {
        return chunks.size();
    }
}
