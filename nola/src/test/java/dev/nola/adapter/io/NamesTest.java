package dev.nola.adapter.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Names: one rule for module and tensor names, for reader and writer alike. */
class NamesTest {

    @Test
    void namesFollowOneRuleForReaderAndWriter() {
        for (String ok : new String[] {"h.0.attn.q", "q_proj", "base_model.model.h.0.attn.q.lora_A.weight", "a-b"}) {
            assertNull(Names.TENSOR.problem(ok), ok);
        }
        assertEquals("is empty", Names.MODULE.problem(""));
        assertTrue(Names.MODULE.problem("a/b").contains("path separator"));
        assertTrue(Names.MODULE.problem("a\\b").contains("path separator"));
        assertTrue(Names.MODULE.problem("..").contains("empty segment"));
        assertTrue(Names.MODULE.problem("h..q").contains("empty segment"));
        assertTrue(Names.MODULE.problem("h.0\n").contains("control"));
        assertTrue(Names.TENSOR.problem(Names.RESERVED).contains("reserved"));
        assertTrue(Names.MODULE.problem("x".repeat(257)).contains("more than 256"));
        assertTrue(Names.MODULE.problem("\uFF48").contains("character"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SafeTensorsWriter().f32("a/../b", new int[] {1}, new float[] {1}));
        assertTrue(e.getMessage().contains("'a/../b' contains a path separator"), e.getMessage());
    }
}
