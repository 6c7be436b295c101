package dev.nola.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The one way an untrusted input path is examined and opened. Before anything is opened the path's
 * {@link Kind} is found, so a FIFO is never opened (which would block until a writer comes), and a
 * path that is not what was expected is described as what it is: missing, a directory, a FIFO, a
 * socket, a device, a symbolic link loop or a link to nothing, or not examinable (permission denied).
 * I/O failures are described in words ({@link FileErrors#describe}), never by exception class.
 */
public final class InputFiles {

    /** What is at a path (symbolic links followed). */
    public enum Kind {
        MISSING("does not exist"),
        REGULAR_FILE("is a regular file"),
        DIRECTORY("is a directory"),
        FIFO("is a FIFO (named pipe)"),
        SOCKET("is a socket"),
        CHARACTER_DEVICE("is a character device"),
        BLOCK_DEVICE("is a block device"),
        SYMLINK_LOOP("is a symbolic link loop"),
        BROKEN_SYMLINK("is a symbolic link to a path that does not exist"),
        NOT_A_DIRECTORY_ON_THE_WAY("does not exist (a component of the path is not a directory)"),
        PERMISSION_DENIED("cannot be examined: permission denied"),
        OTHER("is not a regular file or a directory");

        private final String phrase;

        Kind(String phrase) {
            this.phrase = phrase;
        }

        /** A phrase completing "PATH …", e.g. "is a FIFO (named pipe)". */
        public String phrase() {
            return phrase;
        }
    }

    /** The largest file held in one byte array: 2³¹ − 9 bytes (the JVM's limit on an array's length). */
    public static final long MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8;

    private InputFiles() {
    }

    /** What is at {@code path}; never throws for a path that cannot be examined. */
    public static Kind kind(Path path) {
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            if (a.isRegularFile()) {
                return Kind.REGULAR_FILE;
            }
            if (a.isDirectory()) {
                return Kind.DIRECTORY;
            }
            return special(path);
        } catch (NoSuchFileException e) {
            if (Files.isSymbolicLink(path)) {
                return Kind.BROKEN_SYMLINK;
            }
            return blockedByAFile(path) ? Kind.NOT_A_DIRECTORY_ON_THE_WAY : Kind.MISSING;
        } catch (AccessDeniedException e) {
            return Kind.PERMISSION_DENIED;
        } catch (NotDirectoryException e) {
            return Kind.NOT_A_DIRECTORY_ON_THE_WAY;
        } catch (FileSystemException e) {
            String reason = String.valueOf(e.getReason()).toLowerCase(java.util.Locale.ROOT);
            if (reason.contains("symbolic link")) {
                return Kind.SYMLINK_LOOP;
            }
            return reason.contains("not a directory") ? Kind.NOT_A_DIRECTORY_ON_THE_WAY : Kind.OTHER;
        } catch (IOException | SecurityException e) {
            return Kind.OTHER;
        }
    }

    /** Whether the nearest existing ancestor of a missing path is something other than a directory. */
    private static boolean blockedByAFile(Path path) {
        for (Path a = path.toAbsolutePath().getParent(); a != null; a = a.getParent()) {
            if (Files.exists(a)) {
                return !Files.isDirectory(a);
            }
        }
        return false;
    }

    /** FIFO, socket or device by the file type bits of {@code st_mode}, where the platform shows them. */
    private static Kind special(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return switch (mode & 0170000) {
                case 0010000 -> Kind.FIFO;
                case 0140000 -> Kind.SOCKET;
                case 0020000 -> Kind.CHARACTER_DEVICE;
                case 0060000 -> Kind.BLOCK_DEVICE;
                default -> Kind.OTHER;
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return Kind.OTHER;
        }
    }

    /**
     * Refuses unless {@code dir} is a directory (links followed).
     *
     * @param expected what it should be, for the message, e.g. "an adapter directory"
     * @throws InvalidFileException "PATH is a FIFO (named pipe); expected an adapter directory"
     */
    public static Path requireDirectory(Path dir, String expected) {
        return require(dir, Kind.DIRECTORY, expected);
    }

    /**
     * Refuses unless {@code file} is a regular file (links followed).
     *
     * @throws InvalidFileException "PATH is a directory; expected a regular file"
     */
    public static Path requireRegularFile(Path file) {
        return require(file, Kind.REGULAR_FILE, "a regular file");
    }

    /**
     * Refuses a file of {@code dir} that is a symbolic link leading outside it (nothing outside a model
     * or adapter directory is read: a link to {@code ../x} or {@code /x} is a way to read another file).
     * A link inside, as a snapshot's files may be, is followed; a file that is no link passes.
     *
     * @param what how the message names {@code dir}, e.g. "the model directory"
     * @throws InvalidFileException "FILE: a symbolic link to TARGET, outside the model directory DIR; …"
     */
    public static void requireInside(Path dir, Path file, String what) {
        if (!Files.isSymbolicLink(file)) {
            return;
        }
        Path real;
        Path root;
        try {
            real = file.toRealPath();
            root = dir.toRealPath();
        } catch (IOException e) {
            throw new InvalidFileException(file + ": a symbolic link that cannot be followed (" + FileErrors.describe(e)
                    + "); expected a file inside " + dir);
        }
        if (!real.startsWith(root)) {
            String target;
            try {
                target = Files.readSymbolicLink(file).toString();
            } catch (IOException | UnsupportedOperationException e) {
                target = real.toString();
            }
            throw new InvalidFileException(file + ": a symbolic link to " + Echo.value(target) + ", outside " + what + " "
                    + dir + "; expected the file itself, or a link inside the directory");
        }
    }

    private static Path require(Path p, Kind wanted, String expected) {
        if (p.toString().isEmpty()) {
            throw new InvalidFileException("the path is empty; expected " + expected);
        }
        Kind k = kind(p);
        if (k != wanted) {
            throw new InvalidFileException(Echo.path(p) + " " + k.phrase() + "; expected " + expected);
        }
        return p;
    }

    /**
     * Opens a regular file for reading, after {@link #requireRegularFile}: a FIFO, socket or device is
     * refused before it is opened.
     *
     * @throws InvalidFileException not a regular file, or it cannot be opened (the reason in words)
     */
    public static FileChannel open(Path file) {
        requireRegularFile(file);
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new InvalidFileException("cannot open " + Echo.path(file) + ": " + FileErrors.describe(e), e);
        }
    }

    /**
     * Reads a whole regular file of at most {@code maxBytes} bytes (and at most
     * {@link #MAX_ARRAY_BYTES}), for a caller that keeps only the bytes: {@code readAll(file, maxBytes, 1)}.
     */
    public static byte[] readAll(Path file, long maxBytes) {
        return readAll(file, maxBytes, 1);
    }

    /**
     * Reads a whole regular file. Guarantees, in order: the path is a regular file (links followed;
     * a FIFO is never opened); its size is at most {@code maxBytes} and {@link #MAX_ARRAY_BYTES},
     * checked on the file's size before anything is allocated; the heap can hold
     * {@code size · heapPerByte} bytes ({@link SizeBudget#requireHeap}); and the bytes returned are the
     * whole file: one that shrinks or grows while it is read is refused.
     *
     * @param heapPerByte the heap needed per byte read, counting what the caller builds from it
     *                    (e.g. a parsed JSON tree, {@link UntrustedJson#HEAP_PER_BYTE}); at least 1
     * @throws InvalidFileException the path is not a regular file, is too large, or changed size
     * @throws TooLargeException the heap cannot hold it
     * @throws UncheckedIOException the file could not be read (the reason in words)
     */
    public static byte[] readAll(Path file, long maxBytes, long heapPerByte) {
        long limit = Math.min(maxBytes, MAX_ARRAY_BYTES);
        try (FileChannel ch = open(file)) {
            long size = ch.size();
            if (size > limit) {
                throw new InvalidFileException(Echo.path(file) + " is " + Echo.bytes(size) + ", above the limit of "
                        + Echo.bytes(limit) + " for this kind of file");
            }
            SizeBudget.requireHeap(Echo.path(file), "reading it", SizeBudget.times(size, Math.max(1, heapPerByte)));
            ByteBuffer b = ByteBuffer.allocate((int) size);
            while (b.hasRemaining()) {
                if (ch.read(b) < 0) {
                    throw new InvalidFileException(Echo.path(file) + " became shorter while it was read (now "
                            + b.position() + " of " + size + " bytes)");
                }
            }
            if (ch.read(ByteBuffer.allocate(1)) > 0) {
                throw new InvalidFileException(Echo.path(file) + " grew while it was read (it was " + size + " bytes)");
            }
            return b.array();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + Echo.path(file) + ": " + FileErrors.describe(e), e);
        }
    }
}
