package dev.nola.adapter.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Writes a directory of files so that readers see either the previous directory or the new one,
 * never a half-written mix: the files go into a temporary directory beside the target (each forced to
 * disk), which is then renamed into place. An existing target is first renamed aside, and renamed
 * back when the final rename fails; it is deleted only after the new directory is in place.
 *
 * <p>What may be replaced is {@link OutputPaths#requireReplaceable}'s rule, checked again here before
 * anything is written, so a mistyped target never deletes a user's directory.
 */
final class AtomicDirectory {

    /** A hook called between stages, so tests can inject a failure half-way. */
    interface Stage {
        void reached(String stage) throws IOException;
    }

    static final Stage NONE = s -> { };

    private AtomicDirectory() {
    }

    /**
     * Replaces {@code target} with a directory holding exactly {@code files} (name → bytes), which must
     * be {@code kind.files()}.
     */
    static void write(Path target, OutputPaths.Kind kind, Map<String, byte[]> files, Stage stage) {
        if (!kind.files().equals(files.keySet())) {
            throw new IllegalArgumentException("files " + files.keySet() + " are not the files of " + kind.what() + ", "
                    + kind.files());
        }
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent == null) {
            throw new IllegalArgumentException("target " + Echo.path(target) + " has no parent directory");
        }
        String base = abs.getFileName().toString();
        Path tmp = parent.resolve("." + base + ".tmp-" + UUID.randomUUID());
        Path old = parent.resolve("." + base + ".old-" + UUID.randomUUID());
        try {
            OutputPaths.requireReplaceable(target, kind);
            Files.createDirectories(parent);
            Files.createDirectory(tmp);
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                writeForced(tmp.resolve(f.getKey()), f.getValue());
                stage.reached("wrote " + f.getKey());
            }
            boolean replacing = Files.exists(abs);
            if (replacing) {
                move(abs, old);
                stage.reached("moved old aside");
                try {
                    move(tmp, abs);
                } catch (IOException | RuntimeException e) {
                    move(old, abs);
                    throw e;
                }
                deleteTree(old);
            } else {
                move(tmp, abs);
            }
        } catch (IOException e) {
            restore(abs, old);
            deleteQuietly(tmp);
            throw new UncheckedIOException("cannot write " + Echo.path(abs) + ": " + InputFiles.describe(e), e);
        } catch (RuntimeException e) {
            restore(abs, old);
            deleteQuietly(tmp);
            throw e;
        }
    }

    private static void restore(Path target, Path old) {
        if (Files.exists(old) && !Files.exists(target)) {
            try {
                move(old, target);
            } catch (IOException ignored) {
                // the original failure is reported; the old directory is still at 'old'
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
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

    private static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException ignored) {
            // best effort: a stray temporary directory is harmless
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
