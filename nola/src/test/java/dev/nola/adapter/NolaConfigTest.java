package dev.nola.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class NolaConfigTest {

    @Test
    void scalesFollowTheScheme() {
        assertEquals(0.25f, NolaConfig.offset(8, 10, 10, 2f, 1, List.of("q")).scale());
        assertEquals(0.125f, NolaConfig.paper(8, 10, 10, 1, List.of("q")).scale());
    }

    @Test
    void rejectsBadSettingsNamingTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NolaConfig.offset(0, 1, 1, 1f, 0, List.of("q")));
        assertTrue(e.getMessage().contains("rank"));
        e = assertThrows(IllegalArgumentException.class, () -> NolaConfig.offset(1, 1, 1, Float.NaN, 0, List.of("q")));
        assertTrue(e.getMessage().contains("alpha"));
        e = assertThrows(IllegalArgumentException.class, () -> NolaConfig.offset(1, 1, 1, 1f, 0, List.of("q", "q")));
        assertTrue(e.getMessage().contains("duplicates"));
        e = assertThrows(IllegalArgumentException.class, () -> NolaConfig.offset(1, 1, 1, 1f, 0, List.of("q")).withQuantization(9, false));
        assertTrue(e.getMessage().contains("coefficientBits"));
        e = assertThrows(IllegalArgumentException.class, () -> NolaConfig.offset(1, 1, 1, 1f, 0, List.of("q")).withQuantization(32, true));
        assertTrue(e.getMessage().contains("quantizationAware"));
        e = assertThrows(IllegalArgumentException.class, () -> NolaConfig.offset(1, 1, 1, 1f, 0, List.of("q")).moduleIndex("k"));
        assertTrue(e.getMessage().contains("'k'") && e.getMessage().contains("[q]"));
    }

    @Test
    void streamIdsPackDocumentedBits() {
        StreamId s = StreamId.of(5, false, 3, StreamId.FACTOR_B);
        assertEquals((6 << 16) | (3 << 4) | 1, s.packed());
        assertEquals(s, StreamId.unpack(s.packed()));
        assertEquals(0, StreamId.of(5, true, 3, StreamId.FACTOR_B).layerPart());
        StreamId max = new StreamId(0xFFFF, 0xFFF, 15);
        assertEquals(max, StreamId.unpack(max.packed()));
        assertThrows(IllegalArgumentException.class, () -> new StreamId(0x10000, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> StreamId.of(-1, false, 0, 0));
    }
}
