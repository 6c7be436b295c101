package dev.nola.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link ScratchPool}: a buffer given back is the one the next call of its class gets, zeroed over
 * what that call asks for, and what the pool keeps idle is bounded, the rest freed at once. Sizes of
 * one class only (a few MiB), which no kernel in this module's tests asks for.
 */
class ScratchPoolTest {

    /** 1 Mi floats: 4 MiB, a class the kernels' tests do not touch. */
    private static final int CLASS = 1 << 20;

    @Test
    void classesArePowersOfTwoFromTheSmallest() {
        assertEquals(ScratchPool.MIN_FLOATS, ScratchPool.sizeFor(0));
        assertEquals(ScratchPool.MIN_FLOATS, ScratchPool.sizeFor(1));
        assertEquals(2 * ScratchPool.MIN_FLOATS, ScratchPool.sizeFor(ScratchPool.MIN_FLOATS + 1));
        assertEquals(CLASS, ScratchPool.sizeFor(CLASS));
        assertEquals(CLASS, ScratchPool.sizeFor(CLASS / 2 + 1));
        assertEquals(ScratchPool.MAX_POOLED_FLOATS + 3, ScratchPool.sizeFor(ScratchPool.MAX_POOLED_FLOATS + 3));
        assertEquals(ScratchPool.MAX_KEPT, ScratchPool.kept(ScratchPool.MIN_FLOATS));
        assertEquals(ScratchPool.MIN_KEPT, ScratchPool.kept(ScratchPool.MAX_POOLED_FLOATS));
    }

    @Test
    void aBufferGivenBackIsReusedAndZeroed() {
        long address;
        try (ScratchPool.Buffer b = ScratchPool.take(CLASS - 5)) {
            assertEquals(CLASS, b.capacity());
            assertEquals(0, b.segment.address() % 64, "64-byte aligned");
            for (int i = 0; i < CLASS; i++) {
                b.segment.setAtIndex(JAVA_FLOAT, i, i + 1f);
            }
            address = b.segment.address();
        }
        long allocated = ScratchPool.allocated();
        int asked = CLASS / 2 + 7;
        try (ScratchPool.Buffer again = ScratchPool.take(asked)) {
            assertEquals(address, again.segment.address(), "the idle buffer of the class is handed out again");
            assertEquals(allocated, ScratchPool.allocated(), "no allocation for a class with an idle buffer");
            for (int i = 0; i < asked; i++) {
                assertEquals(0f, again.segment.getAtIndex(JAVA_FLOAT, i), "element " + i + " of the reused buffer");
            }
        }
    }

    @Test
    void idleBuffersAreBoundedAndTheRestFreed() {
        int keep = ScratchPool.kept(CLASS);
        int extra = 3;
        List<ScratchPool.Buffer> held = new ArrayList<>();
        for (int i = 0; i < keep + extra; i++) {
            held.add(ScratchPool.take(CLASS));
        }
        int idleBefore = ScratchPool.idle();
        long freedBefore = ScratchPool.freed();
        held.forEach(ScratchPool.Buffer::close);
        assertEquals(idleBefore + keep, ScratchPool.idle(), "the class keeps " + keep + " idle buffers");
        assertEquals(freedBefore + extra, ScratchPool.freed(), "the buffers past the bound are freed");
        long alive = held.stream().filter(b -> b.segment.scope().isAlive()).count();
        assertEquals(keep, alive, "the freed buffers' memory is released, not left to the GC");
        assertFalse(held.get(held.size() - 1).segment.scope().isAlive());
        assertTrue(held.get(0).segment.scope().isAlive());
    }

    @Test
    void buffersPastTheLargestClassAreNeverKept() {
        long freedBefore = ScratchPool.freed();
        ScratchPool.Buffer big = ScratchPool.take(ScratchPool.MAX_POOLED_FLOATS + 1);
        big.close();
        assertEquals(freedBefore + 1, ScratchPool.freed());
        assertFalse(big.segment.scope().isAlive());
    }
}
