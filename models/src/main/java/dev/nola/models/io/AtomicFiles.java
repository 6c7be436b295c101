package dev.nola.models.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Atomic writes for the files of this module: a reader sees the old content or the new, never a
 * partial file. Each file is written beside its target under a hidden temporary name, forced to disk,
 * then renamed over the target (an atomic rename where the file system has one).
 */
public final class AtomicFiles {

    private AtomicFiles() {
    }

    /** Replaces {@code file} with {@code data}; the parent directory is created when missing. */
    public static void write(Path file, byte[] data) {
        Path target = file.toAbsolutePath().normalize();
        Path parent = parentOf(target);
        Path tmp = parent.resolve("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            Files.createDirectories(parent);
            if (Files.isDirectory(target)) {
                throw new IllegalArgumentException("cannot write " + target + ": it is a directory, expected a file path");
            }
            writeForced(tmp, data);
            move(tmp, target);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("cannot write " + target + ": " + FileErrors.describe(e), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /**
     * Replaces the directory {@code dir} with one that holds exactly {@code files} (name → bytes). The
     * files are written into a hidden temporary directory beside it, which is then renamed into place;
     * an existing directory is renamed aside first and deleted only once the new one is in place (and
     * renamed back if that fails). An existing directory may hold only files named in {@code files}:
     * anything else in it is refused rather than deleted.
     */
    public static void writeDirectory(Path dir, Map<String, byte[]> files) {
        Path target = dir.toAbsolutePath().normalize();
        Path parent = parentOf(target);
        String base = target.getFileName().toString();
        Path tmp = parent.resolve("." + base + ".tmp-" + UUID.randomUUID());
        Path old = parent.resolve("." + base + ".old-" + UUID.randomUUID());
        for (String name : files.keySet()) {
            if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
                throw new IllegalArgumentException("file name '" + name + "' for " + target
                        + " is not a plain visible file name");
            }
        }
        boolean movedAside = false;
        try {
            Files.createDirectories(parent);
            if (Files.exists(target)) {
                refuseForeignContent(target, files.keySet());
            }
            Files.createDirectory(tmp);
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                writeForced(tmp.resolve(f.getKey()), f.getValue());
            }
            if (Files.exists(target)) {
                move(target, old);
                movedAside = true;
            }
            move(tmp, target);
            if (movedAside) {
                deleteTree(old);
            }
        } catch (IOException e) {
            undo(target, old, tmp, movedAside);
            throw new UncheckedIOException("cannot write " + target + ": " + FileErrors.describe(e), e);
        } catch (RuntimeException e) {
            undo(target, old, tmp, movedAside);
            throw e;
        }
    }

    /**
     * Tidies what a writer of {@code dir} stopped by SIGKILL or a crash left beside it (the hidden
     * directories of {@link #writeDirectory}): when {@code dir} is missing but a previous version was
     * renamed aside (the stop fell between the two renames), the newest such version is renamed back, as
     * it was complete; then every hidden temporary and renamed-aside directory of {@code dir} is deleted.
     * Only for a directory one process owns (a trainer's checkpoint): it would delete a concurrent
     * writer's temporary too.
     *
     * @return true when a previous version was renamed back
     */
    public static boolean recoverDirectory(Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        Path parent = parentOf(target);
        String base = target.getFileName().toString();
        if (!Files.isDirectory(parent)) {
            return false;
        }
        try {
            List<Path> tmps = new ArrayList<>();
            List<Path> olds = new ArrayList<>();
            try (Stream<Path> s = Files.list(parent)) {
                for (Path p : s.toList()) {
                    String n = p.getFileName().toString();
                    if (n.startsWith("." + base + ".tmp-")) {
                        tmps.add(p);
                    } else if (n.startsWith("." + base + ".old-") && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        olds.add(p);
                    }
                }
            }
            boolean restored = false;
            if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !olds.isEmpty()) {
                Path newest = olds.getFirst();
                for (Path p : olds) {
                    if (Files.getLastModifiedTime(p).compareTo(Files.getLastModifiedTime(newest)) > 0) {
                        newest = p;
                    }
                }
                move(newest, target);
                olds.remove(newest);
                restored = true;
            }
            for (Path p : tmps) {
                deleteTree(p);
            }
            for (Path p : olds) {
                deleteTree(p);
            }
            return restored;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot recover " + target + ": " + FileErrors.describe(e), e);
        }
    }

    private static void refuseForeignContent(Path target, Set<String> allowed) throws IOException {
        if (!Files.isDirectory(target)) {
            throw new IllegalArgumentException("cannot write " + target + ": it exists and is not a directory");
        }
        List<String> foreign = new ArrayList<>();
        try (Stream<Path> s = Files.list(target)) {
            s.forEach(p -> {
                String n = p.getFileName().toString();
                if (!allowed.contains(n) || !Files.isRegularFile(p)) {
                    foreign.add(n);
                }
            });
        }
        if (!foreign.isEmpty()) {
            throw new IllegalArgumentException("cannot replace " + target + ": it holds " + new TreeSet<>(foreign)
                    + ", expected only " + new TreeSet<>(allowed) + " (choose an empty or new directory)");
        }
    }

    private static void undo(Path target, Path old, Path tmp, boolean movedAside) {
        if (movedAside && !Files.exists(target)) {
            try {
                move(old, target);
            } catch (IOException ignored) {
                // the first failure is the one reported; the previous directory is still at 'old'
            }
        }
        deleteQuietly(tmp);
    }

    private static Path parentOf(Path target) {
        Path parent = target.getParent();
        if (parent == null || target.getFileName() == null) {
            throw new IllegalArgumentException("path " + target + " has no parent directory; expected a file or directory path");
        }
        return parent;
    }

    private static void writeForced(Path file, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            deleteTree(p);
        } catch (IOException ignored) {
            // a stray hidden temporary file is harmless
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        // a link is deleted, never followed
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(p)) {
                for (Path c : s.toList()) {
                    deleteTree(c);
                }
            }
        }
        Files.delete(p);
    }
}
