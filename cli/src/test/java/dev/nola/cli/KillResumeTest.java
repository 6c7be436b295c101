package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SavedNola;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10: {@code nola finetune} killed with SIGKILL (no shutdown hook, no finally block runs) keeps
 * its last checkpoint intact, and {@code --resume} continues it to the same adapter, bit for bit, as an
 * uninterrupted run with the same arguments on the same device (cpu). The first half runs in a child JVM
 * (cold, interpreted and C1-compiled code) and the second in this one (warm), so the test also shows
 * that the cpu kernels' results do not depend on the JIT's state.
 */
class KillResumeTest {

    /** Steps of the run; checkpoints every {@link #EVERY}. Enough steps that the kill lands well before the end. */
    static final int STEPS = 120;
    static final int EVERY = 2;

    @TempDir
    Path tmp;

    /** The finetune arguments shared by the killed, the resumed and the uninterrupted run (nothing else differs). */
    static List<String> args(Path model, Path text, Path out) {
        return List.of("finetune", "--model", model.toString(), "--data", text.toString(), "--method", "nola", "--k", "8",
                "--l", "8", "--steps", "" + STEPS, "--batch", "2", "--checkpoint-every", "" + EVERY, "--device", "cpu",
                "--out", out.toString(), "--quiet");
    }

