package dev.nola.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SavedNola;
import dev.nola.io.InputFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.ModelSpec;

/**
 * The adapters directory, read lazily: an adapter is found by name ({@link AdapterNames}) when a
 * request first asks for it, read by the CLI's strict readers and checked against the base's sites,
 * and kept at rest — a NOLA adapter's seed, stream ids and coefficients on the host; a LoRA adapter's
 * directory, whose factors are read when mixed. A directory that appears later is found by the first
 * request that names it (no restart); one whose files change is read again. Thread-safe.
 */
final class AdapterStore {

    /** What the kind of an adapter directory is. */
    enum Kind { NOLA, LORA }

    /**
     * An adapter known and checked, at rest.
     *
     * @param name        the request's model name (the directory's name)
     * @param dir         its real directory
     * @param kind        NOLA or LoRA
     * @param saved       a NOLA adapter's coefficients and streams; null for LoRA
     * @param bytesAtRest what the server holds for it while not mixed: NOLA its coefficients (4 bytes each);
     *                    LoRA its factors' file bytes (read again when mixed)
     * @param bytesMixed  its factors A and B on the device when mixed (4 bytes per number)
     * @param stamp       the files' modification times when read
     */
    record AtRest(String name, Path dir, Kind kind, SavedNola saved, long bytesAtRest, long bytesMixed, List<FileTime> stamp) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path root;
    private final ModelSpec spec;
    private final Map<String, AtRest> known = new ConcurrentHashMap<>();

    /** @param root the adapters directory (must exist) */
    AdapterStore(Path root, ModelSpec spec) {
        InputFiles.requireDirectory(root, "the adapters directory (one adapter directory per model name)");
        try {
            this.root = root.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("--adapters " + root + " cannot be resolved: " + e.getMessage());
        }
        this.spec = spec;
    }

    /** The adapters directory (its real path). */
    Path root() {
        return root;
    }

    /**
     * The adapter named {@code name}, read and checked on first use (and again when its files changed).
     *
     * @throws ApiError 404 when there is no such adapter directory; 400 when it is not a valid adapter for this base
     */
    AtRest find(String name) {
        Path dir = AdapterNames.resolve(root, name);
        if (dir == null) {
            known.remove(name == null ? "" : name);
            throw ApiError.unknownModel(name, "the model " + quote(name) + " does not exist; expected the base's name or an adapter"
                    + " directory's name under the adapters directory (GET /v1/models lists them)");
        }
        List<FileTime> stamp = stamp(dir);
        AtRest a = known.get(name);
        if (a != null && a.stamp().equals(stamp) && a.dir().equals(dir)) {
            return a;
        }
        try {
            a = read(name, dir, stamp);
        } catch (ApiError e) {
            throw e;
        } catch (RuntimeException e) {
            throw ApiError.badRequest("model", "adapter " + quote(name) + " cannot be used: " + e.getMessage());
        }
        known.put(name, a);
        return a;
    }

    /** The names of the adapter directories now under the root (each holding an adapter_config.json), sorted. */
    List<String> names() {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (AdapterNames.resolve(root, n) != null
                        && Files.isRegularFile(p.resolve(NolaAdapterFiles.CONFIG_FILE), LinkOption.NOFOLLOW_LINKS)) {
                    out.add(n);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        out.sort(null);
        return out;
    }

    /** The adapter if it has been read (for reporting its sizes), else null. */
    AtRest peek(String name) {
        return known.get(name);
    }

    private static List<FileTime> stamp(Path dir) {
        List<FileTime> t = new ArrayList<>();
        for (String f : List.of(NolaAdapterFiles.CONFIG_FILE, NolaAdapterFiles.WEIGHTS_FILE)) {
            try {
                t.add(Files.readAttributes(dir.resolve(f), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).lastModifiedTime());
            } catch (IOException e) {
                t.add(FileTime.fromMillis(-1));
            }
        }
        return t;
    }

    private AtRest read(String name, Path dir, List<FileTime> stamp) {
        Path config = dir.resolve(NolaAdapterFiles.CONFIG_FILE);
        Path weights = dir.resolve(NolaAdapterFiles.WEIGHTS_FILE);
        for (Path f : List.of(config, weights)) {
            InputFiles.requireInside(dir, f, "the adapter directory");
            InputFiles.requireRegularFile(f);
        }
        JsonNode c;
        try {
            c = JSON.readTree(InputFiles.readAll(config, NolaAdapterFiles.MAX_CONFIG_BYTES, 4));
        } catch (IOException e) {
            throw new IllegalArgumentException(config.getFileName() + " is not valid JSON");
        }
        Map<String, AdapterSite> sites = spec.sites();
        if ("LORA".equals(c.path("peft_type").asText())) {
            long fileBytes;
            try {
                fileBytes = Files.size(weights);
            } catch (IOException e) {
                throw new IllegalArgumentException(weights.getFileName() + " cannot be read");
            }
            // the factors' shapes are checked against the sites when they are read onto the device
            return new AtRest(name, dir, Kind.LORA, null, fileBytes, fileBytes, stamp);
        }
        SavedNola saved = NolaAdapterFiles.load(dir);
        long rest = 0;
        long mixed = 0;
        int r = saved.config().rank();
        for (SavedNola.Layer l : saved.layers()) {
            AdapterSite s = sites.get(l.name());
            if (s == null) {
                throw new IllegalArgumentException("layer " + quote(l.name()) + " is no adapter site of this " + spec.layers()
                        + "-layer " + spec.architecture() + "; expected names like " + sites.keySet().iterator().next());
            }
            saved.requireShape(l.name(), s.in(), s.out());
            rest += 4L * (l.alpha().length + l.beta().length);
            mixed += 4L * ((long) r * l.in() + (long) l.out() * r);
        }
        return new AtRest(name, dir, Kind.NOLA, saved, rest, mixed, stamp);
    }

    static String quote(String s) {
        return s == null ? "null" : dev.nola.io.Echo.quote(s);
    }
}
