package dev.nola.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TornadoSettingsTest {

    @Test
    void argfileIsAdaptedForTheClassPath(@TempDir Path home) throws Exception {
        Files.writeString(home.resolve("tornado-argfile"), """
                # === JVM mode ===
                -server
                -XX:+EnableJVMCI
                -ea
                --module-path .:/sdk/share/java/tornado
                --upgrade-module-path /sdk/share/java/graalJars
                --add-modules ALL-SYSTEM,tornado.runtime
                --add-exports=a/b=c
                -Dx="with space"
                """);
        TornadoSettings s = TornadoSettings.fromEnvironment(Map.of("TORNADOVM_HOME", home.toString())).orElseThrow();
        assertEquals(List.of("-server", "-XX:+EnableJVMCI", "--module-path=/sdk/share/java/tornado",
                "--upgrade-module-path=/sdk/share/java/graalJars", "--add-modules=ALL-SYSTEM,tornado.runtime",
                "--add-exports=a/b=c", "-Dx=with space", "--enable-native-access=ALL-UNNAMED"), s.flags());
    }

    /** TornadoVM's argfile picks the parallel collector, whose young generation grows far past the live set. */
    @Test
    void theArgfilesCollectorBecomesTheSerialOne() {
        List<String> f = TornadoSettings.adapt(List.of("-server", "-XX:+UseParallelGC", "-XX:+EnableJVMCI"));
        assertEquals(List.of("-server", "-XX:+UseSerialGC", "-XX:+EnableJVMCI", "--add-modules=jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED"), f);
    }

    @Test
    void vectorModuleIsAddedWithoutAllSystem() {
        List<String> f = TornadoSettings.adapt(List.of("--add-modules", "tornado.runtime"));
        assertTrue(f.contains("--add-modules=jdk.incubator.vector"), f.toString());
    }

    /** The OpenCL backend's code cache is reached from the class path (kernels-tornado's SharedKernels). */
    @Test
    void theOpenclBackendsPackageIsOpenedWhereTheArgfileLoadsIt() {
        String opens = "--add-opens=tornado.drivers.opencl/uk.ac.manchester.tornado.drivers.opencl=ALL-UNNAMED";
        assertTrue(TornadoSettings.adapt(List.of("--add-modules", "ALL-SYSTEM,tornado.runtime,tornado.drivers.opencl"))
                .contains(opens));
        assertFalse(TornadoSettings.adapt(List.of("--add-modules", "ALL-SYSTEM,tornado.runtime,tornado.drivers.ptx"))
                .contains(opens));
    }

    @Test
    void absentOrBrokenSdk(@TempDir Path home) {
        assertFalse(TornadoSettings.fromEnvironment(Map.of()).isPresent());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TornadoSettings.fromEnvironment(Map.of("TORNADOVM_HOME", home.toString())));
        assertTrue(e.getMessage().contains("tornado-argfile"), e.getMessage());
    }
}
