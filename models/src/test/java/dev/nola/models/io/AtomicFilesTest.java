package dev.nola.models.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.models.Messages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @TempDir
    Path tmp;

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
        assertTrue(Messages.of(() -> AtomicFiles.write(tmp.resolve("a"), new byte[0])).contains("it is a directory"));
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
        String m = Messages.of(() -> AtomicFiles.writeDirectory(d, Map.of("x.json", new byte[0])));
        assertTrue(m.contains("holds [keep.txt], expected only [x.json]"), m);
        assertEquals(List.of("keep.txt"), names(d));
        assertTrue(Messages.of(() -> AtomicFiles.writeDirectory(tmp.resolve("o"), Map.of("../x", new byte[0])))
                .contains("'../x'"));
        Path file = Files.writeString(tmp.resolve("plain"), "x");
        assertTrue(Messages.of(() -> AtomicFiles.writeDirectory(file, Map.of("x.json", new byte[0])))
                .contains("it exists and is not a directory"));
    }
}
