package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.StreamId;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SavedNola;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI in a child JVM with a 256 MiB heap against small, well-formed adapter directories that
 * describe adapters of gigabytes: {@code inspect} reads them (it allocates nothing the file
 * describes) and says how much device memory they need; {@code export-lora} refuses them before
 * allocating, with exit status 2 and one line that names the layer, the tensor, the bytes and the
 * limit; no OutOfMemoryError, no stack trace.
 */
class SmallHeapTest {

    static final String HEAP = "-Xmx256m";

    @TempDir
    Path tmp;

    record Run(int status, String out, List<String> err) {
    }

    /** Runs {@code nola ARGS} in a fresh JVM with a 256 MiB heap and the test's class path. */
    static Run nola(String... args) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse(
                System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", HEAP, "-cp", cp, "dev.nola.cli.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("nola " + String.join(" ", args) + " hung with " + HEAP);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        List<String> err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                .filter(l -> !l.startsWith("WARNING: Using incubator modules")).toList();
        return new Run(p.exitValue(), out, err);
    }

    /** An adapter directory of one layer [in → out] at rank r, k = l = 4: a few hundred bytes on disk. */
    static Path adapter(Path dir, int r, int in, int out) {
        NolaConfig c = NolaConfig.offset(r, 4, 4, 8f, 5L, List.of("q"));
        SavedNola s = new SavedNola(c, List.of(new SavedNola.Layer("h.0.attn.q", in, out,
                StreamId.of(0, false, 0, StreamId.FACTOR_A), StreamId.of(0, false, 0, StreamId.FACTOR_B),
                new float[] {1, 2, 3, 4}, new float[] {4, 3, 2, 1})));
        NolaAdapterFiles.save(dir, s);
        return dir;
    }

    static void assertOneCleanLine(Run r, String... mentions) {
        assertEquals(2, r.status(), "status; stderr: " + r.err());
        assertEquals(1, r.err().size(), "one line on stderr: " + r.err());
        String line = r.err().getFirst();
        System.out.println("with " + HEAP + ": " + line);
        assertFalse(line.matches(".*\\b[A-Z][A-Za-z]*(Exception|Error)\\b.*"), "no Java class names: " + line);
        for (String m : mentions) {
            assertTrue(line.contains(m), "mentions '" + m + "': " + line);
        }
    }

    @Test
    void aMultiGigabyteAdapterIsOneLineAndStatusTwoNotAnOutOfMemoryError() throws Exception {
        // in = out = 65536 at r = 8192: every factor is 2^29 floats (2 GiB), five of them per layer
        Path dir = adapter(tmp.resolve("huge"), 8192, 65536, 65536);
        long onDisk = Files.size(dir.resolve(NolaAdapterFiles.CONFIG_FILE)) + Files.size(dir.resolve(NolaAdapterFiles.WEIGHTS_FILE));
        assertTrue(onDisk < 4096, "a small file: " + onDisk + " bytes");

        Run inspect = nola("inspect", dir.toString());
        assertEquals(0, inspect.status(), "inspect reads only the coefficients: " + inspect.err());
        assertTrue(inspect.out().contains("device memory to regenerate it: 10737418336 bytes (10.0 GiB)"), inspect.out());

        Path out = tmp.resolve("peft");
        Run export = nola("export-lora", dir.toString(), out.toString(), "--device", "reference");
        assertOneCleanLine(export, dir.toString(), "layer 'h.0.attn.q'", "factor A [8192, 65536]",
                "needs 2147483648 bytes (2.0 GiB)", "allows at most", "-Xmx");
        assertFalse(Files.exists(out), "nothing is written");
    }

    @Test
    void tensorsThatFitOneByOneButNotTogetherAreRefusedByTheirSum() throws Exception {
        // r = 4096, in = out = 8192: 128 MiB per factor fits one allocation; five of them do not fit 256 MiB.
        // On the reference, whose tensors are the heap (cpu's are native memory, bounded by the machine).
        Path dir = adapter(tmp.resolve("wide"), 4096, 8192, 8192);
        Run export = nola("export-lora", dir.toString(), tmp.resolve("peft").toString(), "--device", "reference");
        assertOneCleanLine(export, dir.toString(), "allocations", "would take 671088736 bytes", "-Xmx");
    }
}
