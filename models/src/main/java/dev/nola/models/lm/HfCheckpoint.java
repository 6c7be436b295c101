package dev.nola.models.lm;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.adapter.io.DType;
import dev.nola.io.InvalidFileException;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.adapter.io.TensorInfo;
import dev.nola.io.AtomicFiles;
import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.UntrustedJson;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.spec.WeightTable;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face causal-LM checkpoint of any architecture nola implements, held as host float32 arrays
 * by the names of its {@link WeightTable}: a directory with {@code config.json} (read by
 * {@link Architectures}) and {@code model.safetensors}, or shards named by
 * {@code model.safetensors.index.json}.
 *
 * <p>Loading accepts keys with or without the architecture's prefixes ({@code transformer.} for GPT-2);
 * skips its buffers (GPT-2's causal masks, rotary tables); accepts a duplicate of a tied head only when
 * it equals the embedding; converts F16 and BF16 to float32 and refuses every other dtype. Every
 * tensor's shape is checked against the table before any data is read. Shards must be plain file
 * names inside the directory. Any problem is one line naming the file and the tensor or field.
 *
 * <p>A loaded checkpoint remembers, per tensor, the dtype it was stored as ({@link #dtype}); one built
 * in memory ({@link #of}, {@link #zeros}) stores F32, and {@link #as} changes the dtype. Keys are
 * written without the architecture's prefix ({@link #storedKey}: GPT-2's {@code transformer.} dropped,
 * which Hugging Face loads either way; LLaMA-family keys have none, so they are written as read).
 * Writing produces one {@code model.safetensors} (each tensor in its dtype under its key, values rounded to nearest even for F16 and BF16,
 * {@code __metadata__} format "pt") or shards and their index ({@link #write(Path, int)}), and
 * {@code config.json}, the directory replaced atomically: a checkpoint read as BF16 shards is written
 * back as BF16 under the same names. The arrays are the checkpoint's own, not copies: a trainer may
 * update them in place and write the checkpoint again.
 */
public final class HfCheckpoint {

    /** The configuration file's name in a checkpoint directory. */
    public static final String CONFIG_FILE = "config.json";
    /** The weights file's name in a checkpoint directory. */
    public static final String WEIGHTS_FILE = "model.safetensors";
    /** The index of a sharded checkpoint. */
    public static final String INDEX_FILE = "model.safetensors.index.json";
    /** The dtypes read (converted to float32); the writer writes F32. */
    public static final Set<DType> READ_DTYPES = Collections.unmodifiableSet(EnumSet.of(DType.F32, DType.F16, DType.BF16));
    /** The largest index file read: 64 MiB. */
    public static final long MAX_INDEX_BYTES = 64L << 20;

    private static final Pattern LAYER_KEY = Pattern.compile("(?:h|model\\.layers)\\.(\\d{1,9})\\..+");

    private final HfConfig config;
    private final WeightTable table;
    private final Map<String, float[]> tensors;
    private final Map<String, DType> dtypes;
    private final Map<String, String> keys;
    private final Path dir;

    private HfCheckpoint(HfConfig config, Map<String, float[]> tensors) {
        this(config, tensors, Map.of(), Map.of(), null);
    }

    private HfCheckpoint(HfConfig config, Map<String, float[]> tensors, Map<String, DType> dtypes, Map<String, String> keys,
                         Path dir) {
        this.dir = dir;
        this.config = config;
        this.table = config.spec().model().weights();
        this.tensors = Collections.unmodifiableMap(tensors);
        Map<String, DType> d = new LinkedHashMap<>();
        Map<String, String> k = new LinkedHashMap<>();
        for (String name : tensors.keySet()) {
            DType t = dtypes.getOrDefault(name, DType.F32);
            if (!READ_DTYPES.contains(t)) {
                throw new IllegalArgumentException("tensor '" + name + "' cannot be stored as " + t + "; expected one of " + READ_DTYPES);
            }
            d.put(name, t);
            k.put(name, keys.getOrDefault(name, name));
        }
        this.dtypes = Collections.unmodifiableMap(d);
        this.keys = Collections.unmodifiableMap(k);
    }

    /**
     * The same arrays (not copies) stored as {@code dtype} (F32, F16 or BF16) under the same keys: what
     * {@link #write} then writes. The in-memory values are not rounded; the file's are.
     */
    public HfCheckpoint as(DType dtype) {
        Map<String, DType> d = new LinkedHashMap<>();
        tensors.keySet().forEach(n -> d.put(n, dtype));
        return new HfCheckpoint(config, new LinkedHashMap<>(tensors), d, keys, dir);
    }

    /** The dtype this tensor was stored as (F32, F16 or BF16), which {@link #write} writes it as. */
    public DType dtype(String name) {
        tensor(name);
        return dtypes.get(name);
    }

    /** The key {@link #write} writes this tensor under: its name without the architecture's prefix. */
    public String storedKey(String name) {
        tensor(name);
        return keys.get(name);
    }

    /** A checkpoint of zeros of this shape (norm gains too), for a trainer to fill in place. */
    public static HfCheckpoint zeros(HfConfig config) {
        Map<String, float[]> t = new LinkedHashMap<>();
        config.spec().model().weights().list().forEach(w -> t.put(w.name(), new float[w.elements()]));
        return new HfCheckpoint(config, t);
    }

    /**
     * A checkpoint over the given arrays (not copied), one per entry of the config's weight table. A
     * missing, extra or wrongly sized array is an error naming it.
     */
    public static HfCheckpoint of(HfConfig config, Map<String, float[]> tensors) {
        WeightTable table = config.spec().model().weights();
        for (String name : tensors.keySet()) {
            if (!table.contains(name)) {
                throw new IllegalArgumentException("tensor " + Echo.quote(name) + " is not part of this "
                        + config.displayName() + "; expected the names of its weight table");
            }
        }
        Map<String, float[]> t = new LinkedHashMap<>();
        for (WeightSpec w : table.list()) {
            float[] v = tensors.get(w.name());
            if (v == null) {
                throw new IllegalArgumentException("tensor '" + w.name() + "' is missing; expected " + Arrays.toString(w.shape()));
            }
            if (v.length != w.elements()) {
                throw new IllegalArgumentException("tensor '" + w.name() + "' has " + v.length + " floats; expected "
                        + Arrays.toString(w.shape()) + " = " + w.elements());
            }
            t.put(w.name(), v);
        }
        return new HfCheckpoint(config, t);
    }

    /** Loads a checkpoint directory, checked as described above. */
    public static HfCheckpoint load(Path dir) {
        return open(dir, Loader::load);
    }

    /**
     * Reads a checkpoint directory's weights one tensor at a time, in table order, handing each to
     * {@code each} and keeping none: what a device upload needs, so that the whole float32 model is never
     * on the heap at once (a bf16 base then takes 2 bytes a weight, plus the largest tensor). Every check
     * of {@link #load} applies, shapes and dtypes before any data is read; a tied head's duplicate is
     * compared when the embedding is read, before it is handed on.
     *
     * @return the configuration
     */
    public static HfConfig stream(Path dir, java.util.function.BiConsumer<String, float[]> each) {
        return open(dir, l -> {
            l.stream(each);
            return l.config();
        });
    }

    private static <R> R open(Path dir, java.util.function.Function<Loader, R> body) {
        if (!Files.isDirectory(dir)) {
            throw new InvalidFileException(dir + ": not a directory; expected a checkpoint directory holding "
                    + CONFIG_FILE + " and " + WEIGHTS_FILE);
        }
        Path configFile = dir.resolve(CONFIG_FILE);
        HfConfig config = readConfig(dir);
        Map<String, Path> index = new LinkedHashMap<>();
        List<Path> shards = shards(dir, index);
        List<SafeTensorsReader> readers = new ArrayList<>();
        try {
            for (Path shard : shards) {
                readers.add(SafeTensorsReader.open(shard));
            }
            if (!index.isEmpty()) {
                // buffers (masks, rotary tables) and a tied head's duplicate a shard may hold need not be listed
                checkIndex(dir.resolve(INDEX_FILE), index, shards, readers, key -> {
                    if (key.equals(config.tiedHeadKey())) {
                        return true;
                    }
                    String name = key;
                    for (String p : config.keyPrefixes()) {
                        if (key.startsWith(p)) {
                            name = key.substring(p.length());
                            break;
                        }
                    }
                    return config.ignoredKeys().test(name);
                });
            }
            return body.apply(new Loader(config, configFile, readers, dir));
        } finally {
            readers.forEach(SafeTensorsReader::close);
        }
    }

    /**
     * The directory's {@code config.json}, read by {@link Architectures#read} once it is known to lie inside the
     * directory (the file itself, or a link that resolves inside it).
     */
    public static HfConfig readConfig(Path dir) {
        Path configFile = dir.resolve(CONFIG_FILE);
        requireInside(dir, configFile);
        return Architectures.read(configFile);
    }

    /**
     * Refuses a file of the model directory that is a symbolic link leading outside it (nothing outside a
     * model directory is read: a link to ../x or /x is a way to read another file). A link inside, as a
     * snapshot's files may be, is followed.
     */
    public static void requireInside(Path dir, Path file) {
        InputFiles.requireInside(dir, file, "the model directory");
    }

    /**
     * The index must agree with the shards: every tensor it names is in the shard it names, and every tensor of a
     * shard is named, with that shard (an index that lists absent tensors, or shards swapped under it, describes
     * another checkpoint).
     */
    private static void checkIndex(Path indexFile, Map<String, Path> index, List<Path> shards, List<SafeTensorsReader> readers,
                                   java.util.function.Predicate<String> buffer) {
        for (int i = 0; i < shards.size(); i++) {
            Path shard = shards.get(i);
            Map<String, TensorInfo> held = readers.get(i).tensors();
            for (String t : held.keySet()) {
                Path named = index.get(t);
                if (named == null && buffer.test(t)) {
                    continue;
                }
                if (named != null && !named.equals(shard) && shards.contains(named)
                        && readers.get(shards.indexOf(named)).tensors().containsKey(t)) {
                    continue; // in two shards: the loader names both
                }
                if (named == null) {
                    throw new InvalidFileException(indexFile + ": weight_map does not name tensor " + Echo.quote(t) + ", which "
                            + shard.getFileName() + " holds; expected every tensor of every shard");
                }
                if (!named.equals(shard)) {
                    throw new InvalidFileException(indexFile + ": weight_map[" + Echo.quote(t) + "] is " + named.getFileName()
                            + ", but the tensor is in " + shard.getFileName() + "; expected the shard that holds it");
                }
            }
        }
        for (Map.Entry<String, Path> e : index.entrySet()) {
            SafeTensorsReader r = readers.get(shards.indexOf(e.getValue()));
            if (!r.tensors().containsKey(e.getKey())) {
                throw new InvalidFileException(indexFile + ": weight_map[" + Echo.quote(e.getKey()) + "] names "
                        + e.getValue().getFileName() + ", which holds no such tensor; expected the tensors the shards hold");
            }
        }
    }

    /** The weight files: model.safetensors, or the distinct shards of the index in order. */
    static List<Path> shards(Path dir) {
        return shards(dir, new LinkedHashMap<>());
    }

    /** As {@link #shards(Path)}; {@code index} receives the index's tensor → shard entries (none for one file). */
    static List<Path> shards(Path dir, Map<String, Path> indexOut) {
        Path single = dir.resolve(WEIGHTS_FILE);
        Path index = dir.resolve(INDEX_FILE);
        requireInside(dir, single);
        requireInside(dir, index);
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        if (!Files.isRegularFile(index)) {
            throw new InvalidFileException(single + ": no such file; expected the checkpoint's weights beside "
                    + CONFIG_FILE + " (or shards listed by " + INDEX_FILE + ")");
        }
        JsonNode root = UntrustedJson.parse(InputFiles.readAll(index, MAX_INDEX_BYTES, UntrustedJson.HEAP_PER_BYTE), index.toString());
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new InvalidFileException(index + ": field 'weight_map' is " + (map == null ? "missing" : Echo.value(UntrustedJson.written(map)))
                    + "; expected an object of tensor name → shard file");
        }
        List<Path> files = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode f = e.getValue();
            String name = f.isTextual() ? f.textValue() : null;
            if (name == null || name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals("..")
                    || name.equals(".") || name.indexOf('\0') >= 0) {
                throw new InvalidFileException(index + ": weight_map[" + Echo.quote(e.getKey()) + "] is "
                        + Echo.value(UntrustedJson.written(f)) + "; expected a file name inside " + dir);
            }
            Path shard = dir.resolve(name);
            if (!Files.isRegularFile(shard, LinkOption.NOFOLLOW_LINKS)) {
                throw new InvalidFileException(index + ": weight_map[" + Echo.quote(e.getKey()) + "] names "
                        + Echo.value(name) + ", which is not a regular file in " + dir);
            }
            if (!files.contains(shard)) {
                files.add(shard);
            }
            indexOut.put(e.getKey(), shard);
        }
        return files;
    }

    /** Matches the files' tensors to the table and reads them; one instance per load. */
    private record Loader(HfConfig config, Path configFile, List<SafeTensorsReader> readers, Path dir) {

        Map<String, int[]> expected() {
            return config.spec().model().weights().shapes();
        }

        /** The tensors found for the table's names, their readers, and a tied head's duplicate (or null), all checked. */
        private record Matched(Map<String, TensorInfo> found, Map<String, SafeTensorsReader> source, TensorInfo head,
                               SafeTensorsReader headReader) {
        }

        HfCheckpoint load() {
            Map<String, float[]> values = new LinkedHashMap<>();
            Map<String, DType> dtypes = new LinkedHashMap<>();
            Map<String, String> keys = new LinkedHashMap<>();
            Matched mt = stream((name, v) -> values.put(name, v));
            mt.found().forEach((name, info) -> dtypes.put(name, info.dtype())); // written back under the name without prefix
            return new HfCheckpoint(config, values, dtypes, keys, dir);
        }

        /** Reads every tensor in table order into {@code each}; a tied head is compared with the embedding first. */
        Matched stream(java.util.function.BiConsumer<String, float[]> each) {
            Matched mt = match();
            String embedding = config.spec().tokenEmbedding();
            if (mt.head() != null && config.spec().head() != null) {
                throw bad(mt.headReader(), "holds '" + mt.head().name() + "' twice");
            }
            for (String name : expected().keySet()) {
                float[] v = mt.source().get(name).readFloats(mt.found().get(name).name());
                if (mt.head() != null && name.equals(embedding)) {
                    checkTiedHead(mt.headReader(), mt.head(), expected().get(embedding), v, embedding);
                }
                each.accept(name, v);
            }
            return mt;
        }

        private Matched match() {
            Map<String, int[]> expected = expected();
            Map<String, TensorInfo> found = new LinkedHashMap<>();
            Map<String, SafeTensorsReader> source = new LinkedHashMap<>();
            TensorInfo head = null;
            SafeTensorsReader headReader = null;
            for (SafeTensorsReader reader : readers) {
                for (TensorInfo info : reader.tensors().values()) {
                    String name = strip(info.name());
                    if (config.ignoredKeys().test(name)) {
                        continue;
                    }
                    if (info.name().equals(config.tiedHeadKey())) {
                        head = info;
                        headReader = reader;
                        continue;
                    }
                    if (!expected.containsKey(name)) {
                        throw unexpected(reader, info.name(), name);
                    }
                    TensorInfo twin = found.put(name, info);
                    if (twin != null) {
                        throw bad(reader, "holds '" + twin.name() + "' and '" + info.name() + "', the same tensor "
                                + (twin.name().equals(info.name()) ? "in two shards" : "with and without a prefix") + "; expected one");
                    }
                    source.put(name, reader);
                }
            }
            for (Map.Entry<String, int[]> e : expected.entrySet()) {
                TensorInfo info = found.get(e.getKey());
                if (info == null) {
                    throw bad(readers.get(0), "tensor '" + e.getKey() + "' is missing; " + configFile + " ("
                            + config.fieldsFor(e.getKey()) + ") expects it with shape " + Arrays.toString(e.getValue()));
                }
                check(source.get(e.getKey()), info, e.getKey(), e.getValue());
            }
            return new Matched(found, source, head, headReader);
        }

        private String strip(String key) {
            for (String p : config.keyPrefixes()) {
                if (key.startsWith(p)) {
                    return key.substring(p.length());
                }
            }
            return key;
        }

        private InvalidFileException unexpected(SafeTensorsReader reader, String key, String name) {
            Matcher m = LAYER_KEY.matcher(name);
            int layers = config.spec().model().layers();
            if (m.matches() && Long.parseLong(m.group(1)) >= layers) {
                return bad(reader, "tensor " + Echo.quote(key) + " belongs to layer " + m.group(1) + ", but "
                        + configFile + " says " + config.fieldsFor(name).split(",")[0] + "; expected layers 0.." + (layers - 1));
            }
            return bad(reader, "tensor " + Echo.quote(key) + " is not part of " + config.displayName()
                    + "; expected the " + expected().size() + " tensors its config describes"
                    + (config.tiedHeadKey() != null ? ", optionally " + config.tiedHeadKey() : "") + " and its buffers");
        }

        private void check(SafeTensorsReader reader, TensorInfo info, String name, int[] shape) {
            if (!Arrays.equals(info.shape(), shape)) {
                throw bad(reader, "tensor '" + info.name() + "' has shape " + Arrays.toString(info.shape()) + ", but "
                        + configFile + " (" + config.fieldsFor(name) + ") expects " + Arrays.toString(shape));
            }
            if (!READ_DTYPES.contains(info.dtype())) {
                throw bad(reader, "tensor '" + info.name() + "' is " + info.dtype() + "; expected one of " + READ_DTYPES);
            }
        }

        private void checkTiedHead(SafeTensorsReader reader, TensorInfo head, int[] shape, float[] embedding, String name) {
            check(reader, head, name, shape);
            float[] h = reader.readFloats(head.name());
            for (int i = 0; i < h.length; i++) {
                if (Float.floatToIntBits(h[i]) != Float.floatToIntBits(embedding[i])) {
                    throw bad(reader, "tensor '" + head.name() + "' differs from " + name + " at element " + i + " (" + h[i]
                            + " vs " + embedding[i] + "); expected the head tied to " + name + ", as " + configFile
                            + " says (tie_word_embeddings)");
                }
            }
        }

        private static InvalidFileException bad(SafeTensorsReader reader, String what) {
            return new InvalidFileException(reader.source() + ": " + what);
        }
    }

    /**
     * Writes {@code dir/config.json} and {@code dir/model.safetensors} (each tensor in its
     * {@link #dtype} under its {@link #storedKey}, {@code __metadata__} {"format": "pt"}, no buffers, no
     * duplicate head) and replaces the directory atomically. An existing directory may hold only these
     * two files. Values must be finite (and stay finite in F16/BF16). The safetensors file is built in
     * memory, so it is limited to 2³¹ − 9 bytes (about 536M F32 parameters).
     */
    public void write(Path dir) {
        AtomicFiles.writeDirectory(dir, files(dir.toString()));
    }

    /**
     * Writes the checkpoint as Hugging Face's sharded releases are laid out: the tensors in table order
     * split into {@code shards} files {@code model-0000i-of-0000n.safetensors} of about equal bytes, and
     * {@value #INDEX_FILE} ({"metadata": {"total_size": data bytes}, "weight_map": {key: shard}}), with
     * {@code config.json}; one shard is {@link #write(Path)}.
     */
    public void write(Path dir, int shards) {
        if (shards == 1) {
            write(dir);
            return;
        }
        if (shards < 1 || shards > tensors.size()) {
            throw new IllegalArgumentException("shards is " + shards + "; expected 1 to " + tensors.size() + " (one tensor each at most)");
        }
        long total = 0;
        for (String name : tensors.keySet()) {
            total += bytes(name);
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        com.fasterxml.jackson.databind.node.ObjectNode index = UntrustedJson.MAPPER.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        com.fasterxml.jackson.databind.node.ObjectNode map = index.putObject("weight_map");
        List<String> names = new ArrayList<>(tensors.keySet());
        int next = 0;
        long done = 0;
        for (int s = 1; s <= shards; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s, shards);
            SafeTensorsWriter w = new SafeTensorsWriter();
            long goal = total * s / shards;
            do {
                String name = names.get(next++);
                w.floats(keys.get(name), dtypes.get(name), table.shape(name), tensors.get(name));
                map.put(keys.get(name), file);
                done += bytes(name);
            } while (next < names.size() - (shards - s) && (done < goal || s == shards));
            files.put(file, w.toBytes(Map.of("format", "pt")));
        }
        try {
            files.put(INDEX_FILE, UntrustedJson.MAPPER.writeValueAsBytes(index));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + INDEX_FILE, e);
        }
        files.put(CONFIG_FILE, config.toJson());
        AtomicFiles.writeDirectory(dir, files);
    }

    private long bytes(String name) {
        return (long) tensors.get(name).length * dtypes.get(name).bytes();
    }

    /**
     * The checkpoint's files ({@link #CONFIG_FILE}, {@link #WEIGHTS_FILE}) as bytes, for a caller that
     * writes them together with others in one atomic directory.
     *
     * @param dir the destination, for messages
     */
    public Map<String, byte[]> files(String dir) {
        long bytes = 4 * table.parameterCount();
        if (bytes > InputFiles.MAX_ARRAY_BYTES - (1 << 20)) {
            throw new IllegalArgumentException("checkpoint for " + dir + " holds " + table.parameterCount()
                    + " parameters (" + bytes + " bytes); this writer builds the file in one array and takes at most "
                    + (InputFiles.MAX_ARRAY_BYTES - (1 << 20)) + " bytes");
        }
        SafeTensorsWriter w = new SafeTensorsWriter();
        tensors.forEach((name, values) -> w.floats(keys.get(name), dtypes.get(name), table.shape(name), values));
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(WEIGHTS_FILE, w.toBytes(Map.of("format", "pt")));
        files.put(CONFIG_FILE, config.toJson());
        return files;
    }

    /** The directory it was loaded from, or null for one made in memory. */
    public Path dir() {
        return dir;
    }

    /** The configuration. */
    public HfConfig config() {
        return config;
    }

    /** The weight table. */
    public WeightTable table() {
        return table;
    }

    /** Every tensor by name (no prefix), in table order; the arrays themselves, not copies. */
    public Map<String, float[]> tensors() {
        return tensors;
    }

    /** The tensor of this name (the array itself). */
    public float[] tensor(String name) {
        float[] t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("this checkpoint has no tensor " + Echo.quote(name) + "");
        }
        return t;
    }
}
