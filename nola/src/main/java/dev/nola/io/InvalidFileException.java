package dev.nola.io;

/**
 * A file that cannot be read as what it claims to be: truncated, inconsistent, out of bounds, or from
 * an unsupported version. The message names the file (when known), the field and what was expected.
 */
public class InvalidFileException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** An invalid file; {@code message} is one line naming the file, the field and what was expected. */
    public InvalidFileException(String message) {
        super(message);
    }

    /** As {@link #InvalidFileException(String)}, with the failure that revealed it (a parser's, an I/O one). */
    public InvalidFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
