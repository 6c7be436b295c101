package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 21: {@code finetune} with OUT on a disk that fills up. The test mounts a small tmpfs (as root; skipped,
 * with the reason, when not root or when the mount fails, e.g. without CAP_SYS_ADMIN), leaves room for one
 * checkpoint but not for the second (a checkpoint is written beside the previous one, then renamed over it),
 * and checks: the run stops with one line naming the checkpoint's path and the bytes it needed, status 1;
 * the previous checkpoint is intact; once space is freed, {@code --resume} continues from it to the end.
 * The tmpfs is unmounted after.
 */
class FullDiskTest {

    @TempDir
    Path tmp;

    Path mount;

    static int sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    @AfterEach
    void unmount() throws Exception {
        if (mount != null) {
            assertEquals(0, sh("umount", mount.toString()), "unmounted " + mount);
        }
    }

    @Test
    void aCheckpointThatDoesNotFitStopsTheRunInOneLineAndTheResumeContinuesOnceSpaceIsFreed() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root; running as "
                + System.getProperty("user.name"));
        Path m = tmp.resolve("small-disk");
        Files.createDirectories(m);
        int rc = sh("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", m.toString());
        assumeTrue(rc == 0, "mount -t tmpfs failed (status " + rc + "): no CAP_SYS_ADMIN in this container?");
        mount = m;

        Path model = Tiny.gpt2(tmp.resolve("tiny-gpt2"));
        Path text = Tiny.text(tmp.resolve("text.txt"));
        Path out = m.resolve("out");
        Files.createDirectories(out);
        // room for one checkpoint (two files of a page each) and a little, not for a second beside it
        Path filler = m.resolve("filler");
        long free = Files.getFileStore(m).getUsableSpace();
        Files.write(filler, new byte[(int) (free - 3 * 4096)]);
        List<String> args = new ArrayList<>(List.of("finetune", "--model", model.toString(), "--data", text.toString(),
                "--k", "4", "--l", "4", "--steps", "6", "--checkpoint-every", "2", "--batch", "2", "--device", "cpu",
                "--out", out.toString(), "--quiet"));

        CliTest.Result full = CliTest.run(args.toArray(String[]::new));
        String err = full.err().strip();
        System.out.println("[full-disk] status " + full.status() + ": " + err);
        assertEquals(1, full.status(), "an I/O failure, not bad input: " + err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        Path ckpt = out.resolve("checkpoint");
        assertTrue(err.contains("cannot write " + ckpt) && err.contains("No space left on device")
                && err.matches(".*it needs \\d+ bytes.*"), err);

        // the previous checkpoint: step 2, its two files, nothing half-written beside it
        assertEquals(2, KillResumeTest.checkpointStep(ckpt), "the checkpoint of step 2 is intact");
        assertEquals(Set.of("state.safetensors", "trainer.json"), KillResumeTest.names(ckpt));
        assertEquals(Set.of("checkpoint"), KillResumeTest.names(out), "no temporary left, no adapter");
        assertFalse(Files.exists(out.resolve("adapter")));

        // space freed: --resume continues from step 2 to the end
        Files.delete(filler);
        args.addAll(List.of("--resume", "--json"));
        CliTest.Result resumed = CliTest.run(args.toArray(String[]::new));
        assertEquals(0, resumed.status(), resumed.err());
        assertEquals(2, new ObjectMapper().readTree(resumed.out()).path("config").path("resumed_from_step").asLong());
        assertEquals(6, KillResumeTest.checkpointStep(ckpt));
        assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_model.safetensors")));
    }
}
