package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.DeviceMemoryExhausted;
import dev.nola.kernels.Tensor;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 21: a device memory limit ({@code NOLA_DEVICE_MEMORY} / {@code device.memory}) set too low for a run
 * stops it before its first step, in one line naming the device, the tensor and the bytes, status 2; a
 * checkpoint it would have continued is untouched, and the same resume with room goes on.
 */
class DeviceMemoryTest {

    @TempDir
    Path tmp;

    /** nola ARGS in a child JVM (the limit is a setting read from the environment once, at start) with env. */
    static Process child(List<String> args, Map<String, String> env, Path logs) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(
                System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", cp, "dev.nola.cli.Main"));
        cmd.addAll(args);
        Files.createDirectories(logs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(logs.resolve("out.txt").toFile())
                .redirectError(logs.resolve("err.txt").toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "the child finishes");
        return p;
    }

    /** The child's stderr without the JVM's incubator banner (bin/nola filters it the same way). */
    static String err(Path logs) throws Exception {
        return Files.readString(logs.resolve("err.txt")).lines()
                .filter(l -> !l.startsWith("WARNING: Using incubator modules")).reduce((a, b) -> a + "\n" + b).orElse("").strip();
    }

    @Test
    void theLimitIsASettingThatCpuAndOpenclDevicesHonourNamingTheTensor() {
        assertEquals(512L << 20, RuntimeSettings.resolve("cpu", Map.of("NOLA_DEVICE_MEMORY", "512m", "HOME", "/nonexistent"))
                .memoryLimit());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> RuntimeSettings.resolve("cpu", Map.of("NOLA_DEVICE_MEMORY", "lots", "HOME", "/nonexistent")));
        assertTrue(bad.getMessage().startsWith("NOLA_DEVICE_MEMORY is 'lots'; expected a byte count"), bad.getMessage());
        List<String> ids = new ArrayList<>(List.of("cpu"));
        for (Backend b : Backends.all()) {
            if (b.name().equals("opencl") && b.availability().available()) {
                b.devices().stream().map(DeviceInfo::id).findFirst().ifPresent(ids::add);
            }
        }
        for (String id : ids) {
            RuntimeSettings s = new RuntimeSettings(dev.nola.config.DeviceSpec.parse(id), RuntimeSettings.DEFAULT_OPENCL_OPTIONS, 4096);
            try (Device d = Backends.open(s); Tensor a = d.allocate(512)) {
                DeviceMemoryExhausted e = assertThrows(DeviceMemoryExhausted.class, () -> d.allocate(1024));
                assertEquals("device " + d.id() + ": tensor [1024] float32 needs 4096 bytes, but 2048 of its 4096 bytes (the"
                        + " device.memory limit, NOLA_DEVICE_MEMORY) are in use; 6144 bytes would be needed: raise the limit or"
                        + " use a smaller model, batch or rank", e.getMessage());
                d.allocate(512).close(); // what fits still does: nothing was allocated by the refusal
            }
        }
        System.out.println("[device-memory] limit checked on " + ids);
    }

    @Test
    void aRunTooLargeForTheLimitStopsBeforeItsFirstStepAndTheCheckpointIsIntact() throws Exception {
        Path model = Tiny.gpt2(tmp.resolve("tiny-gpt2"));
        Path text = Tiny.text(tmp.resolve("text.txt"));
        Path out = tmp.resolve("out");
        List<String> base = List.of("finetune", "--model", model.toString(), "--data", text.toString(), "--k", "4", "--l", "4",
                "--batch", "2", "--checkpoint-every", "2", "--device", "cpu", "--out", out.toString(), "--quiet");
        Map<String, String> env = Map.of("NOLA_CACHE", tmp.resolve("cache").toString(), "NOLA_DEVICE_MEMORY", "1m");

        // a fresh run: refused before step 1 (the embedding alone is 1.5 MiB), no checkpoint written
        List<String> fresh = new ArrayList<>(base);
        fresh.addAll(List.of("--steps", "2"));
        Process p = child(fresh, env, tmp.resolve("logs-fresh"));
        String err = err(tmp.resolve("logs-fresh"));
        System.out.println("[device-memory] " + err);
        assertEquals(2, p.exitValue(), err);
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("nola: device cpu: tensor 'wte.weight' [50257, 8] float32 needs 1608224 bytes"), err);
        assertFalse(Files.exists(out.resolve("checkpoint")), "no step ran, no checkpoint");

        // a checkpoint of step 2, then a resume under the limit: refused the same way, the checkpoint untouched
        CliTest.Result first = CliTest.run(fresh.toArray(String[]::new));
        assertEquals(0, first.status(), first.err());
        byte[] state = Files.readAllBytes(out.resolve("checkpoint/state.safetensors"));
        byte[] meta = Files.readAllBytes(out.resolve("checkpoint/trainer.json"));
        List<String> resume = new ArrayList<>(base);
        resume.addAll(List.of("--steps", "4", "--resume"));
        p = child(resume, env, tmp.resolve("logs-resume"));
        err = err(tmp.resolve("logs-resume"));
        assertEquals(2, p.exitValue(), err);
        assertTrue(err.contains("device cpu: tensor 'wte.weight'"), err);
        assertArrayEquals(state, Files.readAllBytes(out.resolve("checkpoint/state.safetensors")), "checkpoint untouched");
        assertArrayEquals(meta, Files.readAllBytes(out.resolve("checkpoint/trainer.json")), "checkpoint untouched");

        // with room, the same resume goes on from step 2
        p = child(resume, Map.of("NOLA_CACHE", tmp.resolve("cache").toString(), "NOLA_DEVICE_MEMORY", "64m"),
                tmp.resolve("logs-room"));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("logs-room/err.txt")));
        assertEquals(4, KillResumeTest.checkpointStep(out.resolve("checkpoint")));
    }
}
