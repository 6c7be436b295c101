package dev.nola.kernels.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.types.arrays.TornadoNativeArray;

/**
 * The arenas' placement: regions inside their chunk, aligned, apart by at least a header, never
 * overlapping; a tensor's own array is the arena's memory (a write through one is seen through the
 * other); a freed region is reused and zeroed; large tensors get a chunk of their own.
 */
class TornadoArenasTest {

    @Test
    void regionsAreAlignedDisjointAndShareTheArenasMemory() {
        TornadoArenas a = new TornadoArenas(TornadoArenas.FIRST_CHUNK);
        List<TornadoArenas.Region> rs = new ArrayList<>();
        for (int size : new int[] {1, 17, 1000, 5, 4096, 3}) {
            rs.add(a.place(size));
        }
        int h = TornadoArenas.headerFloats();
        for (int i = 0; i < rs.size(); i++) {
            TornadoArenas.Region r = rs.get(i);
            // the first element on a 64-byte boundary of the buffer, TornadoVM's header included
            long at = r.chunk().array.getSegmentWithHeader().address() + TornadoNativeArray.ARRAY_HEADER + 4L * r.base();
            assertEquals(0, at % 64, "address of region " + i + "'s first element, mod 64");
            assertEquals(0, (TornadoNativeArray.ARRAY_HEADER + 4L * r.base()) % 64, "offset of region " + i + " in its buffer, mod 64");
            assertTrue(r.base() - h >= r.start(), "header gap of region " + i);
            assertTrue(r.base() + r.size() <= r.end() && r.end() <= r.chunk().capacity, "end of region " + i);
            assertEquals(r.size(), r.own().getSize(), "own array of region " + i);
            for (int j = 0; j < i; j++) {
                TornadoArenas.Region q = rs.get(j);
                assertTrue(q.chunk() != r.chunk() || q.end() <= r.start() || r.end() <= q.start(),
                        "regions " + j + " and " + i + " overlap");
            }
            r.own().set(r.size() - 1, i + 0.5f);
            assertEquals(i + 0.5f, r.chunk().array.get(r.base() + r.size() - 1), "arena sees the own array's write");
            r.chunk().array.set(r.base(), -i);
            assertEquals(-i, r.own().get(0), "own array sees the arena's write");
        }
        assertEquals(1, a.chunks());
    }

    @Test
    void aFreedRegionIsReusedAndZeroed() {
        TornadoArenas a = new TornadoArenas(TornadoArenas.FIRST_CHUNK);
        TornadoArenas.Region first = a.place(100);
        TornadoArenas.Region second = a.place(100);
        first.own().set(7, 3f);
        a.free(first);
        TornadoArenas.Region again = a.place(50);
        assertEquals(first.base(), again.base(), "first fit takes the freed range");
        assertEquals(0f, again.own().get(7));
        a.free(again);
        a.free(second);
        TornadoArenas.Region merged = a.place(300);
        assertEquals(first.base(), merged.base(), "freed neighbours merge");
    }

    @Test
    void aTensorLargerThanAChunkGetsOneOfItsOwn() {
        TornadoArenas a = new TornadoArenas(TornadoArenas.FIRST_CHUNK);
        TornadoArenas.Region small = a.place(10);
        TornadoArenas.Region big = a.place(TornadoArenas.FIRST_CHUNK + 5);
        assertNotSame(small.chunk(), big.chunk());
        assertTrue(big.chunk().capacity >= big.base() + big.size());
        TornadoArenas.Region next = a.place(10);
        assertSame(small.chunk(), next.chunk(), "the first chunk still has room");
        assertThrows(IllegalArgumentException.class, () -> new TornadoArenas(5));
    }

    /** A prefix of an arena is a view of its first elements (rounded up to the alignment), the same memory. */
    @Test
    void aPrefixIsAViewOfTheArenasFirstElements() {
        TornadoArenas a = new TornadoArenas(TornadoArenas.FIRST_CHUNK);
        TornadoArenas.Region r = a.place(100);
        TornadoArenas.Chunk c = r.chunk();
        var p = c.prefix(r.base() + r.size());
        assertEquals((r.base() + r.size() + TornadoArenas.ALIGN - 1) / TornadoArenas.ALIGN * TornadoArenas.ALIGN, p.getSize());
        r.own().set(99, 4.5f);
        assertEquals(4.5f, p.get(r.base() + 99), "the prefix sees the tensor's write");
        p.set(r.base(), -2f);
        assertEquals(-2f, r.own().get(0), "the tensor sees the prefix's write");
        assertSame(c.array, c.prefix(c.capacity), "all of it is the arena's own array");
    }
}
