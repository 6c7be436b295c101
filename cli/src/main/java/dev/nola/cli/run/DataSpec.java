package dev.nola.cli.run;

import dev.nola.io.Echo;
import dev.nola.models.image.ImageSet;
import dev.nola.models.text.TextDataset;
import dev.nola.models.text.TokenWindows;
import dev.nola.models.text.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * What {@code --data} holds and how to read it: plain text, JSONL with a "text" field, JSONL
 * prompt/completion records (only the completion is learned), a fortunes file or directory, or a
 * directory of IDX image files in Fashion-MNIST's names ({@code train-images-idx3-ubyte[.gz]}, …).
 *
 * @param path    the file or directory
 * @param format  auto, text, jsonl, prompt-completion, fortunes or idx
 * @param heldOut at most this many held-out windows or test images are evaluated (0: all)
 */
public record DataSpec(Path path, String format, int heldOut) {

    /** The formats accepted by {@code --format}. */
    public static final java.util.List<String> FORMATS = java.util.List.of("auto", "text", "jsonl", "prompt-completion",
            "fortunes", "idx");

    public DataSpec {
        if (!FORMATS.contains(format)) {
            throw new IllegalArgumentException("--format " + Echo.quote(format) + " is not a format; expected one of "
                    + String.join(", ", FORMATS));
        }
        if (heldOut < 0) {
            throw new IllegalArgumentException("--held-out is " + heldOut + "; expected >= 0 (0 for all)");
        }
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("--data " + Echo.path(path) + " is missing; expected a text, JSONL or fortunes"
                    + " file, or a directory of IDX images");
        }
    }

    /**
     * A SHA-256 of the data, recorded in the trainer's checkpoints so a resumed run notices data that changed
     * under it: of the file's bytes, or, for a directory, of each regular file in it (sorted by name) as its
     * name, its length and its bytes. Read in 1 MiB blocks, never whole.
     */
    public String sha256() {
        java.security.MessageDigest md;
        try {
            md = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
        try {
            if (Files.isDirectory(path)) {
                java.util.List<Path> files;
                try (var s = Files.list(path)) {
                    files = s.filter(Files::isRegularFile).sorted().toList();
                }
                for (Path f : files) {
                    byte[] name = f.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    md.update(java.nio.ByteBuffer.allocate(8).putLong(name.length).array());
                    md.update(name);
                    md.update(java.nio.ByteBuffer.allocate(8).putLong(Files.size(f)).array());
                    digest(f, md);
                }
            } else {
                digest(path, md);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("--data " + Echo.path(path) + " cannot be read: " + e.getMessage(), e);
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    private static void digest(Path f, java.security.MessageDigest md) throws java.io.IOException {
        try (var in = Files.newInputStream(f)) {
            byte[] b = new byte[1 << 20];
            for (int n; (n = in.read(b)) > 0; ) {
                md.update(b, 0, n);
            }
        }
    }

    /** The format, with auto resolved: a directory of IDX files, *.jsonl (prompt/completion when its first record has a prompt), else text. */
    public String resolvedFormat() {
        if (!format.equals("auto")) {
            return format;
        }
        if (Files.isDirectory(path)) {
            try (var s = Files.list(path)) {
                if (s.anyMatch(p -> p.getFileName().toString().contains("-idx"))) {
                    return "idx";
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("cannot list " + path + ": " + e.getMessage(), e);
            }
            return "fortunes";
        }
        if (path.getFileName().toString().endsWith(".jsonl")) {
            try (var lines = Files.lines(path)) {
                String first = lines.filter(l -> !l.isBlank()).findFirst().orElse("");
                return first.contains("\"prompt\"") ? "prompt-completion" : "jsonl";
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                return "jsonl";
            }
        }
        return "text";
    }

    /** Whether the data is images. */
    public boolean images() {
        return resolvedFormat().equals("idx");
    }

    /**
     * The text as token windows of {@code length} tokens (prompt/completion: one record per window),
     * tokenized by the model's tokenizer.
     */
    public TokenWindows windows(int length, Tokenizer tokenizer) {
        return switch (resolvedFormat()) {
            case "text" -> TextDataset.plainText(path, tokenizer).packedWindows(length);
            case "jsonl" -> TextDataset.jsonlText(path, tokenizer).packedWindows(length);
            case "prompt-completion" -> TextDataset.promptCompletion(path, tokenizer).exampleWindows(length);
            case "fortunes" -> TextDataset.fortunes(path, tokenizer).packedWindows(length);
            default -> throw new IllegalArgumentException("--data " + Echo.path(path) + " holds images (" + resolvedFormat()
                    + "); a language model needs text (--format text, jsonl, prompt-completion or fortunes)");
        };
    }

    /** The first {@code heldOut} windows of a held-out split (all when heldOut is 0). */
    public TokenWindows limit(TokenWindows w) {
        if (heldOut == 0 || heldOut >= w.size()) {
            return w;
        }
        int[] idx = new int[heldOut];
        Arrays.setAll(idx, i -> i);
        return w.select(idx);
    }

    /** The training or test images of the given classes (all when classes is empty), labels renumbered from 0. */
    public ImageSet images(boolean train, int[] classes) {
        if (!images()) {
            throw new IllegalArgumentException("--data " + Echo.path(path) + " holds text (" + resolvedFormat()
                    + "); a ViT needs a directory of IDX images (--format idx)");
        }
        ImageSet s = ImageSet.fashionMnist(path, train);
        if (classes.length > 0) {
            s = s.filterClasses(classes).renumberClasses(classes);
        }
        if (!train && heldOut > 0 && heldOut < s.size()) {
            int[] idx = new int[heldOut];
            // a spread over the test set, not its first images, which may be one class
            for (int i = 0; i < heldOut; i++) {
                idx[i] = (int) ((long) i * s.size() / heldOut);
            }
            s = s.select(idx);
        }
        return s;
    }

    /** Classes from "5-9", "5,6,7" or "" (all). */
    public static int[] parseClasses(String spec) {
        if (spec == null || spec.isBlank()) {
            return new int[0];
        }
        try {
            if (spec.matches("\\d+-\\d+")) {
                int a = Integer.parseInt(spec.substring(0, spec.indexOf('-')));
                int b = Integer.parseInt(spec.substring(spec.indexOf('-') + 1));
                if (a > b) {
                    throw new NumberFormatException();
                }
                int[] c = new int[b - a + 1];
                Arrays.setAll(c, i -> a + i);
                return c;
            }
            return Arrays.stream(spec.split(",")).mapToInt(s -> Integer.parseInt(s.strip())).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--classes " + Echo.quote(spec) + " is not a class list; expected e.g. 5-9 or 0,2,4");
        }
    }
}
