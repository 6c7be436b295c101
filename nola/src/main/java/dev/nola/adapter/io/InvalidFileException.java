package dev.nola.adapter.io;

/**
 * A file that cannot be read as what it claims to be: truncated, inconsistent, out of bounds, or from
 * an unsupported version. The message names the file (when known), the field and what was expected.
 */
public class InvalidFileException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public InvalidFileException(String message) {
        super(message);
    }

    public InvalidFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
