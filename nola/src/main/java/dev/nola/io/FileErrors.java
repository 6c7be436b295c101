package dev.nola.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * I/O failures in words, for one-line messages: never an exception's class name, always one line
 * (control characters escaped by {@link Echo#line}). The caller's message names the path it was
 * working on, e.g. {@code "cannot write " + Echo.path(p) + ": " + FileErrors.describe(e)}.
 */
public final class FileErrors {

    private FileErrors() {
    }

    /**
     * Why an I/O operation failed: "permission denied", "does not exist", "PATH is in the way (it
     * already exists)", "directory not empty", "a component of the path is not a directory", else the
     * system's reason ("No space left on device") or the exception's first line; "input/output error"
     * when there is none. Never null, never more than one line.
     */
    public static String describe(IOException e) {
        return switch (e) {
            case AccessDeniedException a -> "permission denied";
            case NoSuchFileException n -> "does not exist";
            case FileAlreadyExistsException f -> Echo.line(f.getMessage()) + " is in the way (it already exists)";
            case DirectoryNotEmptyException d -> "directory not empty";
            case NotDirectoryException d -> "a component of the path is not a directory";
            case FileSystemException f when f.getReason() != null -> Echo.line(firstLine(f.getReason()));
            default -> e.getMessage() == null || e.getMessage().isBlank() ? "input/output error"
                    : Echo.line(firstLine(e.getMessage()));
        };
    }

    private static String firstLine(String s) {
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
