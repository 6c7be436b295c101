package dev.nola.adapter.io;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.adapter.NolaConfig;
import dev.nola.io.UntrustedJson;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Mutations of a valid NOLA adapter (config + weights in memory) that every layer of the stack must
 * refuse cleanly: files that claim huge shapes, gaps and trailing bytes in the data section, hostile
 * names. Used by {@code AdapterFuzzTest} on the library and by the CLI's fuzz on disk; exported in
 * nola-core's test jar with {@link FuzzHarness}.
 */
public final class AdapterMutations {

    private AdapterMutations() {
    }

    /** A pair of adapter files in memory. */
    public record Files(byte[] config, byte[] weights) {
        @Override
        public String toString() {
            return "config " + config.length + " bytes, weights " + weights.length + " bytes";
        }
    }

    /**
     * Well-formed files whose config claims layers far larger than any test machine holds (at least
     * 128 GiB on a device): wide layers at a large rank, bases materialised, or both; or a safetensors
     * header that claims a huge tensor, a huge header, or offsets past the end.
     */
    public static Files hugeShape(Files f, SplittableRandom rnd) throws IOException {
        if (rnd.nextInt(4) == 0) {
            return new Files(f.config(), hugeHeader(f.weights(), rnd));
        }
        int[][] dims = {{2047, 1 << 20, 1 << 20}, {65536, 32767, 32767}, {8192, 65536, 65536}, {4096, 1 << 17, 1 << 17}};
        int[] d = dims[rnd.nextInt(dims.length)];
        SavedNola base = NolaAdapterFiles.parse(f.config(), f.weights(), "seed");
        NolaConfig c = base.config();
        // 5 factor-sized tensors per layer reach 128 GiB only near r·in = 2³¹; smaller claims materialise their bases
        NolaConfig.BasisMode mode = (long) d[0] * d[1] < (1L << 30) || rnd.nextBoolean()
                ? NolaConfig.BasisMode.MATERIALIZED : NolaConfig.BasisMode.ON_THE_FLY;
        NolaConfig huge = new NolaConfig(d[0], c.basisA(), c.basisB(), c.alpha(), c.init(), mode, c.sharedBases(),
                c.seed(), c.targetModules(), c.coefficientBits(), c.quantizationAware());
        List<SavedNola.Layer> layers = new ArrayList<>();
        for (SavedNola.Layer l : base.layers()) {
            layers.add(new SavedNola.Layer(l.name(), d[1], d[2], l.idA(), l.idB(), l.alpha(), l.beta()));
        }
        SavedNola s = new SavedNola(huge, layers);
        long claimed = s.devicePlan("claim").totalBytes();
        if (claimed < (128L << 30)) {
            throw new IllegalStateException("the huge case claims only " + claimed + " bytes");
        }
        return new Files(NolaAdapterFiles.configJson(s), f.weights());
    }

