package dev.nola.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nola.kernels.DeviceInfo;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rules every reader and writer shares: Echo, InputFiles, FileErrors, SizeBudget, OutputPaths. */
class InputRulesTest {

    @TempDir
    Path tmp;

    @Test
    void echoEscapesControlCharactersAndShortens() {
        assertEquals("'a\\nb\\tc\\u0000d\\\\e'", Echo.quote("a\nb\tc\u0000d\\e"));
        assertEquals("'right-to-left \\u202E override'", Echo.quote("right-to-left \u202E override"));
        assertEquals("'' (empty)", Echo.quote(""));
        String longName = "x".repeat(1000);
        String q = Echo.quote(longName);
        assertTrue(q.length() < 100 && q.endsWith("…(1000 chars)'"), q);
        assertEquals("'h.0.attn.q'", Echo.quote("h.0.attn.q"));
        assertEquals("18446744073709551615", Echo.unsigned(-1L));
        assertEquals("2147483648 bytes (2.0 GiB)", Echo.bytes(1L << 31));
        assertEquals("a\\nb \\ c", Echo.line("a\nb \\ c"), "a whole message keeps its (already escaped) backslashes");
    }

    @Test
    void pathKindsAreDescribedAsWhatTheyAre() throws Exception {
        Path file = Files.writeString(tmp.resolve("f"), "x");
        Path loopA = tmp.resolve("loopA");
        Path loopB = tmp.resolve("loopB");
        Files.createSymbolicLink(loopA, loopB);
        Files.createSymbolicLink(loopB, loopA);
        Path dangling = Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("nowhere"));
        assertEquals(InputFiles.Kind.REGULAR_FILE, InputFiles.kind(file));
        assertEquals(InputFiles.Kind.DIRECTORY, InputFiles.kind(tmp));
        assertEquals(InputFiles.Kind.MISSING, InputFiles.kind(tmp.resolve("nope")));
        assertEquals(InputFiles.Kind.SYMLINK_LOOP, InputFiles.kind(loopA));
        assertEquals(InputFiles.Kind.BROKEN_SYMLINK, InputFiles.kind(dangling));
        assertEquals(InputFiles.Kind.NOT_A_DIRECTORY_ON_THE_WAY, InputFiles.kind(file.resolve("below")));
        assertEquals(InputFiles.Kind.CHARACTER_DEVICE, InputFiles.kind(Path.of("/dev/null")));
        Path socket = tmp.resolve("s");
        try (ServerSocketChannel ch = ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
        }
        assertEquals(InputFiles.Kind.SOCKET, InputFiles.kind(socket));
        Path fifo = mkfifo(tmp.resolve("fifo"));
        assertEquals(InputFiles.Kind.FIFO, InputFiles.kind(fifo));
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> InputFiles.open(fifo));
        assertTrue(e.getMessage().endsWith("fifo is a FIFO (named pipe); expected a regular file"), e.getMessage());
        e = assertThrows(InvalidFileException.class, () -> InputFiles.requireDirectory(loopA, "an adapter directory"));
        assertTrue(e.getMessage().endsWith("loopA is a symbolic link loop; expected an adapter directory"), e.getMessage());
        e = assertThrows(InvalidFileException.class, () -> InputFiles.requireDirectory(Path.of(""), "a directory"));
        assertEquals("the path is empty; expected a directory", e.getMessage());
    }

    /** Makes a FIFO with mkfifo(1), or skips the test where there is none. */
    static Path mkfifo(Path p) throws IOException, InterruptedException {
        Process pr;
        try {
            pr = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no mkfifo on this system: " + e.getMessage());
            throw e;
        }
        assumeTrue(pr.waitFor() == 0, "mkfifo failed");
        return p;
    }

    @Test
    void permissionProblemsSayPermissionDenied() throws IOException {
        assertEquals("permission denied", FileErrors.describe(new AccessDeniedException("/x")));
        Path file = Files.writeString(tmp.resolve("secret"), "x");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        try {
            // root reads every file; the message is then checked through describe() above
            assumeTrue(!Files.isReadable(file), "running as root: a mode-000 file is still readable");
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> InputFiles.open(file));
            assertTrue(e.getMessage().endsWith("secret: permission denied"), e.getMessage());
        } finally {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
    }

    @Test
    void sizeBudgetRefusesWhatDoesNotFitBeforeAllocating() {
        DeviceInfo small = new DeviceInfo("gpu:test", "test", "test", DeviceInfo.Type.GPU, "1", 1, 1L << 30, 0, 1, 1L << 28);
        TooLargeException e = assertThrows(TooLargeException.class, () -> SizeBudget.of("dir")
                .addFloats("layer 'h.0': factor A [8192, 65536]", 8192L * 65536).requireOnDevice(small));
        assertEquals("dir: layer 'h.0': factor A [8192, 65536] needs 2147483648 bytes (2.0 GiB); device gpu:test allows "
                + "at most 268435456 bytes (256.0 MiB) per allocation", e.getMessage());
        SizeBudget many = SizeBudget.of("dir");
        for (int i = 0; i < 8; i++) {
            many.addFloats("t" + i, 1L << 26);
        }
        e = assertThrows(TooLargeException.class, () -> many.requireOnDevice(small));
        assertTrue(e.getMessage().contains("8 allocations (the largest: t0, 268435456 bytes (256.0 MiB)) would take "
                + "2147483648 bytes (2.0 GiB) on device gpu:test, which has 1073741824 bytes (1.0 GiB)"), e.getMessage());
        e = assertThrows(TooLargeException.class, () -> SizeBudget.requireHeap("f", "reading it", Long.MAX_VALUE));
        assertTrue(e.getMessage().startsWith("f: reading it would take more than") && e.getMessage().contains("-Xmx"),
                e.getMessage());
        assertEquals(Long.MAX_VALUE, SizeBudget.times(1L << 40, 1L << 40), "saturates instead of wrapping");
        assertEquals(Long.MAX_VALUE, SizeBudget.plus(Long.MAX_VALUE, 1));
        SizeBudget.of("dir").addFloats("small", 16).requireOnDevice(small);
    }

    @Test
    void outputMayNotBeInsideContainOrBeAnInput() throws IOException {
        Path in = Files.createDirectories(tmp.resolve("adapter"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), in);
        String[][] cases = {
            {in.toString(), "is the input"},
            {in + "/.", "is the input"},
            {in + "/../adapter", "is the input"},
            {link.toString(), "is the input"},
            {in.resolve("sub").toString(), "lies inside the input"},
            {link.resolve("sub/deeper").toString(), "lies inside the input"},
            {tmp.toString(), "contains the input"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> OutputPaths.requireApart("OUT", Path.of(c[0]), in), c[0]);
            assertTrue(e.getMessage().startsWith("OUT ") && e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
        }
        OutputPaths.requireApart("OUT", tmp.resolve("peft"), in);
        OutputPaths.requireApart("OUT", tmp.resolve("adapter-peft"), in); // a shared name prefix is not containment
    }

    @Test
    void anExistingTargetIsReplacedOnlyWhenItIsAPreviousOutput() throws IOException {
        OutputPaths.Kind kind = new OutputPaths.Kind("a test output", java.util.Set.of("a.json"),
                dir -> OutputPaths.configSays(dir, "a.json", "kind", "test"));
        java.util.Map<String, byte[]> files = java.util.Map.of("a.json", "{\"kind\":\"test\"}".getBytes());
        Path out = tmp.resolve("out");
        AtomicFiles.writeDirectory(out, kind, files, AtomicFiles.NONE);
        AtomicFiles.writeDirectory(out, kind, java.util.Map.of("a.json", "{\"kind\":\"test\",\"v\":2}".getBytes()),
                AtomicFiles.NONE);
        assertTrue(Files.readString(out.resolve("a.json")).contains("\"v\":2"), "a previous output is replaced");
        Path home = Files.createDirectories(tmp.resolve("home"));
        Files.writeString(home.resolve("thesis.tex"), "years of work");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AtomicFiles.writeDirectory(home, kind, files, AtomicFiles.NONE));
        assertTrue(e.getMessage().contains("holds 'thesis.tex', which this command does not write"), e.getMessage());
        assertEquals("years of work", Files.readString(home.resolve("thesis.tex")));
        Path other = Files.createDirectories(tmp.resolve("other"));
        Files.writeString(other.resolve("a.json"), "{\"kind\":\"something else\"}");
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.writeDirectory(other, kind, files, AtomicFiles.NONE));
        assertTrue(e.getMessage().contains("does not hold a test output"), e.getMessage());
        Path plain = Files.writeString(tmp.resolve("plain"), "x");
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.writeDirectory(plain, kind, files, AtomicFiles.NONE));
        assertTrue(e.getMessage().contains("exists and is a regular file"), e.getMessage());
        Path link = Files.createSymbolicLink(tmp.resolve("to-out"), out);
        e = assertThrows(IllegalArgumentException.class, () -> AtomicFiles.writeDirectory(link, kind, files, AtomicFiles.NONE));
        assertTrue(e.getMessage().contains("is a symbolic link"), e.getMessage());
        try (var s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary directory is left");
        }
    }

    @Test
    void wholeFileReadsAreCheckedBeforeReading() throws Exception {
        Path f = Files.writeString(tmp.resolve("data.json"), "{\"a\": 1}");
        assertEquals("{\"a\": 1}", new String(InputFiles.readAll(f, 8 + 1)));
        InvalidFileException e = assertThrows(InvalidFileException.class, () -> InputFiles.readAll(f, 7));
        assertTrue(e.getMessage().endsWith("data.json is 8 bytes, above the limit of 7 bytes for this kind of file"),
                e.getMessage());
        TooLargeException t = assertThrows(TooLargeException.class, () -> InputFiles.readAll(f, 100, Long.MAX_VALUE));
        assertTrue(t.getMessage().contains("data.json: reading it would take more than"), t.getMessage());
        e = assertThrows(InvalidFileException.class, () -> InputFiles.readAll(tmp.resolve("absent"), 100));
        assertTrue(e.getMessage().endsWith("absent does not exist; expected a regular file"), e.getMessage());
        Path fifo = mkfifo(tmp.resolve("pipe"));
        e = assertThrows(InvalidFileException.class, () -> InputFiles.readAll(fifo, 100));
        assertTrue(e.getMessage().endsWith("pipe is a FIFO (named pipe); expected a regular file"), e.getMessage());
    }

    @Test
    void untrustedJsonIsBoundedAndItsErrorsAreOneLineWithAPosition() {
        assertEquals(1, UntrustedJson.parse("{\"a\": 1}".getBytes(), "f").get("a").intValue());
        String[][] cases = {
            {"{\"a\": 1, \"a\": 2}", "f: invalid JSON: Duplicate field 'a' (at a, line 1, column"},
            {"{\"a\": 1} {}", "f: invalid JSON: more content follows the end of the JSON value"},
            {"{\"a\": 1 // c\n}", "f: invalid JSON:"},
            {"[".repeat(40) + "]".repeat(40), "f: invalid JSON: Document nesting depth (33) exceeds the maximum allowed (32"},
            {"1" + "0".repeat(100), "f: invalid JSON: Number value length (101) exceeds the maximum allowed (64"},
            {"", "f: no JSON value; expected a JSON object"},
        };
        for (String[] c : cases) {
            InvalidFileException e = assertThrows(InvalidFileException.class, () -> UntrustedJson.parse(c[0].getBytes(), "f"));
            assertTrue(e.getMessage().startsWith(c[1]) && !e.getMessage().contains("\n")
                    && !e.getMessage().contains("com.fasterxml"), c[0] + ": " + e.getMessage());
        }
    }

    @Test
    void ioFailuresAreWordsNotClassNames() {
        assertEquals("does not exist", FileErrors.describe(new java.nio.file.NoSuchFileException("/x")));
        assertEquals("directory not empty", FileErrors.describe(new java.nio.file.DirectoryNotEmptyException("/d")));
        assertEquals("a component of the path is not a directory",
                FileErrors.describe(new java.nio.file.NotDirectoryException("/f/x")));
        assertEquals("/x is in the way (it already exists)", FileErrors.describe(new java.nio.file.FileAlreadyExistsException("/x")));
        assertEquals("No space left on device",
                FileErrors.describe(new java.nio.file.FileSystemException("/x", null, "No space left on device")));
        assertEquals("input/output error", FileErrors.describe(new IOException()));
        assertEquals("first line \\u001B", FileErrors.describe(new IOException("first line \u001B\nsecond")));
    }
}
