package dev.nola.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The rule every command that writes follows before it writes: the output is not an input, does not
 * lie inside one and does not contain one. Paths are compared after resolving symbolic links (the
 * output's longest existing prefix is resolved, the rest appended) and, where both exist, by file
 * identity, so {@code DIR/.}, {@code ../x/DIR}, a link to DIR and a bind mount of DIR are all DIR.
 * And an existing output is replaced (atomically, by {@link AtomicFiles#writeDirectory}) only when it is a
 * previous output of the same kind ({@link #requireReplaceable}).
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

    /**
     * What a command writes, so that an existing directory can be recognised as a previous output of
     * the same command: the file names, and a test on an existing directory holding only those.
     *
     * @param what       the kind in words, e.g. "a PEFT LoRA adapter"
     * @param files      the names of the files written
     * @param recognizes whether a directory holding only those files is one of this kind (its
     *                   config says so); never throws
     */
    public record Kind(String what, Set<String> files, Predicate<Path> recognizes) {
    }

    /**
     * Refuses a target that exists and is not a previous output of this kind: what may be replaced is
     * nothing, an empty directory, or a directory holding nothing but regular files named in
     * {@code kind.files()} that {@code kind} recognises. A file, a symbolic link, a FIFO, a directory
     * with other entries, an output of another kind (a NOLA adapter where a PEFT export goes), or a
     * path below a file is refused, naming what is there.
     *
     * @throws IllegalArgumentException "target OUT exists and holds 'notes.txt', which this command does not write; …"
     */
    public static void requireReplaceable(Path target, Kind kind) {
        Path abs = target.toAbsolutePath().normalize();
        String t = "target " + Echo.path(target);
        if (Files.isSymbolicLink(abs)) {
            throw new IllegalArgumentException(t + " is a symbolic link; give the directory itself (a link is not replaced)");
        }
        InputFiles.Kind there = InputFiles.kind(abs);
        if (there == InputFiles.Kind.MISSING) {
            return;
        }
        if (there == InputFiles.Kind.NOT_A_DIRECTORY_ON_THE_WAY) {
            throw new IllegalArgumentException(t + " cannot be created: a component of its path is not a directory");
        }
        if (there != InputFiles.Kind.DIRECTORY) {
            throw new IllegalArgumentException(t + " exists and " + there.phrase() + "; only a directory holding "
                    + kind.what() + " is replaced");
        }
        boolean empty = true;
        try (Stream<Path> s = Files.list(abs)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                empty = false;
                if (!kind.files().contains(name) || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new IllegalArgumentException(t + " exists and holds " + Echo.quote(name) + ", which this "
                            + "command does not write; it replaces only an empty directory or one holding "
                            + kind.what() + " (" + new TreeSet<>(kind.files()) + "). Choose another path");
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(t + " cannot be listed: " + FileErrors.describe(e), e);
        }
        if (!empty && !kind.recognizes().test(abs)) {
            throw new IllegalArgumentException(t + " exists and does not hold " + kind.what() + "; it is replaced only "
                    + "when it does. Choose another path");
        }
    }

    /**
     * Whether {@code dir}'s {@code configFile} is a JSON object whose {@code field} is {@code value}:
     * how a kind recognises its own outputs. Never throws; an unreadable config is not recognised.
     */
    public static boolean configSays(Path dir, String configFile, String field, String value) {
        try {
            byte[] json = InputFiles.readAll(dir.resolve(configFile), 1 << 20, UntrustedJson.HEAP_PER_BYTE);
            JsonNode n = UntrustedJson.parse(json, configFile).get(field);
            return n != null && n.isTextual() && n.textValue().equals(value);
        } catch (RuntimeException e) {
            return false;
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
