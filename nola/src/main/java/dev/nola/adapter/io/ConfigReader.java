package dev.nola.adapter.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.StreamId;
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
            throw bad("the top level is a JSON " + root.getNodeType() + ", expected an object");
        }
        this.root = root;
    }

    private InvalidFileException bad(String what) {
        return new InvalidFileException(where + ": " + what);
    }

    private JsonNode field(JsonNode n, String name) {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            throw bad("field '" + name + "' is missing");
        }
        return v;
    }

    private String text(JsonNode n, String name) {
        JsonNode v = field(n, name);
        if (!v.isTextual()) {
            throw bad("field '" + name + "' is " + DType.abbreviate(v.toString()) + ", expected a string");
        }
        return v.textValue();
    }

    private int integer(JsonNode n, String name, long min, long max) {
        JsonNode v = field(n, name);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            throw bad("field '" + name + "' is " + DType.abbreviate(v.toString()) + ", expected an integer in ["
                    + min + ", " + max + "]");
        }
        return (int) v.longValue();
    }

    private boolean bool(JsonNode n, String name) {
        JsonNode v = field(n, name);
        if (!v.isBoolean()) {
            throw bad("field '" + name + "' is " + DType.abbreviate(v.toString()) + ", expected true or false");
        }
        return v.booleanValue();
    }

    private float number(JsonNode n, String name) {
        JsonNode v = field(n, name);
        if (!v.isNumber() || !Float.isFinite(v.floatValue())) {
            throw bad("field '" + name + "' is " + DType.abbreviate(v.toString()) + ", expected a finite number");
        }
        return v.floatValue();
    }

    private <E extends Enum<E>> E enumeration(JsonNode n, String name, Class<E> type) {
        String s = text(n, name);
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(s)) {
                return e;
            }
        }
        throw bad("field '" + name + "' is '" + DType.abbreviate(s) + "', expected one of "
                + java.util.Arrays.toString(type.getEnumConstants()));
    }

    NolaConfig config() {
        String format = text(root, "format");
        if (!format.equals(NolaAdapterFiles.FORMAT)) {
            throw bad("format is '" + DType.abbreviate(format) + "', expected '" + NolaAdapterFiles.FORMAT + "'");
        }
        int version = integer(root, "format_version", 0, Integer.MAX_VALUE);
        if (version != NolaAdapterFiles.FORMAT_VERSION) {
            throw bad("format_version " + version + " is not supported; this build reads version "
                    + NolaAdapterFiles.FORMAT_VERSION);
        }
        JsonNode g = field(root, "generator");
        if (!g.isObject()) {
            throw bad("field 'generator' is not an object");
        }
        String gname = text(g, "name");
        int gversion = integer(g, "version", 0, Integer.MAX_VALUE);
        if (!gname.equals(Philox.GENERATOR_NAME) || gversion != Philox.GENERATOR_VERSION) {
            throw bad("generator '" + DType.abbreviate(gname) + "' version " + gversion + " is not supported: this build "
                    + "regenerates bases with '" + Philox.GENERATOR_NAME + "' version " + Philox.GENERATOR_VERSION
                    + "; the coefficients are meaningless under another generator");
        }
        long seed;
        try {
            seed = Long.parseUnsignedLong(text(root, "seed"));
        } catch (NumberFormatException e) {
            throw bad("field 'seed' is not an unsigned 64-bit decimal: " + e.getMessage());
        }
        JsonNode tm = field(root, "target_modules");
        if (!tm.isArray() || tm.size() > NolaConfig.MAX_MODULES) {
            throw bad("field 'target_modules' is not an array of at most " + NolaConfig.MAX_MODULES + " strings");
        }
        List<String> modules = new ArrayList<>();
        for (JsonNode m : tm) {
            if (!m.isTextual()) {
                throw bad("target_modules holds " + DType.abbreviate(m.toString()) + ", expected strings");
            }
            modules.add(m.textValue());
        }
        NolaConfig c;
        try {
            c = new NolaConfig(integer(root, "r", 1, 1 << 16), integer(root, "k", 1, 1 << 24), integer(root, "l", 1, 1 << 24),
                    number(root, "alpha"), enumeration(root, "init", NolaConfig.InitScheme.class),
                    enumeration(root, "basis_mode", NolaConfig.BasisMode.class), bool(root, "shared_bases"), seed,
                    modules, integer(root, "coefficient_bits", 0, 64), bool(root, "quantization_aware"));
        } catch (InvalidFileException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw bad("invalid settings: " + e.getMessage());
        }
        float scale = number(root, "scale");
        if (Float.floatToIntBits(scale) != Float.floatToIntBits(c.scale())) {
            throw bad("scale " + scale + " differs from " + c.scale() + ", which this build computes from init "
                    + c.init() + ", alpha " + c.alpha() + " and r " + c.rank());
        }
        return c;
    }

    List<LayerEntry> layers(NolaConfig c) {
        JsonNode ls = field(root, "layers");
        if (!ls.isArray() || ls.isEmpty() || ls.size() > MAX_LAYERS) {
            throw bad("field 'layers' is not an array of 1.." + MAX_LAYERS + " layers");
        }
        List<LayerEntry> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (JsonNode n : ls) {
            if (!n.isObject()) {
                throw bad("layers holds " + DType.abbreviate(n.toString()) + ", expected objects");
            }
            String name = text(n, "name");
            if (!names.add(name)) {
                throw bad("layer '" + DType.abbreviate(name) + "' appears twice");
            }
            int in = integer(n, "in", 1, 1 << 20);
            int o = integer(n, "out", 1, 1 << 20);
            if ((long) c.rank() * in > Integer.MAX_VALUE - 8 || (long) c.rank() * o > Integer.MAX_VALUE - 8) {
                throw bad("layer '" + DType.abbreviate(name) + "': r=" + c.rank() + " with in=" + in + ", out=" + o
                        + " makes a factor larger than a tensor holds");
            }
            StreamId a = stream(n, "stream_a", name);
            StreamId b = stream(n, "stream_b", name);
            NolaAdapterFiles.Scales s = NolaAdapterFiles.Scales.of(c, in, o);
            checkScale(n, "basis_scale_a", s.a(), name);
            checkScale(n, "basis_scale_b", s.b(), name);
            if (c.init() == NolaConfig.InitScheme.OFFSET) {
                checkScale(n, "offset_scale", s.offset(), name);
            }
            out.add(new LayerEntry(name, in, o, a, b));
        }
        return out;
    }

    private StreamId stream(JsonNode n, String field, String layer) {
        integer(n, field, 0, 0xFFFFFFFFL); // range check; the value is an unsigned 32-bit id
        return StreamId.unpack((int) n.get(field).longValue());
    }

    private void checkScale(JsonNode n, String field, float expected, String layer) {
        float v = number(n, field);
        if (Float.floatToIntBits(v) != Float.floatToIntBits(expected)) {
            throw bad("layer '" + DType.abbreviate(layer) + "': " + field + " is " + v + " but this build computes "
                    + expected + " for this scheme and shape; the file was made under other rules");
        }
    }
}
