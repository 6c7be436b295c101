package dev.nola.models.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Turns I/O failures into words for one-line messages (no class names). */
public final class FileErrors {

    private FileErrors() {
    }

    /** A short description of why an I/O operation failed. */
    public static String describe(IOException e) {
        String what = e.getMessage() == null ? "" : e.getMessage();
        return switch (e) {
            case NoSuchFileException n -> "no such file or directory" + at(n.getFile(), n.getOtherFile());
            case AccessDeniedException a -> "permission denied" + at(a.getFile(), null);
            case FileAlreadyExistsException f -> "already exists" + at(f.getFile(), null);
            case DirectoryNotEmptyException d -> "directory not empty" + at(d.getFile(), null);
            case NotDirectoryException d -> "not a directory" + at(d.getFile(), null);
            default -> what.isEmpty() ? "input/output error" : firstLine(what);
        };
    }

    private static String at(String file, String other) {
        if (file == null) {
            return "";
        }
        return " (" + file + (other == null ? "" : " → " + other) + ")";
    }

    private static String firstLine(String s) {
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
