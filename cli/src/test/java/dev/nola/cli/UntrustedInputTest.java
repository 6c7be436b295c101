package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.io.AdapterMutations;
import dev.nola.adapter.io.FuzzHarness;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SavedNola;
import dev.nola.adapter.NolaConfig;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code nola inspect} and {@code nola export-lora} over adapter directories made hostile on disk,
 * run in-process through {@link FuzzHarness}: an OUT that is, contains or lies inside the input; an
 * existing OUT (a previous export is replaced, anything else is kept); paths that are missing, files,
 * FIFOs, sockets, devices, symbolic link loops, dangling links, empty or (when not root) unreadable;
 * and the library's mutations (huge shapes, gaps and trailing bytes, hostile names) written to disk.
 * Every case must end in status 0, or status 2 with exactly one clean line on stderr that says what
 * is wrong; no file that existed before a case may change, and a refused case writes nothing.
 */
class UntrustedInputTest {

    static final int CASES = 2_000;
    static final int PER_CLASS = 120;
    static final Duration LIMIT = Duration.ofSeconds(180);
    static final Duration PER_CASE = Duration.ofSeconds(20);
    static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    @TempDir
    static Path tmp;

    static AdapterMutations.Files adapter;
    static Map<String, byte[]> previousExport;
    static final AtomicInteger CASE = new AtomicInteger();

    /**
     * One command on a case directory.
     *
     * @param root   the case's own directory; everything it made is below it
     * @param args   the command line
     * @param expect a phrase the refusal must contain, or null
     * @param out    the output directory an accepted export must have written, or null
     * @param before what was below root before the command (relative path → content or kind)
     * @param locked paths made unreadable, restored before the check
     */
    record Case(Path root, String[] args, String expect, Path out, Map<String, String> before, List<Path> locked) {
        @Override
        public String toString() {
            return String.join(" ", args);
        }
    }

    @BeforeAll
    static void writeAdapter() throws IOException {
        NolaConfig c = NolaConfig.offset(4, 16, 12, 8f, 99L, List.of("q", "v"));
        try (Device dev = Backends.open("reference")) {
            Map<String, NolaAdapter> m = new LinkedHashMap<>();
            for (int layer = 0; layer < 2; layer++) {
                for (String mod : c.targetModules()) {
                    m.put("h." + layer + ".attn." + mod, NolaAdapter.create(dev, c, 24, 20, layer, mod));
                }
            }
            SavedNola s = SavedNola.of(m);
            adapter = new AdapterMutations.Files(NolaAdapterFiles.configJson(s), NolaAdapterFiles.weights(s));
            m.values().forEach(NolaAdapter::close);
        }
        Path template = tmp.resolve("template");
        writeAdapter(template.resolve("adapter"), adapter);
        CliTest.Result r = CliTest.run("export-lora", template.resolve("adapter").toString(),
                template.resolve("peft").toString(), "--device", "reference");
        assertEquals(0, r.status(), r.err());
        previousExport = new LinkedHashMap<>();
        for (String f : List.of(NolaAdapterFiles.CONFIG_FILE, NolaAdapterFiles.WEIGHTS_FILE)) {
            previousExport.put(f, Files.readAllBytes(template.resolve("peft").resolve(f)));
        }
    }