    /** The first tensor claims a huge shape or offsets past the end, or the header length is huge. */
    private static byte[] hugeHeader(byte[] wts, SplittableRandom rnd) throws IOException {
        Weights w = Weights.of(wts);
        ObjectNode header = w.header();
        byte[] data = w.data();
        ObjectNode first = null;
        for (var e : header.properties()) {
            if (!e.getKey().equals(Names.RESERVED)) {
                first = (ObjectNode) e.getValue();
                break;
            }
        }
        ArrayNode shape = first.putArray("shape");
        switch (rnd.nextInt(4)) {
            case 0 -> shape.add(1 << 30).add(1 << 30);
            case 1 -> {
                shape.add(1 << 29);
                first.putArray("data_offsets").add(0).add(1L << 62);
            }
            case 2 -> {
                byte[] claims = wts.clone();
                long len = rnd.nextBoolean() ? -rnd.nextLong(1, Long.MAX_VALUE) : rnd.nextLong(1L << 32, Long.MAX_VALUE);
                ByteBuffer.wrap(claims, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(len);
                return claims;
            }
            default -> shape.add(24).add(Integer.MAX_VALUE).add(Integer.MAX_VALUE).add(Integer.MAX_VALUE);
        }
        return Weights.join(header, data);
    }

    /** The data section with a gap before a tensor, bytes before the first, or bytes after the last. */
    public static Files gapsAndTrailing(Files f, SplittableRandom rnd) throws IOException {
        Weights w = Weights.of(f.weights());
        ObjectNode header = w.header();
        byte[] data = w.data();
        int extra = rnd.nextInt(1, 65);
        byte[] filler = new byte[extra];
        switch (rnd.nextInt(3)) {
            case 0 -> rnd.nextBytes(filler);
            case 1 -> Arrays.fill(filler, (byte) ' ');
            default -> { } // zeros
        }
        List<String> tensors = new ArrayList<>();
        header.fieldNames().forEachRemaining(t -> {
            if (!t.equals(Names.RESERVED)) {
                tensors.add(t);
            }
        });
        long cut;
        switch (rnd.nextInt(3)) {
            case 0 -> cut = data.length; // trailing bytes
            case 1 -> cut = 0; // bytes before the first tensor
            default -> cut = header.get(tensors.get(rnd.nextInt(1, tensors.size()))).get("data_offsets").get(0).asLong();
        }
        for (String t : tensors) {
            ArrayNode o = (ArrayNode) header.get(t).get("data_offsets");
            if (o.get(0).asLong() >= cut && cut < data.length) {
                o.set(0, o.get(0).asLong() + extra);
                o.set(1, o.get(1).asLong() + extra);
            }
        }
        ByteBuffer d = ByteBuffer.allocate(data.length + extra);
        d.put(data, 0, (int) cut).put(filler).put(data, (int) cut, data.length - (int) cut);
        return new Files(f.config(), Weights.join(header, d.array()));
    }

    public static final String[] HOSTILE = {"../evil", "a/b", "h.0\\attn", "h.0\n.q", "h.0.q\r", "\u0000", "", ".", "..", ".h", "h.",
        "h..q", Names.RESERVED, "h.0.q\u202E", "\uFF48.0", "h 0", "x".repeat(300), "h.0.q\t", "h.0.q\u0007", "\uD83D\uDE00",
        "h/../../etc/passwd", "C:\\x", "h.0.q\u2028"};

    /** A layer renamed in both files (so only the name is wrong), a stray tensor, or a target module. */
    public static Files hostileNames(Files f, SplittableRandom rnd) throws IOException {
        String evil = HOSTILE[rnd.nextInt(HOSTILE.length)];
        ObjectNode cfg = (ObjectNode) UntrustedJson.MAPPER.readTree(f.config());
        Weights w = Weights.of(f.weights());
        ObjectNode header = w.header();
        byte[] data = w.data();
        switch (rnd.nextInt(3)) {
            case 0 -> {
                ObjectNode layer = (ObjectNode) cfg.get("layers").get(rnd.nextInt(cfg.get("layers").size()));
                String old = layer.get("name").asText();
                layer.put("name", evil);
                ObjectNode renamed = UntrustedJson.MAPPER.createObjectNode();
                header.properties().forEach(e -> renamed.set(e.getKey().startsWith(old + ".")
                        ? evil + e.getKey().substring(old.length()) : e.getKey(), e.getValue()));
                header = renamed;
            }
            case 1 -> {
                // a zero-size tensor at the end keeps the tiling intact: only its name is wrong
                ObjectNode t = header.putObject(evil.equals(Names.RESERVED) ? Names.RESERVED + "x/" : evil);
                t.put("dtype", "F32");
                t.putArray("shape").add(0);
                t.putArray("data_offsets").add(data.length).add(data.length);
            }
            default -> ((ArrayNode) cfg.get("target_modules")).set(rnd.nextInt(2), evil);
        }
        return new Files(UntrustedJson.MAPPER.writeValueAsBytes(cfg), Weights.join(header, data));
    }

    /** A safetensors file split into its parsed header and its data section. */
    record Weights(ObjectNode header, byte[] data) {
        static Weights of(byte[] wts) throws IOException {
            long n = ByteBuffer.wrap(wts, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            return new Weights((ObjectNode) UntrustedJson.MAPPER.readTree(Arrays.copyOfRange(wts, 8, (int) (8 + n))),
                    Arrays.copyOfRange(wts, (int) (8 + n), wts.length));
        }

        /** The file of a header and a data section. */
        static byte[] join(ObjectNode header, byte[] data) throws IOException {
            return rebuild(UntrustedJson.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(header), data);
        }
    }

    /** A safetensors file of this header (unpadded) and data section. */
    public static byte[] rebuild(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }
}
