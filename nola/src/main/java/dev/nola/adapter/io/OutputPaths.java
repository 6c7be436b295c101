package dev.nola.adapter.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The rule every command that writes follows before it writes: the output is not an input, does not
 * lie inside one and does not contain one. Paths are compared after resolving symbolic links (the
 * output's longest existing prefix is resolved, the rest appended) and, where both exist, by file
 * identity, so {@code DIR/.}, {@code ../x/DIR}, a link to DIR and a bind mount of DIR are all DIR.
 * What happens to an existing output is {@link AtomicDirectory}'s rule.
 */
public final class OutputPaths {

    private OutputPaths() {
    }

    /**
     * Refuses an output that would overwrite, or be written into, an input.
     *
     * @param outRole the output's name on the command line, e.g. "OUT"
     * @param inputs  the command's inputs; ones that do not exist are skipped (their reader reports them)
     * @throws IllegalArgumentException "OUT /a/b lies inside the input /a; …"
     */
    public static void requireApart(String outRole, Path out, Path... inputs) {
        if (out.toString().isEmpty()) {
            throw new IllegalArgumentException(outRole + " is empty; expected a directory to write");
        }
        Path o = resolve(out);
        for (Path in : inputs) {
            if (!Files.exists(in)) {
                continue;
            }
            Path i = resolve(in);
            String relation = null;
            if (same(o, i)) {
                relation = "is the input " + Echo.path(in);
            } else if (within(o, i)) {
                relation = "lies inside the input " + Echo.path(in);
            } else if (within(i, o)) {
                relation = "contains the input " + Echo.path(in);
            }
            if (relation != null) {
                throw new IllegalArgumentException(outRole + " " + Echo.path(out) + " " + relation
                        + "; writing there could destroy it. Choose an output outside every input");
            }
        }
    }

    /** The real path of the longest existing prefix of {@code p}, with the rest appended. */
    static Path resolve(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException e) {
            return abs;
        }
    }

    private static boolean same(Path a, Path b) {
        if (a.equals(b)) {
            return true;
        }
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /** Whether {@code p} is strictly below {@code dir}: some ancestor of p is dir. */
    private static boolean within(Path p, Path dir) {
        for (Path a = p.getParent(); a != null; a = a.getParent()) {
            if (same(a, dir)) {
                return true;
            }
        }
        return false;
    }
}
