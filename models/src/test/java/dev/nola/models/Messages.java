package dev.nola.models;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.function.Executable;

/** Test helper: the message of the exception an action throws, checked to be one line without class names. */
public final class Messages {

    private Messages() {
    }

    /** Runs {@code action}, expects a runtime exception and returns its message after the style checks. */
    public static String of(Executable action) {
        RuntimeException e = assertThrows(RuntimeException.class, action);
        String m = e.getMessage();
        assertFalse(m == null || m.isBlank(), "no message");
        assertFalse(m.contains("\n"), "more than one line: " + m);
        assertFalse(m.matches(".*\\b(java|javax|com|dev)\\.[a-z]+\\.[A-Za-z.]*.*"), "a class name: " + m);
        assertFalse(m.contains("Exception"), "a class name: " + m);
        return m;
    }
}
