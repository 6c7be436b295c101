package dev.nola.adapter.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.StreamId;
import dev.nola.io.Echo;
import dev.nola.io.InvalidFileException;
import dev.nola.io.UntrustedJson;
import dev.nola.kernels.Philox;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Reads and validates an untrusted NOLA {@code adapter_config.json} tree, field by field. */
final class ConfigReader {

    /** The most layers one adapter file may describe. */
    static final int MAX_LAYERS = 1 << 16;

    record LayerEntry(String name, int in, int out, StreamId idA, StreamId idB) {
    }

    private final JsonNode root;
    private final String where;

    ConfigReader(JsonNode root, String where) {
        this.where = where;
        if (!root.isObject()) {
            throw bad("", "the top level is a JSON " + root.getNodeType() + ", expected an object");
        }
        this.root = root;
    }

    /** A refusal; {@code at} is "" for a top-level field, else "layers[N] 'NAME': " (see {@link #at}). */
    private InvalidFileException bad(String at, String what) {
        return new InvalidFileException(where + ": " + at + what);
    }

    /**
     * The prefix naming a layer in messages: always its index in {@code layers} (a name may be shortened in a
     * message, or appear twice), and its name once known.
     */
    private static String at(int index, String name) {
        return "layers[" + index + "]" + (name == null ? "" : " " + Echo.quote(name)) + ": ";
    }