    /** nola ARGS in a fresh JVM with this test's class path, its output in files, NOLA_CACHE in the test's directory. */
    static Process child(List<String> args, Path logs, Path cache) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(
                System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", cp, "dev.nola.cli.Main"));
        cmd.addAll(args);
        Files.createDirectories(logs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(logs.resolve("out.txt").toFile())
                .redirectError(logs.resolve("err.txt").toFile());
        pb.environment().put("NOLA_CACHE", cache.toString());
        Process p = pb.start();
        p.getOutputStream().close();
        return p;
    }

    /** The step of the checkpoint in {@code dir}, or -1 while there is none (or it is being replaced). */
    static long checkpointStep(Path dir) {
        try {
            return new ObjectMapper().readTree(Files.readAllBytes(dir.resolve("trainer.json"))).path("step").asLong(-1);
        } catch (IOException e) {
            return -1;
        }
    }

    static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void aFinetuneKilledWithSigkillResumesToTheSameAdapterBitForBit() throws Exception {
        Path model = Tiny.gpt2(tmp.resolve("tiny-gpt2"));
        Path text = Tiny.text(tmp.resolve("text.txt"));
        Path cache = tmp.resolve("cache");
        Path killed = tmp.resolve("killed");
        Path ckpt = killed.resolve("checkpoint");

        // 1. the child runs until a checkpoint past step 1 exists, then gets SIGKILL (destroyForcibly on Linux)
        long t0 = System.nanoTime();
        Process p = child(args(model, text, killed), tmp.resolve("logs"), cache);
        long seen = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (seen < 2 && p.isAlive() && System.nanoTime() < deadline) {
            seen = checkpointStep(ckpt);
            Thread.sleep(2);
        }
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the killed JVM exits");
        double childSeconds = (System.nanoTime() - t0) / 1e9;
        String err = Files.readString(tmp.resolve("logs/err.txt"));
        assertTrue(seen >= 2, "a checkpoint past step 1 appeared before the child ended (step " + seen + ", exit "
                + p.exitValue() + "): " + err);
        assertEquals(128 + 9, p.exitValue(), "killed by SIGKILL, not finished: " + err);

        // 2. what the kill left: no outputs of the end; the checkpoint, where present, complete (a kill between
        // writeDirectory's two renames leaves it renamed aside, and the resume below puts it back)
        assertFalse(Files.exists(killed.resolve("adapter")), "no adapter: the run did not end");
        Set<String> left = names(killed);
        if (Files.exists(ckpt)) {
            assertEquals(Set.of("state.safetensors", "trainer.json"), names(ckpt), "the checkpoint holds its two files only");
        }
        System.out.printf("[kill] child killed after %.2f s, checkpoint step %d of %d seen; --out holds %s%n", childSeconds,
                checkpointStep(ckpt), STEPS, left);

        // 3. resumed in this JVM with the same arguments and --resume, to the end
        List<String> again = new ArrayList<>(args(model, text, killed));
        again.addAll(List.of("--resume", "--json"));
        long t1 = System.nanoTime();
        CliTest.Result resumed = CliTest.run(again.toArray(String[]::new));
        assertEquals(0, resumed.status(), resumed.err());
        long at = new ObjectMapper().readTree(resumed.out()).path("config").path("resumed_from_step").asLong();
        assertTrue(at >= 2 && at < STEPS && at % EVERY == 0, "continued from a checkpoint past step 1 that the kill left: " + at);
        double resumeSeconds = (System.nanoTime() - t1) / 1e9;

        // 4. the same arguments, uninterrupted
        Path straight = tmp.resolve("straight");
        long t2 = System.nanoTime();
        CliTest.Result full = CliTest.run(args(model, text, straight).toArray(String[]::new));
        assertEquals(0, full.status(), full.err());
        double straightSeconds = (System.nanoTime() - t2) / 1e9;
        System.out.printf("[kill] resume %.2f s, uninterrupted run %.2f s%n", resumeSeconds, straightSeconds);

        // the adapters: every layer's coefficients bit for bit, and the weights file byte for byte
        SavedNola a = NolaAdapterFiles.load(killed.resolve("adapter"));
        SavedNola b = NolaAdapterFiles.load(straight.resolve("adapter"));
        assertEquals(b.layers().size(), a.layers().size());
        for (int i = 0; i < a.layers().size(); i++) {
            SavedNola.Layer x = a.layers().get(i);
            SavedNola.Layer y = b.layers().get(i);
            assertEquals(y.name(), x.name());
            assertArrayEquals(bits(y.alpha()), bits(x.alpha()), x.name() + " alpha, bit for bit");
            assertArrayEquals(bits(y.beta()), bits(x.beta()), x.name() + " beta, bit for bit");
        }
        assertArrayEquals(Files.readAllBytes(straight.resolve("adapter").resolve(NolaAdapterFiles.WEIGHTS_FILE)),
                Files.readAllBytes(killed.resolve("adapter").resolve(NolaAdapterFiles.WEIGHTS_FILE)), "the adapter files' bytes");
        // the trained coefficients moved (offset init starts at 0), so equality is not two untouched adapters
        assertTrue(a.layers().stream().anyMatch(l -> anyNonZero(l.alpha())), "trained");

        // nothing half-written is left beside the outputs (what a kill leaves is tidied when the resume starts;
        // AtomicFilesTest has each state), and NOLA_CACHE was not touched (the model is a directory)
        assertEquals(Set.of("adapter", "checkpoint", "report"), names(killed), "--out after the resume");
        assertFalse(Files.exists(cache), "NOLA_CACHE untouched");
    }

    /** SIGKILLs {@code args}' child once its checkpoint reaches {@code atLeast}; returns the step the kill left. */
    static long killAt(List<String> args, Path out, long atLeast, Path logs, Path cache) throws Exception {
        Process p = child(args, logs, cache);
        long seen = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (seen < atLeast && p.isAlive() && System.nanoTime() < deadline) {
            seen = checkpointStep(out.resolve("checkpoint"));
            Thread.sleep(2);
        }
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the killed JVM exits");
        String err = Files.readString(logs.resolve("err.txt"));
        assertTrue(seen >= atLeast, "checkpoint " + atLeast + " appeared before the child ended (step " + seen + "): " + err);
        assertEquals(128 + 9, p.exitValue(), "killed by SIGKILL, not finished: " + err);
        assertFalse(Files.exists(out.resolve("adapter")), "no adapter: the run did not end");
        return seen;
    }

    /** Runs {@code args} to the end in a child JVM (its own Map.of salt, its own JIT state). */
    static void finishInChild(List<String> args, Path logs, Path cache) throws Exception {
        Process p = child(args, logs, cache);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the child finishes");
        assertEquals(0, p.exitValue(), Files.readString(logs.resolve("err.txt")));
    }

    /** Every file of two adapter directories compared byte for byte (cmp); the names too. */
    static void assertSameBytes(Path expected, Path actual, String what) throws IOException {
        assertEquals(names(expected), names(actual), what + ": the same files");
        for (String f : names(expected)) {
            byte[] e = Files.readAllBytes(expected.resolve(f));
            byte[] a = Files.readAllBytes(actual.resolve(f));
            long firstDiff = java.util.Arrays.mismatch(e, a);
            assertEquals(-1L, firstDiff, what + ": " + f + " differs at byte " + firstDiff);
            System.out.printf("[cmp] %s/%s (%d bytes) = straight/adapter/%s%n", what, f, a.length, f);
        }
    }

    /**
     * Issue 21: an uninterrupted run and runs killed with SIGKILL at several points — early, midway, and after
     * the last step's checkpoint but before the adapter was written — and resumed, in this JVM and in fresh
     * ones, write byte-identical adapter files (config and weights: every JSON map in a fixed order). The
     * resumes in child JVMs matter: {@code Map.of}'s iteration order is salted per JVM, which is how the
     * {@code __metadata__} keys used to come out in another order.
     */
    @Test
    void killedAndResumedAtSeveralPointsTheAdapterFilesAreByteIdentical() throws Exception {
        Path model = Tiny.gpt2(tmp.resolve("tiny-gpt2"));
        Path text = Tiny.text(tmp.resolve("text.txt"));
        Path cache = tmp.resolve("cache");

        Path straight = tmp.resolve("straight");
        CliTest.Result full = CliTest.run(args(model, text, straight).toArray(String[]::new));
        assertEquals(0, full.status(), full.err());

        // uninterrupted again, in a fresh JVM
        Path fresh = tmp.resolve("fresh");
        finishInChild(args(model, text, fresh), tmp.resolve("logs-fresh"), cache);
        assertSameBytes(straight.resolve("adapter"), fresh.resolve("adapter"), "fresh");

        // killed early and midway, each resumed in a fresh JVM
        long[] points = {2, STEPS / 2};
        for (long at : points) {
            Path out = tmp.resolve("killed-" + at);
            long left = killAt(args(model, text, out), out, at, tmp.resolve("logs-kill-" + at), cache);
            List<String> again = new ArrayList<>(args(model, text, out));
            again.add("--resume");
            finishInChild(again, tmp.resolve("logs-resume-" + at), cache);
            System.out.printf("[kill] killed with checkpoint of step %d (waited for %d), resumed in a fresh JVM%n", left, at);
            assertSameBytes(straight.resolve("adapter"), out.resolve("adapter"), "killed-" + at);
        }

        // after the last step: its checkpoint written, the adapter not yet (what a kill between the two leaves),
        // resumed in a fresh JVM and in this one
        for (String where : List.of("child", "here")) {
            Path out = tmp.resolve("after-last-" + where);
            Files.createDirectories(out.resolve("checkpoint"));
            for (String f : names(straight.resolve("checkpoint"))) {
                Files.copy(straight.resolve("checkpoint").resolve(f), out.resolve("checkpoint").resolve(f));
            }
            assertEquals(STEPS, checkpointStep(out.resolve("checkpoint")), "the checkpoint of the last step");
            List<String> again = new ArrayList<>(args(model, text, out));
            again.add("--resume");
            if (where.equals("child")) {
                finishInChild(again, tmp.resolve("logs-after-last"), cache);
            } else {
                CliTest.Result r = CliTest.run(again.toArray(String[]::new));
                assertEquals(0, r.status(), r.err());
            }
            assertSameBytes(straight.resolve("adapter"), out.resolve("adapter"), "after-last-" + where);
        }
    }

    static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToRawIntBits(v[i]);
        }
        return b;
    }

    static boolean anyNonZero(float[] v) {
        for (float x : v) {
            if (x != 0) {
                return true;
            }
        }
        return false;
    }
}