    static void writeAdapter(Path dir, AdapterMutations.Files f) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve(NolaAdapterFiles.CONFIG_FILE), f.config());
        Files.write(dir.resolve(NolaAdapterFiles.WEIGHTS_FILE), f.weights());
    }

    static FuzzHarness<Case> harness() {
        // every case is built on disk from scratch, so the one "seed" is a placeholder the mutators ignore
        FuzzHarness<Case> h = new FuzzHarness<>(List.of(new Case(null, new String[0], null, null, Map.of(), List.of())), (c, i) -> {
            CliTest.Result r = CliTest.run(c.args());
            if (r.status() == 0) {
                return;
            }
            List<String> lines = r.err().lines().toList();
            if (r.status() != 2 || lines.size() != 1) {
                throw new AssertionError("status " + r.status() + ", " + lines.size() + " lines on stderr: " + r.err());
            }
            throw new IllegalArgumentException(lines.getFirst());
        });
        h.mutation("OUT_ALIAS", true, (s, rnd) -> outAlias(rnd));
        h.mutation("OUT_EXISTING", false, (s, rnd) -> outExisting(rnd));
        h.mutation("NOT_REGULAR", true, (s, rnd) -> notRegular(rnd));
        h.mutation("HUGE_SHAPE", true, (s, rnd) -> fromLibrary(AdapterMutations.hugeShape(adapter, rnd), true, rnd));
        h.mutation("GAPS_AND_TRAILING", true, (s, rnd) -> fromLibrary(AdapterMutations.gapsAndTrailing(adapter, rnd), false, rnd));
        h.mutation("HOSTILE_NAMES", true, (s, rnd) -> fromLibrary(AdapterMutations.hostileNames(adapter, rnd), false, rnd));
        return h.check(UntrustedInputTest::check);
    }

    @Test
    void hostileDirectoriesNeverCrashHangOrDestroy() {
        FuzzHarness.Report r = harness().run(1312, CASES, LIMIT, PER_CASE).print("cli fuzz");
        r.assertClean();
        assertEquals(CASES, r.cases());
    }

    @Test
    void anOutputAliasingTheInputIsRefused() {
        runAlone("OUT_ALIAS");
    }

    @Test
    void anExistingOutputIsReplacedOnlyWhenItIsAPreviousExport() {
        FuzzHarness.Report r = harness().only("OUT_EXISTING").run(7, PER_CLASS, LIMIT, PER_CASE);
        r.assertClean();
        assertTrue(r.count("OUT_EXISTING", FuzzHarness.Outcome.ACCEPTED) > 0
                && r.count("OUT_EXISTING", FuzzHarness.Outcome.REJECTED) > 0, r.toString());
    }

    @Test
    void unreadableAndNonRegularPathsAreDescribed() {
        runAlone("NOT_REGULAR");
    }

    @Test
    void hugeShapesGapsAndHostileNamesAreOneLineThroughTheCli() {
        runAlone("HUGE_SHAPE");
        runAlone("GAPS_AND_TRAILING");
        runAlone("HOSTILE_NAMES");
    }

    private static void runAlone(String cls) {
        FuzzHarness.Report r = harness().only(cls).run(cls.hashCode(), PER_CLASS, LIMIT, PER_CASE);
        r.assertClean();
        assertEquals(PER_CLASS, r.count(cls, FuzzHarness.Outcome.REJECTED), r.toString());
    }

    // ---- cases

    /** A fresh case directory holding {@code files} as the adapter directory {@code adapter}. */
    static Path newCase(AdapterMutations.Files files) throws IOException {
        Path root = Files.createDirectories(tmp.resolve("c" + CASE.incrementAndGet()));
        writeAdapter(root.resolve("adapter"), files);
        return root;
    }

    static Case outAlias(SplittableRandom rnd) throws IOException {
        Path root = newCase(adapter);
        Path dir = root.resolve("adapter");
        Path in = dir;
        String out = switch (rnd.nextInt(14)) {
            case 0 -> dir.toString();
            case 1 -> dir + "/.";
            case 2 -> dir + "/../adapter";
            case 3 -> dir.resolve("sub").toString();
            case 4 -> dir.resolve("sub/deeper").toString();
            case 5 -> dir.resolve(NolaAdapterFiles.CONFIG_FILE).toString();
            case 6 -> dir.resolve(NolaAdapterFiles.WEIGHTS_FILE).toString();
            case 7 -> root.toString();
            case 8 -> Files.createSymbolicLink(root.resolve("link"), dir).toString();
            case 9 -> Files.createSymbolicLink(root.resolve("link"), dir).resolve("sub").toString();
            case 10 -> Files.createSymbolicLink(root.resolve("up"), root).toString();
            case 11 -> Path.of("").toAbsolutePath().relativize(dir).toString();
            case 12 -> dir + "/";
            default -> {
                in = Files.createSymbolicLink(root.resolve("via-link"), dir); // DIR given through a link
                yield dir.toString();
            }
        };
        return new Case(root, new String[] {"export-lora", in.toString(), out, "--device", "reference"}, "the input",
                null, snapshot(root), List.of());
    }

    static Case outExisting(SplittableRandom rnd) throws IOException, InterruptedException {
        Path root = newCase(adapter);
        Path dir = root.resolve("adapter");
        Path out = root.resolve("peft");
        String expect = null;
        boolean accept = false;
        switch (rnd.nextInt(10)) {
            case 0 -> {
                writeFiles(out, previousExport);
                accept = true;
            }
            case 1 -> {
                Files.createDirectories(out);
                accept = true;
            }
            case 2 -> {
                Files.createDirectories(out);
                Files.writeString(out.resolve("notes.txt"), "the user's work");
                expect = "'notes.txt', which this command does not write";
            }
            case 3 -> {
                writeFiles(out, previousExport);
                Files.createDirectories(out.resolve("checkpoints"));
                expect = "'checkpoints'";
            }
            case 4 -> {
                Files.writeString(out, "a file the user keeps");
                expect = "is a regular file";
            }
            case 5 -> {
                mkfifo(out);
                expect = "FIFO";
            }
            case 6 -> {
                writeFiles(root.resolve("real"), previousExport);
                Files.createSymbolicLink(out, root.resolve("real"));
                expect = "symbolic link";
            }
            case 7 -> {
                Files.createSymbolicLink(out, root.resolve("nowhere"));
                expect = "symbolic link";
            }
            case 8 -> {
                writeAdapter(out, adapter); // another NOLA adapter: the same file names, not an export
                expect = "does not hold a PEFT LoRA adapter";
            }
            default -> {
                Files.writeString(root.resolve("file"), "x");
                out = root.resolve("file/peft");
                expect = "not a directory";
            }
        }
        return new Case(root, new String[] {"export-lora", dir.toString(), out.toString(), "--device", "reference"}, expect,
                accept ? out : null, snapshot(root), List.of());
    }

    static Case notRegular(SplittableRandom rnd) throws IOException, InterruptedException {
        Path root = newCase(adapter);
        Path dir = root.resolve("adapter");
        String arg = dir.toString();
        String expect;
        List<Path> locked = new ArrayList<>();
        int variant = rnd.nextInt(ROOT ? 8 : 9);
        Path target = dir;
        if (variant >= 4 && variant < 8 && rnd.nextBoolean()) {
            // the directory is fine; one of its two files is not
            target = dir.resolve(rnd.nextBoolean() ? NolaAdapterFiles.CONFIG_FILE : NolaAdapterFiles.WEIGHTS_FILE);
        } else if (variant >= 4 && variant < 8) {
            deleteTree(dir);
        }
        if (target != dir) {
            Files.delete(target);
        }
        switch (variant) {
            case 0 -> {
                arg = root.resolve("nope").toString();
                expect = "does not exist";
            }
            case 1 -> {
                arg = dir.resolve(NolaAdapterFiles.CONFIG_FILE).toString();
                expect = "is a regular file; expected a NOLA adapter directory";
            }
            case 2 -> {
                arg = "";
                expect = "empty";
            }
            case 3 -> {
                arg = dir.resolve(NolaAdapterFiles.CONFIG_FILE).resolve("below").toString();
                expect = "not a directory";
            }
            case 4 -> {
                mkfifo(target);
                expect = "FIFO";
            }
            case 5 -> {
                try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                    ch.bind(UnixDomainSocketAddress.of(target));
                }
                expect = "socket";
            }
            case 6 -> {
                Files.createSymbolicLink(target, root.resolve("loop"));
                Files.createSymbolicLink(root.resolve("loop"), target);
                expect = "symbolic link loop";
            }
            case 7 -> {
                switch (rnd.nextInt(3)) {
                    case 0 -> {
                        Files.createSymbolicLink(target, root.resolve("gone"));
                        expect = "symbolic link to a path that does not exist";
                    }
                    case 1 -> {
                        Files.createSymbolicLink(target, Path.of("/dev/null"));
                        expect = "character device";
                    }
                    default -> {
                        if (target == dir) {
                            Files.writeString(target, "x");
                            expect = "is a regular file";
                        } else {
                            Files.createDirectories(target);
                            expect = "is a directory";
                        }
                    }
                }
            }
            default -> {
                Path lock = rnd.nextBoolean() ? dir : dir.resolve(rnd.nextBoolean() ? NolaAdapterFiles.CONFIG_FILE
                        : NolaAdapterFiles.WEIGHTS_FILE);
                locked.add(lock);
                expect = "permission denied";
            }
        }
        Map<String, String> before = snapshot(root);
        for (Path p : locked) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("---------"));
        }
        String[] args = rnd.nextBoolean() ? new String[] {"inspect", arg}
                : new String[] {"export-lora", arg, root.resolve("peft").toString(), "--device", "reference"};
        return new Case(root, args, expect, null, before, locked);
    }

    static Case fromLibrary(AdapterMutations.Files files, boolean exportOnly, SplittableRandom rnd) throws IOException {
        Path root = newCase(files);
        Path dir = root.resolve("adapter");
        String[] args = !exportOnly && rnd.nextBoolean() ? new String[] {"inspect", dir.toString()}
                : new String[] {"export-lora", dir.toString(), root.resolve("peft").toString(), "--device", "reference"};
        return new Case(root, args, null, null, snapshot(root), List.of());
    }

    // ---- the check: nothing that existed changed, a refusal wrote nothing and says what is wrong

    static String check(Case c, Throwable error) throws IOException {
        try {
            for (Path p : c.locked()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
                        Files.isDirectory(p) ? "rwx------" : "rw-------"));
            }
            Map<String, String> after = snapshot(c.root());
            for (Map.Entry<String, String> e : c.before().entrySet()) {
                if (!e.getValue().equals(after.get(e.getKey()))) {
                    return e.getKey() + " changed: was " + e.getValue() + ", now " + after.get(e.getKey());
                }
            }
            List<String> added = after.keySet().stream().filter(k -> !c.before().containsKey(k)).toList();
            if (error != null) {
                if (!added.isEmpty()) {
                    return "a refused command wrote " + added;
                }
                if (c.expect() != null && !error.getMessage().contains(c.expect())) {
                    return "the message does not say '" + c.expect() + "'";
                }
                return null;
            }
            if (c.out() == null) {
                return "accepted, but this case must be refused";
            }
            Path rel = c.root().relativize(c.out());
            for (String a : added) {
                if (!Path.of(a).startsWith(rel)) {
                    return "the export wrote " + a + " outside OUT";
                }
            }
            for (Map.Entry<String, byte[]> f : previousExport.entrySet()) {
                if (!Arrays.equals(f.getValue(), Files.readAllBytes(c.out().resolve(f.getKey())))) {
                    return "OUT's " + f.getKey() + " is not the export";
                }
            }
            return null;
        } finally {
            deleteTree(c.root());
        }
    }

    /** Everything below root, links not followed: relative path → content hash, or the kind of entry. */
    static Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                String key = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    m.put(key, "link to " + Files.readSymbolicLink(p));
                } else if (Files.isRegularFile(p)) {
                    m.put(key, "file " + Arrays.hashCode(Files.readAllBytes(p)));
                } else if (Files.isDirectory(p)) {
                    m.put(key, "directory");
                } else {
                    m.put(key, "special");
                }
            }
        }
        return m;
    }

    static void writeFiles(Path dir, Map<String, byte[]> files) throws IOException {
        Files.createDirectories(dir);
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Files.write(dir.resolve(f.getKey()), f.getValue());
        }
    }

    static void mkfifo(Path p) throws IOException, InterruptedException {
        Process pr = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
        if (pr.waitFor() != 0) {
            throw new IOException("mkfifo " + p + " failed: " + new String(pr.getInputStream().readAllBytes()));
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