    private JsonNode field(JsonNode n, String at, String name) {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            throw bad(at, "field '" + name + "' is missing");
        }
        return v;
    }

    private InvalidFileException wrongType(String at, String name, JsonNode v, String expected) {
        return bad(at, "field '" + name + "' is " + Echo.value(UntrustedJson.written(v)) + ", expected " + expected);
    }

    private String text(JsonNode n, String at, String name) {
        JsonNode v = field(n, at, name);
        if (!v.isTextual()) {
            throw wrongType(at, name, v, "a string");
        }
        return v.textValue();
    }

    private int integer(JsonNode n, String at, String name, long min, long max) {
        JsonNode v = field(n, at, name);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            throw wrongType(at, name, v, "an integer in [" + min + ", " + max + "]");
        }
        return (int) v.longValue();
    }

    private boolean bool(JsonNode n, String at, String name) {
        JsonNode v = field(n, at, name);
        if (!v.isBoolean()) {
            throw wrongType(at, name, v, "true or false");
        }
        return v.booleanValue();
    }

    /** A float32 field: finite, and within float32's range (a larger finite number is named as such). */
    private float number(JsonNode n, String at, String name) {
        JsonNode v = field(n, at, name);
        if (!v.isNumber()) {
            throw wrongType(at, name, v, "a number");
        }
        double d = v.doubleValue();
        if (!Double.isFinite(d) || !Float.isFinite((float) d)) {
            throw bad(at, "field '" + name + "' is " + Echo.value(UntrustedJson.written(v)) + ", outside float32's range (magnitude at most "
                    + Float.MAX_VALUE + ")");
        }
        return (float) d;
    }

    private <E extends Enum<E>> E enumeration(JsonNode n, String at, String name, Class<E> type) {
        String s = text(n, at, name);
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(s)) {
                return e;
            }
        }
        throw bad(at, "field '" + name + "' is " + Echo.quote(s) + ", expected one of "
                + java.util.Arrays.toString(type.getEnumConstants()));
    }

    NolaConfig config() {
        String format = text(root, "", "format");
        if (!format.equals(NolaAdapterFiles.FORMAT)) {
            throw bad("", "format is " + Echo.quote(format) + ", expected '" + NolaAdapterFiles.FORMAT + "'");
        }
        int version = integer(root, "", "format_version", 0, Integer.MAX_VALUE);
        if (version != NolaAdapterFiles.FORMAT_VERSION) {
            throw bad("", "format_version " + version + " is not supported; this build reads version "
                    + NolaAdapterFiles.FORMAT_VERSION);
        }
        JsonNode g = field(root, "", "generator");
        if (!g.isObject()) {
            throw bad("", "field 'generator' is not an object");
        }
        String gname = text(g, "", "name");
        int gversion = integer(g, "", "version", 0, Integer.MAX_VALUE);
        if (!gname.equals(Philox.GENERATOR_NAME) || gversion != Philox.GENERATOR_VERSION) {
            throw bad("", "generator " + Echo.quote(gname) + " version " + gversion + " is not supported: this build "
                    + "regenerates bases with '" + Philox.GENERATOR_NAME + "' version " + Philox.GENERATOR_VERSION
                    + "; the coefficients are meaningless under another generator");
        }
        long seed;
        try {
            seed = Long.parseUnsignedLong(text(root, "", "seed"));
        } catch (NumberFormatException e) {
            throw bad("", "field 'seed' is " + Echo.quote(root.get("seed").textValue())
                    + ", expected an unsigned 64-bit decimal in [0, " + Long.toUnsignedString(-1L) + "]");
        }
        JsonNode tm = field(root, "", "target_modules");
        if (!tm.isArray() || tm.size() > NolaConfig.MAX_MODULES) {
            throw bad("", "field 'target_modules' is not an array of at most " + NolaConfig.MAX_MODULES + " strings");
        }
        List<String> modules = new ArrayList<>();
        for (JsonNode m : tm) {
            if (!m.isTextual()) {
                throw bad("", "target_modules holds " + Echo.value(UntrustedJson.written(m)) + ", expected strings");
            }
            modules.add(Names.MODULE.requireInFile(where, "target_modules", m.textValue()));
        }
        NolaConfig c;
        try {
            c = new NolaConfig(integer(root, "", "r", 1, 1 << 16), integer(root, "", "k", 1, 1 << 24), integer(root, "", "l", 1, 1 << 24),
                    number(root, "", "alpha"), enumeration(root, "", "init", NolaConfig.InitScheme.class),
                    enumeration(root, "", "basis_mode", NolaConfig.BasisMode.class), bool(root, "", "shared_bases"), seed,
                    modules, integer(root, "", "coefficient_bits", 0, 64), bool(root, "", "quantization_aware"));
        } catch (InvalidFileException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw bad("", "invalid settings: " + e.getMessage());
        }
        float scale = number(root, "", "scale");
        if (Float.floatToIntBits(scale) != Float.floatToIntBits(c.scale())) {
            throw bad("", "scale " + scale + " differs from " + c.scale() + ", which this build computes from init "
                    + c.init() + ", alpha " + c.alpha() + " and r " + c.rank());
        }
        return c;
    }

    List<LayerEntry> layers(NolaConfig c) {
        JsonNode ls = field(root, "", "layers");
        if (!ls.isArray() || ls.isEmpty() || ls.size() > MAX_LAYERS) {
            throw bad("", "field 'layers' is not an array of 1.." + MAX_LAYERS + " layers");
        }
        List<LayerEntry> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < ls.size(); i++) {
            JsonNode n = ls.get(i);
            if (!n.isObject()) {
                throw bad(at(i, null), "is " + Echo.value(UntrustedJson.written(n)) + ", expected an object");
            }
            String name = Names.MODULE.requireInFile(where, "layers[" + i + "]", text(n, at(i, null), "name"));
            String at = at(i, name);
            if (!names.add(name)) {
                throw bad(at, "appears twice");
            }
            int in = integer(n, at, "in", 1, 1 << 20);
            int o = integer(n, at, "out", 1, 1 << 20);
            if ((long) c.rank() * in > Integer.MAX_VALUE - 8 || (long) c.rank() * o > Integer.MAX_VALUE - 8) {
                throw bad(at, "r=" + c.rank() + " with in=" + in + ", out=" + o
                        + " makes a factor larger than a tensor holds (" + (Integer.MAX_VALUE - 8) + " elements)");
            }
            StreamId a = stream(n, at, "stream_a");
            StreamId b = stream(n, at, "stream_b");
            NolaAdapterFiles.Scales s = NolaAdapterFiles.Scales.of(c, in, o);
            checkScale(n, at, "basis_scale_a", s.a());
            checkScale(n, at, "basis_scale_b", s.b());
            if (c.init() == NolaConfig.InitScheme.OFFSET) {
                checkScale(n, at, "offset_scale", s.offset());
            }
            out.add(new LayerEntry(name, in, o, a, b));
        }
        return out;
    }

    private StreamId stream(JsonNode n, String at, String field) {
        return StreamId.unpack(integer(n, at, field, 0, 0xFFFFFFFFL)); // an unsigned 32-bit id, as its int bits
    }

    private void checkScale(JsonNode n, String at, String field, float expected) {
        float v = number(n, at, field);
        if (Float.floatToIntBits(v) != Float.floatToIntBits(expected)) {
            throw bad(at, field + " is " + v + " but this build computes " + expected
                    + " for this scheme and shape; the file was made under other rules");
        }
    }
}
