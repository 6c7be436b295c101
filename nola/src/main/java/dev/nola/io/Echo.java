package dev.nola.io;

import java.nio.file.Path;

/**
 * How a value read from a file or an argument appears in a message: on one line, with control and
 * bidirectional-formatting characters escaped ({@code \n}, {@code \t}, {@code \r}, {@code \\},
 * otherwise {@code \}{@code uXXXX}), and shortened. A message built from these parts can always be
 * printed as the single line the CLI promises, and a hostile name cannot forge a second line or
 * reorder what the terminal shows.
 */
public final class Echo {

    /** The most characters of a value shown; longer values end in "…(N chars)". */
    public static final int MAX_VALUE_CHARS = 64;
    /** Paths are the user's own and shown longer before they are shortened. */
    public static final int MAX_PATH_CHARS = 400;

    private Echo() {
    }

    /** A value in single quotes, escaped and shortened; {@code ''} reads "'' (empty)". */
    public static String quote(String value) {
        if (value == null) {
            return "(none)";
        }
        return value.isEmpty() ? "'' (empty)" : "'" + shorten(value, MAX_VALUE_CHARS, true) + "'";
    }

    /** A value without quotes (a JSON snippet, a number as written), escaped and shortened. */
    public static String value(String value) {
        return value == null ? "(none)" : shorten(value, MAX_VALUE_CHARS, true);
    }

    /** A path as the user gave it, escaped; an empty path reads "'' (empty)". */
    public static String path(Path path) {
        String s = path.toString();
        return s.isEmpty() ? "'' (empty)" : shorten(s, MAX_PATH_CHARS, true);
    }

    /**
     * A whole message made safe for one line: control characters escaped (backslashes are left
     * alone, the parts were escaped already), not shortened.
     */
    public static String line(String message) {
        return message == null ? "(no detail)" : shorten(message, Integer.MAX_VALUE, false);
    }

    /** A 64-bit count read from a file, which the format defines as unsigned. */
    public static String unsigned(long value) {
        return Long.toUnsignedString(value);
    }

    /** A byte count as "N bytes (1.5 GiB)"; {@link Long#MAX_VALUE} stands for "more than a long holds". */
    public static String bytes(long n) {
        if (n == Long.MAX_VALUE) {
            return "more than " + Long.MAX_VALUE + " bytes";
        }
        if (n < 1024) {
            return n + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return n + " bytes (" + String.format(java.util.Locale.ROOT, "%.1f", v) + " " + units[u] + ")";
    }

    private static String shorten(String s, int max, boolean escapeBackslash) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), max) + 16);
        int i = 0;
        while (i < s.length()) {
            if (sb.length() >= max) {
                return sb.append("…(").append(s.length()).append(" chars)").toString();
            }
            int cp = s.codePointAt(i);
            if (cp == '\\' && !escapeBackslash) {
                sb.append('\\');
            } else {
                escape(cp, sb);
            }
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    private static void escape(int cp, StringBuilder sb) {
        switch (cp) {
            case '\n' -> sb.append("\\n");
            case '\r' -> sb.append("\\r");
            case '\t' -> sb.append("\\t");
            case '\\' -> sb.append("\\\\");
            default -> {
                if (unsafe(cp)) {
                    sb.append(String.format("\\u%04X", cp));
                } else {
                    sb.appendCodePoint(cp);
                }
            }
        }
    }

    /**
     * Whether {@code cp} is escaped in messages: control characters (C0, DEL, C1), line and paragraph
     * separators, bidirectional controls, lone surrogates and the byte-order mark.
     */
    public static boolean unsafe(int cp) {
        return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029
                || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F
                || cp == 0x061C || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFEFF;
    }
}
