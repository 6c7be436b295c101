package dev.nola.adapter.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.io.UntrustedJson;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 21: the same content gives the same bytes whatever order a map iterates in. {@code Map.of}'s
 * order is salted per JVM, so before this an adapter written by a resumed run (another JVM) could carry
 * its {@code __metadata__} keys in another order than an uninterrupted run's.
 */
class FixedOrderTest {

    static Map<String, String> ordered(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    static byte[] file(Map<String, String> metadata) {
        return new SafeTensorsWriter().f32("a", new int[] {2}, new float[] {1, 2}).toBytes(metadata);
    }

    @Test
    void safetensorsMetadataIsWrittenInKeyOrderWhateverTheMapsOrder() {
        byte[] ab = file(ordered("format", "nola", "format_version", "1", "zeta", "z"));
        byte[] ba = file(ordered("zeta", "z", "format_version", "1", "format", "nola"));
        assertArrayEquals(ab, ba, "the same metadata in two insertion orders");
        String header = new String(ab, 8, ab.length - 8, StandardCharsets.ISO_8859_1);
        assertTrue(header.indexOf("\"format\"") < header.indexOf("\"format_version\"")
                && header.indexOf("\"format_version\"") < header.indexOf("\"zeta\""), header);
    }

    @Test
    void mapsWrittenAsJsonHaveTheirKeysSorted() throws Exception {
        String ab = UntrustedJson.MAPPER.writeValueAsString(ordered("b", "1", "a", "2"));
        String ba = UntrustedJson.MAPPER.writeValueAsString(ordered("a", "2", "b", "1"));
        org.junit.jupiter.api.Assertions.assertEquals(ba, ab);
    }
}
