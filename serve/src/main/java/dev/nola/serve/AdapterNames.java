package dev.nola.serve;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Maps a request's {@code model} field to an adapter directory, so that nothing a request sends can
 * reach a path outside the adapters directory: a name is one path segment of letters, digits, '.', '_'
 * and '-' (no separator, never "." or "..", at most 128 characters), the entry must be a real
 * directory (a symbolic link is refused, even one that points inside), and its real path must lie
 * directly under the adapters directory's.
 */
final class AdapterNames {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

    private AdapterNames() {
    }

    /** Whether {@code name} has the shape of an adapter name. */
    static boolean valid(String name) {
        return name != null && NAME.matcher(name).matches() && !name.contains("..");
    }

    /**
     * The directory of adapter {@code name} inside {@code root} (a real path), or null when there is
     * none (no such entry, not a directory, a link, or a name of the wrong shape).
     */
    static Path resolve(Path root, String name) {
        if (!valid(name)) {
            return null;
        }
        Path dir = root.resolve(name);
        if (!dir.getParent().equals(root) || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        try {
            Path real = dir.toRealPath();
            return real.getParent().equals(root) ? real : null;
        } catch (IOException e) {
            return null;
        }
    }
}
