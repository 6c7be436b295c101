package dev.nola.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuntimeSettingsTest {

    @TempDir
    Path dir;

    @Test
    void deviceStringsParse() {
        assertEquals(new DeviceSpec("opencl", 1, 2), DeviceSpec.parse("opencl:1:2"));
        assertEquals(new DeviceSpec("tornado", 0, 0), DeviceSpec.parse(" TORNADO:0:0 "));
        assertEquals(DeviceSpec.AUTO, DeviceSpec.parse("auto"));
        assertEquals("cpu", DeviceSpec.parse("cpu").toString());
        // the grammar is generic: any backend name parses; whether it exists is the backend's to say
        assertEquals(new DeviceSpec("vulkan-x", 2, 3), DeviceSpec.parse("vulkan-x:2:3"));
        for (String bad : new String[] {"", "9gpu", "op encl", "opencl:1", "opencl:-1:0", "auto:0:0", "opencl:a:b",
                "tornado:0:0:0", "cpu:"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse(bad));
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void precedenceIsExplicitThenEnvironmentThenFileThenAuto() throws Exception {
        Path file = dir.resolve("nola.properties");
        Files.writeString(file, "device=reference\nopencl.options=-cl-std=CL1.2 -DX=1\n");
        Map<String, String> env = Map.of("NOLA_CONFIG", file.toString(), "NOLA_DEVICE", "cpu");
        assertEquals("opencl:0:0", RuntimeSettings.resolve("opencl:0:0", env).device().toString());
        assertEquals("cpu", RuntimeSettings.resolve(null, env).device().toString());
        assertEquals("reference", RuntimeSettings.resolve(null, Map.of("NOLA_CONFIG", file.toString())).device().toString());
        assertEquals("auto", RuntimeSettings.resolve(null, Map.of("HOME", dir.toString())).device().toString());
        assertEquals("-cl-std=CL1.2 -DX=1", RuntimeSettings.resolveOpenclOptions(Map.of("NOLA_CONFIG", file.toString())));
        assertEquals(RuntimeSettings.DEFAULT_OPENCL_OPTIONS, RuntimeSettings.resolveOpenclOptions(Map.of("HOME", dir.toString())));
    }

    @Test
    void openclOptionsIgnoreABadDeviceVariable() {
        Map<String, String> env = Map.of("NOLA_DEVICE", "no such:device", "HOME", dir.toString());
        assertEquals(RuntimeSettings.DEFAULT_OPENCL_OPTIONS, RuntimeSettings.resolveOpenclOptions(env));
        assertThrows(IllegalArgumentException.class, () -> RuntimeSettings.resolve(null, env));
    }

    @Test
    void missingExplicitConfigFileIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RuntimeSettings.resolve(null, Map.of("NOLA_CONFIG", dir.resolve("absent").toString())));
        assertTrue(e.getMessage().contains("NOLA_CONFIG"), e.getMessage());
    }
}
