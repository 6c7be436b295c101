package dev.nola.io;

/**
 * A file (or an argument) asks for more memory than the device or the Java heap can give: the file may
 * be well formed, but what it describes does not fit here. Raised before anything is allocated; the
 * message names the file, the tensor or field, the bytes needed and the limit.
 */
public class TooLargeException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** A refusal; {@code message} is one line naming the file, the allocation, the bytes and the limit. */
    public TooLargeException(String message) {
        super(message);
    }
}
