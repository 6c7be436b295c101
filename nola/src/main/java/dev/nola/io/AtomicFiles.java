package dev.nola.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Atomic writes: a reader sees the previous content or the new, never a partial file or a half-written
 * directory. Everything is written under a hidden temporary name beside its target ({@code .NAME.tmp-UUID}),
 * each file forced to disk, then renamed into place (an atomic rename where the file system has one).
 *
 * <p>A directory ({@link #writeDirectory}) is replaced as a whole: an existing one is renamed aside
 * ({@code .NAME.old-UUID}), the new one renamed into place, and the old one deleted only then; when the
 * second rename fails the old one is renamed back. What a SIGKILL between those steps leaves behind is
 * tidied by {@link #recoverDirectory}. An existing directory is replaced only when
 * {@link OutputPaths#requireReplaceable} allows it (checked again here, before anything is written), so
 * a mistyped target never deletes a user's directory.
 */
public final class AtomicFiles {

    /** A hook called between the stages of a directory write, so tests can inject a failure half-way. */
    public interface Stage {
        /**
         * Called after each stage: "wrote NAME" for each file, "moved old aside" after the existing
         * directory was renamed aside.
         *
         * @throws IOException to fail the write at this point, as a real I/O failure would
         */
        void reached(String stage) throws IOException;
    }

    /** The stage hook that does nothing. */
    public static final Stage NONE = s -> { };

    private AtomicFiles() {
    }

    /**
     * Replaces {@code file} with {@code data} atomically; the parent directories are created when
     * missing. The temporary file is forced to disk before the rename; on failure it is deleted and the
     * previous file is untouched.
     *
     * @throws IllegalArgumentException {@code file} is a directory or has no parent
     * @throws UncheckedIOException the write failed ("cannot write PATH: REASON")
     */
    public static void write(Path file, byte[] data) {
        Path target = file.toAbsolutePath().normalize();
        Path parent = parentOf(target);
        Path tmp = parent.resolve("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            Files.createDirectories(parent);
            if (Files.isDirectory(target)) {
                throw new IllegalArgumentException("cannot write " + Echo.path(target)
                        + ": it is a directory, expected a file path");
            }
            writeForced(tmp, data);
            move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("cannot write " + Echo.path(target) + ": " + FileErrors.describe(e)
                    + space(parent, new long[] {data.length}, false), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /**
     * Replaces the directory {@code dir} with one holding exactly {@code files} (name → bytes), for a
     * directory that only this program writes (a checkpoint, a cache entry, a report). It replaces
     * nothing, an empty directory, or a directory holding nothing but regular files named in
     * {@code files}; anything else (another file, a subdirectory, a symbolic link, a plain file at
     * {@code dir}) is refused, naming it, rather than deleted.
     *
     * @throws IllegalArgumentException a file name is not a plain visible name, or {@code dir} may not be replaced
     * @throws UncheckedIOException the write failed; the previous directory is still in place
     */
    public static void writeDirectory(Path dir, Map<String, byte[]> files) {
        OutputPaths.Kind kind = new OutputPaths.Kind("this program's files", files.keySet(), d -> true);
        writeDirectory(dir, kind, files, NONE);
    }

    /**
     * Replaces {@code dir} with a directory holding exactly {@code files} (name → bytes), which must be
     * {@code kind.files()}; an existing directory is replaced only when it is a previous output of
     * {@code kind} ({@link OutputPaths#requireReplaceable}).
     *
     * @param stage called between stages; {@link #NONE} outside tests
     * @throws IllegalArgumentException the names are not {@code kind.files()} or not plain visible names,
     *                                  or {@code dir} may not be replaced
     * @throws UncheckedIOException the write failed; the previous directory is still in place
     */
    public static void writeDirectory(Path dir, OutputPaths.Kind kind, Map<String, byte[]> files, Stage stage) {
        if (!kind.files().equals(files.keySet())) {
            throw new IllegalArgumentException("files " + files.keySet() + " are not the files of " + kind.what() + ", "
                    + kind.files());
        }
        for (String name : files.keySet()) {
            if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
                throw new IllegalArgumentException("file name " + Echo.quote(name) + " for " + Echo.path(dir)
                        + " is not a plain visible file name");
            }
        }
        Path target = dir.toAbsolutePath().normalize();
        Path parent = parentOf(target);
        String base = target.getFileName().toString();
        Path tmp = parent.resolve("." + base + ".tmp-" + UUID.randomUUID());
        Path old = parent.resolve("." + base + ".old-" + UUID.randomUUID());
        boolean movedAside = false;
        try {
            OutputPaths.requireReplaceable(dir, kind);
            Files.createDirectories(parent);
            Files.createDirectory(tmp);
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                writeForced(tmp.resolve(f.getKey()), f.getValue());
                stage.reached("wrote " + f.getKey());
            }
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                move(target, old);
                movedAside = true;
                stage.reached("moved old aside");
            }
            move(tmp, target);
            if (movedAside) {
                deleteTree(old);
            }
        } catch (IOException e) {
            undo(target, old, tmp, movedAside);
            throw new UncheckedIOException("cannot write " + Echo.path(target) + ": " + FileErrors.describe(e)
                    + space(parent, files.values().stream().mapToLong(b -> b.length).toArray(), true), e);
        } catch (RuntimeException e) {
            undo(target, old, tmp, movedAside);
            throw e;
        }
    }

    /**
     * What the write needed and what its file system has: "; it needs N bytes, B in S-byte blocks, F free
     * there", so a full disk says how much to free. Files take whole blocks (and a new directory one more), so
     * the block figure is what compares with the free space; figures the file system cannot give are left out.
     */
    static String space(Path parent, long[] sizes, boolean directory) {
        long data = 0;
        for (long n : sizes) {
            data += n;
        }
        String blocks = "";
        String free = "";
        try {
            java.nio.file.FileStore store = Files.getFileStore(parent);
            long bs = Math.max(1, store.getBlockSize());
            long need = directory ? bs : 0;
            for (long n : sizes) {
                need += (n + bs - 1) / bs * bs;
            }
            blocks = ", " + Echo.bytes(need) + " in " + bs + "-byte blocks";
            free = ", " + Echo.bytes(store.getUsableSpace()) + " free there";
        } catch (IOException | RuntimeException e) {
            // the figures are a courtesy; the reason stands alone
        }
        return "; it needs " + Echo.bytes(data) + blocks + free;
    }

    /**
     * Tidies what a writer of {@code dir} stopped by SIGKILL or a crash left beside it (the hidden
     * directories of {@link #writeDirectory}): when {@code dir} is missing but a previous version was
     * renamed aside (the stop fell between the two renames), the newest such version is renamed back, as
     * it was complete; then every hidden temporary and renamed-aside directory of {@code dir} is deleted
     * (a symbolic link among them is deleted, never followed). Only for a directory one process owns (a
     * trainer's checkpoint): it would delete a concurrent writer's temporary too.
     *
     * @return true when a previous version was renamed back
     * @throws UncheckedIOException the directory could not be listed, renamed or deleted
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
            throw new UncheckedIOException("cannot recover " + Echo.path(target) + ": " + FileErrors.describe(e), e);
        }
    }

    /** Puts a directory renamed aside back when the new one is not in place, and drops the temporary. */
    private static void undo(Path target, Path old, Path tmp, boolean movedAside) {
        if (movedAside && !Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
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
            throw new IllegalArgumentException("path " + Echo.path(target)
                    + " has no parent directory; expected a file or directory path");
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

    /** Renames atomically where the file system can, else moves with the same {@code options}. */
    private static void move(Path from, Path to, CopyOption... options) throws IOException {
        CopyOption[] atomic = Arrays.copyOf(options, options.length + 1);
        atomic[options.length] = StandardCopyOption.ATOMIC_MOVE;
        try {
            Files.move(from, to, atomic);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, options);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            deleteTree(p);
        } catch (IOException ignored) {
            // best effort: a stray hidden temporary is harmless, and recoverDirectory removes it
        }
    }

    /** Deletes a file or a directory tree; a symbolic link is deleted, never followed. */
    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
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
