package dev.nola.adapter.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.Adapter;
import dev.nola.io.InvalidFileException;
import dev.nola.io.TooLargeException;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The safetensors reader is as strict as the format's reference implementation (tensors tile the
 * data section exactly), the config reader's messages name the layer and tell a float32 overflow
 * from a non-finite number, and writers count bytes in long.
 */
class StrictReadingTest {

    /** A file of the given header and data section. */
    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array();
    }

    static String tensor(String name, int elements, long begin) {
        return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + elements + "],\"data_offsets\":[" + begin + ","
                + (begin + 4L * elements) + "]}";
    }

    static String refusal(byte[] f) {
        return assertThrows(InvalidFileException.class, () -> SafeTensorsReader.fromBytes(f, "w").close()).getMessage();
    }

    @Test
    void tensorsMustTileTheDataSectionExactly() {
        SafeTensorsReader.fromBytes(file("{" + tensor("a", 2, 0) + "," + tensor("b", 1, 8) + "}", 12), "w").close();
        SafeTensorsReader.fromBytes(file("{" + tensor("a", 2, 0) + "," + tensor("z", 0, 8) + "}", 8), "w").close();
        assertEquals("w: the data section holds 16 bytes but the tensors end at 12; 4 trailing bytes follow the last tensor",
                refusal(file("{" + tensor("a", 2, 0) + "," + tensor("b", 1, 8) + "}", 16)));
        assertEquals("w: tensor 'b' begins at data offset 12, leaving a gap of 4 bytes after tensor 'a', which ends at 8; "
                + "tensors must be stored back to back from offset 0",
                refusal(file("{" + tensor("a", 2, 0) + "," + tensor("b", 1, 12) + "}", 16)));
        assertTrue(refusal(file("{" + tensor("a", 2, 4) + "}", 12)).contains("gap of 4 bytes after the start of the data section"));
        assertTrue(refusal(file("{" + tensor("a", 2, 0) + "," + tensor("b", 2, 4) + "}", 12))
                .contains("overlapping tensor 'a', which ends at 8, by 4 bytes"));
        assertTrue(refusal(file("{" + tensor("a", 2, 0) + "," + tensor("z", 0, 4) + "}", 8)).contains("tensor 'a'"),
                "an empty tensor inside another one is refused too");
        assertTrue(refusal(file("{}", 4)).contains("4 trailing bytes"));
    }

    @Test
    void headerIsUtf8AndAnObjectAndItsLengthIsUnsigned() {
        assertEquals("w: header starts with byte 0x20, expected '{'", refusal(file(" {}", 0)));
        byte[] bad = file("{\"\u00e9\":1}", 0);
        bad[10] = (byte) 0xFF;
        assertEquals("w: header is not valid UTF-8", refusal(bad));
        byte[] huge = file("{}", 0);
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(-2);
        assertTrue(refusal(huge).startsWith("w: header length 18446744073709551614 is out of range"), refusal(huge));
        assertTrue(refusal(file("{" + tensor("h.0/../x", 1, 0) + "}", 4)).contains("tensor name 'h.0/../x' contains a path separator"));
        assertTrue(refusal(file("{" + tensor("a\\u000Ab", 1, 0) + "}", 4)).contains("tensor name 'a\\nb' contains a control"));
    }

    private static byte[] validConfig() {
        try (Device d = Backends.open("reference")) {
            return NolaAdapterFiles.configJson(SavedNola.of(AdapterFilesTest.adapters(d, AdapterFilesTest.CONFIG)));
        }
    }

    private static String configRefusal(String json) {
        byte[] w;
        try (Device d = Backends.open("reference")) {
            w = NolaAdapterFiles.weights(SavedNola.of(AdapterFilesTest.adapters(d, AdapterFilesTest.CONFIG)));
        }
        return assertThrows(InvalidFileException.class,
                () -> NolaAdapterFiles.parse(json.getBytes(StandardCharsets.UTF_8), w, "x")).getMessage();
    }

    @Test
    void configMessagesNameTheLayerAndTheRangeOfFloat32() {
        String json = new String(validConfig(), StandardCharsets.UTF_8);
        assertEquals("x/adapter_config.json: field 'alpha' is 1e39, outside float32's range (magnitude at most "
                + Float.MAX_VALUE + ")", configRefusal(json.replaceFirst("\"alpha\" : 8.0", "\"alpha\" : 1e39")));
        String m = configRefusal(json.replaceFirst("\"in\" : 20", "\"in\" : \"twenty\""));
        assertEquals("x/adapter_config.json: layers[0] 'h.0.attn.q': field 'in' is \"twenty\", expected an integer in [1, 1048576]", m);
        m = configRefusal(json.replaceFirst("\"name\" : \"h.1.attn.v\"", "\"name\" : \"../../etc\""));
        assertTrue(m.startsWith("x/adapter_config.json: layers[3] module name '../../etc' has an empty segment"), m);
        m = configRefusal(json.replaceFirst("\"seed\" : \"[0-9]+\"", "\"seed\" : \"-1\""));
        assertTrue(m.contains("field 'seed' is '-1', expected an unsigned 64-bit decimal"), m);
    }

    /** Issue 21: a number beyond a double is echoed as written, not as "Infinity"; every layer error says layers[N]. */
    @Test
    void aNumberBeyondADoubleIsEchoedAsWrittenAndLayerErrorsSayWhichLayer() {
        String json = new String(validConfig(), StandardCharsets.UTF_8);
        assertEquals("x/adapter_config.json: field 'alpha' is 1e309, outside float32's range (magnitude at most "
                + Float.MAX_VALUE + ")", configRefusal(json.replaceFirst("\"alpha\" : 8.0", "\"alpha\" : 1e309")));
        assertEquals("x/adapter_config.json: field 'alpha' is -2.5e400, outside float32's range (magnitude at most "
                + Float.MAX_VALUE + ")", configRefusal(json.replaceFirst("\"alpha\" : 8.0", "\"alpha\" : -2.5e400")));
        // the second layer's out as 1e309: a number that is not an integer, echoed as written
        String second = json.replaceFirst("(\"name\" : \"h.0.attn.v\"[^}]*?\"out\" : )12", "$11e309");
        assertEquals("x/adapter_config.json: layers[1] 'h.0.attn.v': field 'out' is 1e309, expected an integer in [1, 1048576]",
                configRefusal(second));
        // a layer that is not an object, a missing field in the fourth, a duplicate layer: each names its index
        assertEquals("x/adapter_config.json: layers[3] 'h.1.attn.v': field 'stream_b' is missing",
                configRefusal(json.replaceFirst("(\"name\" : \"h.1.attn.v\"[^}]*?)\"stream_b\" : [0-9]+,?", "$1")
                        .replaceAll(",(\\s*})", "$1")));
        assertEquals("x/adapter_config.json: layers[1] 'h.0.attn.q': appears twice",
                configRefusal(json.replaceFirst("\"name\" : \"h.0.attn.v\"", "\"name\" : \"h.0.attn.q\"")));
        // an error the JSON parser finds inside a layer (a duplicate field) names the layer too
        String dup = configRefusal(json.replaceFirst("(\"name\" : \"h.1.attn.q\")", "$1, \"in\" : 1"));
        assertTrue(dup.startsWith("x/adapter_config.json: invalid JSON: Duplicate field 'in' (at layers[2].in, line "), dup);
    }

    @Test
    void exportCountsBytesInLongAndRefusesAFileLargerThanAnArray() {
        // r = 8192, in = out = 65536: each factor is 2^29 floats, 2 GiB, whose byte count overflows an int
        Adapter huge = (Adapter) Proxy.newProxyInstance(Adapter.class.getClassLoader(), new Class<?>[] {Adapter.class},
                (p, method, args) -> switch (method.getName()) {
                    case "rank" -> 8192;
                    case "inFeatures", "outFeatures" -> 65536;
                    case "scale" -> 1f;
                    default -> throw new AssertionError("nothing is read before the size check: " + method.getName());
                });
        TooLargeException e = assertThrows(TooLargeException.class,
                () -> PeftLoraExport.files("out", Map.of("h.0.q", huge), List.of("q"), null));
        assertEquals("out: the PEFT LoRA file of 1 layers would be 4294969344 bytes (4.0 GiB); a file built in memory "
                + "holds at most 2147483639 bytes (2.0 GiB)", e.getMessage());
    }
}
