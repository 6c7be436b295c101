package dev.nola.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Atomic writes of files and directories, and recovery from what a SIGKILL leaves. */
class AtomicFilesTest {

    @TempDir
    Path tmp;

    /** The message of the exception {@code action} throws, checked to be one line. */
    private static String message(Executable action) {
        RuntimeException e = assertThrows(RuntimeException.class, action);
        assertFalse(e.getMessage() == null || e.getMessage().contains("\n"), "not one line: " + e.getMessage());
        return e.getMessage();
    }

    private List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFileIsCreatedOrReplacedWithoutLeavingTemporaries() throws IOException {
        Path f = tmp.resolve("a/b/c.bin");
        AtomicFiles.write(f, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(f));
        AtomicFiles.write(f, new byte[] {4});
        assertArrayEquals(new byte[] {4}, Files.readAllBytes(f));
        assertEquals(List.of("c.bin"), names(f.getParent()));
        assertTrue(message(() -> AtomicFiles.write(tmp.resolve("a"), new byte[0])).contains("it is a directory"));
    }

    @Test
    void aDirectoryIsReplacedAsAWhole() throws IOException {
        Path d = tmp.resolve("ckpt");
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("x.json", new byte[] {1});
        files.put("y.bin", new byte[] {2});
        AtomicFiles.writeDirectory(d, files);
        AtomicFiles.writeDirectory(d, Map.of("x.json", new byte[] {9}, "y.bin", new byte[] {8}));
        assertEquals(List.of("x.json", "y.bin"), names(d));
        assertArrayEquals(new byte[] {9}, Files.readAllBytes(d.resolve("x.json")));
        assertEquals(List.of("ckpt"), names(tmp), "no temporary or old directory left");
    }

    @Test
    void foreignContentAndBadNamesAreRefused() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(d.resolve("keep.txt"), "x");
        String m = message(() -> AtomicFiles.writeDirectory(d, Map.of("x.json", new byte[0])));
        assertTrue(m.contains("holds 'keep.txt', which this command does not write"), m);
        assertEquals(List.of("keep.txt"), names(d));
        assertTrue(message(() -> AtomicFiles.writeDirectory(tmp.resolve("o"), Map.of("../x", new byte[0])))
                .contains("'../x'"));
        Path file = Files.writeString(tmp.resolve("plain"), "x");
        assertTrue(message(() -> AtomicFiles.writeDirectory(file, Map.of("x.json", new byte[0])))
                .contains("exists and is a regular file"));
        // a link is refused, not replaced by a directory (the rule of OutputPaths, which both writers now share)
        Path link = Files.createSymbolicLink(tmp.resolve("link"), d);
        assertTrue(message(() -> AtomicFiles.writeDirectory(link, Map.of("keep.txt", new byte[0])))
                .contains("is a symbolic link"));
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(List.of("keep.txt"), names(d));
    }

    /**
     * The states a SIGKILL can leave {@code writeDirectory} in (the kill test in the CLI hits a random
     * one; 3 of 20 kills at random times left a temporary): killed while writing the temporary (the
     * checkpoint intact, a stale temporary beside it), killed after renaming the old one aside (no
     * checkpoint, the old one hidden beside the complete new temporary), killed before deleting the old
     * one. Recovery keeps or restores a complete version and leaves nothing hidden; links are deleted,
     * never followed.
     */
    @Test
    void recoveryRestoresTheCheckpointAKillRenamedAsideAndRemovesTemporaries() throws IOException {
        Path d = tmp.resolve("ckpt");
        AtomicFiles.writeDirectory(d, Map.of("x.json", new byte[] {1}));

        // killed while writing the temporary: the checkpoint stays, the temporary goes
        Files.createDirectory(tmp.resolve(".ckpt.tmp-1"));
        Files.write(tmp.resolve(".ckpt.tmp-1/x.json"), new byte[] {2});
        assertEquals(false, AtomicFiles.recoverDirectory(d));
        assertEquals(List.of("ckpt"), names(tmp));
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(d.resolve("x.json")));

        // killed between the renames: the old checkpoint is put back, the temporary goes
        Files.move(d, tmp.resolve(".ckpt.old-2"));
        Files.createDirectory(tmp.resolve(".ckpt.tmp-2"));
        Files.write(tmp.resolve(".ckpt.tmp-2/x.json"), new byte[] {3});
        assertEquals(true, AtomicFiles.recoverDirectory(d));
        assertEquals(List.of("ckpt"), names(tmp));
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(d.resolve("x.json")));

        // killed before deleting the old one; a link named like a temporary is removed, its target kept
        Files.createDirectory(tmp.resolve(".ckpt.old-3"));
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.write(outside.resolve("keep"), new byte[] {7});
        Files.createSymbolicLink(tmp.resolve(".ckpt.tmp-3"), outside);
        assertEquals(false, AtomicFiles.recoverDirectory(d));
        assertEquals(List.of("ckpt", "outside"), names(tmp));
        assertEquals(List.of("keep"), names(outside));
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(d.resolve("x.json")));

        // nothing there: nothing to do
        assertEquals(false, AtomicFiles.recoverDirectory(tmp.resolve("none")));
    }
}
