package dev.nola.adapter.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.io.AdapterMutations.Files;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Property test of the adapter reader over mutated adapters (seeded), run by {@link FuzzHarness}: each
 * case is parsed, and when it parses, regenerated on the reference device and exported to PEFT LoRA
 * in memory, the whole path a file takes through {@code nola export-lora}. Classes of mutation:
 * truncation, header length huge / negative / zero / off by a little, flipped bytes in header and
 * data, offsets out of range or overlapping, unknown dtypes, shapes disagreeing with byte counts,
 * invalid or mutated JSON in both files, NaN and infinite coefficients, nesting bombs, random
 * garbage; and files that claim huge shapes, gaps and trailing bytes in the data section, hostile
 * layer, tensor and module names. Each case must load or be refused with a clean one-line message that
 * names the file; an always-invalid class must never load; a stack trace, an OutOfMemoryError or a
 * hang fails the test. Each new class also runs alone as a named test.
 */
class AdapterFuzzTest {

    static final int ITERATIONS = 14_000;
    static final int PER_CLASS = 600;
    static final Duration LIMIT = Duration.ofSeconds(120);
    static final Duration PER_CASE = Duration.ofSeconds(10);

    enum Mutation {
        TRUNCATE, HEADER_LENGTH, FLIP_HEADER, FLIP_ANY, OFFSETS, DTYPE, SHAPE, NON_FINITE, CONFIG_BYTES, CONFIG_NUMBER,
        OVERLAP, GARBAGE, NESTING
    }

    /** The classes that must always be refused. */
    static final Set<String> ALWAYS_INVALID = Set.of("TRUNCATE", "HEADER_LENGTH", "DTYPE", "SHAPE", "NON_FINITE", "OVERLAP",
            "GARBAGE", "NESTING", "HUGE_SHAPE", "GAPS_AND_TRAILING", "HOSTILE_NAMES");

    static SavedNola base;
    static Device device;

    @BeforeAll
    static void baseAdapter() {
        device = Backends.open("reference");
        base = SavedNola.of(AdapterFilesTest.adapters(device, AdapterFilesTest.CONFIG));
    }

    @AfterAll
    static void closeDevice() {
        device.close();
    }

    /** The harness over the valid pair with every class; the reader under test is parse → instantiate → export. */
    static FuzzHarness<Files> harness() {
        Files valid = new Files(NolaAdapterFiles.configJson(base), NolaAdapterFiles.weights(base));
        FuzzHarness<Files> h = new FuzzHarness<>(List.of(valid), (f, i) -> {
            String name = "fuzz" + i;
            try {
                SavedNola s = NolaAdapterFiles.parse(f.config(), f.weights(), name);
                Map<String, NolaAdapter> adapters = s.instantiate(device, name);
                try {
                    PeftLoraExport.files(name, adapters, s.config().targetModules(), null);
                } finally {
                    adapters.values().forEach(NolaAdapter::close);
                }
            } catch (IllegalArgumentException e) {
                if (e.getMessage() == null || !e.getMessage().startsWith(name)) {
                    throw new AssertionError("the message does not name the file: " + e.getMessage(), e);
                }
                throw e;
            }
        });
        for (Mutation m : Mutation.values()) {
            h.mutation(m.name(), ALWAYS_INVALID.contains(m.name()), (f, rnd) -> {
                byte[][] pair = mutate(m, f.config().clone(), f.weights().clone(), rnd);
                return new Files(pair[0], pair[1]);
            });
        }
        h.mutation("HUGE_SHAPE", true, AdapterMutations::hugeShape);
        h.mutation("GAPS_AND_TRAILING", true, AdapterMutations::gapsAndTrailing);
        h.mutation("HOSTILE_NAMES", true, AdapterMutations::hostileNames);
        return h;
    }

    @Test
    void mutatedAdaptersFailCleanly() {
        FuzzHarness.Report r = harness().run(20240501, ITERATIONS, LIMIT, PER_CASE).print("adapter fuzz");
        r.assertClean();
        assertEquals(ITERATIONS, r.cases());
        assertTrue(r.count(FuzzHarness.Outcome.REJECTED) > ITERATIONS / 2, r.toString());
    }

    @Test
    void filesClaimingHugeShapesAreRefusedBeforeAllocation() {
        runAlone("HUGE_SHAPE");
    }

    @Test
    void gapsAndTrailingBytesAreRefused() {
        runAlone("GAPS_AND_TRAILING");
    }

    @Test
    void hostileNamesAreRefused() {
        runAlone("HOSTILE_NAMES");
    }

    private static void runAlone(String cls) {
        FuzzHarness.Report r = harness().only(cls).run(cls.hashCode(), PER_CLASS, LIMIT, PER_CASE);
        r.print(cls).assertClean();
        assertEquals(PER_CLASS, r.count(cls, FuzzHarness.Outcome.REJECTED), r.toString());
    }

    static byte[][] mutate(Mutation m, byte[] cfg, byte[] wts, SplittableRandom rnd) {
        long n = ByteBuffer.wrap(wts, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(wts, 8, (int) n, StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(wts, (int) (8 + n), wts.length);
        switch (m) {
            case TRUNCATE -> wts = Arrays.copyOf(wts, rnd.nextInt(wts.length));
            case HEADER_LENGTH -> {
                long[] choices = {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 40, n + 1 + rnd.nextInt(64),
                        wts.length, -rnd.nextLong(1, Long.MAX_VALUE), 1 + rnd.nextInt((int) n - 1)};
                long v = choices[rnd.nextInt(choices.length)];
                ByteBuffer.wrap(wts, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
                if (v > 0 && v < n && header.charAt((int) v - 1) == '}') {
                    wts[0]++; // a shorter length that still ends on '}' could be valid JSON; keep it wrong
                }
            }
            case FLIP_HEADER -> flips(wts, 8, (int) (8 + n), rnd);
            case FLIP_ANY -> flips(wts, 0, wts.length, rnd);
            case OFFSETS -> wts = AdapterMutations.rebuild(replaceNumber(header, "\"data_offsets\":\\[(\\d+),(\\d+)\\]", rnd), data);
            case DTYPE -> {
                String[] types = {"F33", "f32", "", "U8", "I64", "F16", "BF16", "BOOL", "\\u0000", "F32\"x"};
                wts = AdapterMutations.rebuild(header.replaceFirst("\"dtype\":\"F32\"", "\"dtype\":\"" + types[rnd.nextInt(types.length)] + "\""), data);
            }
            case SHAPE -> {
                String[] shapes = {"[]", "[0]", "[25]", "[23]", "[-1]", "[2147483647,2147483647]", "[4294967296]",
                        "[1.5]", "[\"24\"]", "[24,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", "[3,8]", "[48]"};
                String s = shapes[rnd.nextInt(shapes.length)];
                if (s.equals("[3,8]")) { // same elements, wrong shape for a coefficient vector
                    s = "[3,8]";
                }
                wts = AdapterMutations.rebuild(header.replaceFirst("\"shape\":\\[24\\]", "\"shape\":" + s), data);
            }
            case NON_FINITE -> {
                float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7FC00001)};
                int at = (int) (8 + n) + 4 * rnd.nextInt(data.length / 4);
                ByteBuffer.wrap(wts, at, 4).order(ByteOrder.LITTLE_ENDIAN).putFloat(bad[rnd.nextInt(bad.length)]);
            }
            case CONFIG_BYTES -> {
                if (rnd.nextBoolean()) {
                    cfg = Arrays.copyOf(cfg, rnd.nextInt(cfg.length));
                } else {
                    flips(cfg, 0, cfg.length, rnd);
                }
            }
            case CONFIG_NUMBER -> {
                String s = new String(cfg, StandardCharsets.UTF_8);
                cfg = replaceNumber(s, "(-?\\d+(?:\\.\\d+)?(?:[eE]-?\\d+)?)", rnd).getBytes(StandardCharsets.UTF_8);
            }
            case OVERLAP -> {
                Matcher mt = Pattern.compile("\"data_offsets\":\\[(\\d+),(\\d+)\\]").matcher(header);
                mt.find();
                String first = mt.group();
                String shifted = "\"data_offsets\":[" + (Long.parseLong(mt.group(1)) + 4) + "," + (Long.parseLong(mt.group(2)) + 4) + "]";
                String h = header.replaceFirst(Pattern.quote(first), Matcher.quoteReplacement(shifted));
                wts = AdapterMutations.rebuild(h, data);
            }
            case GARBAGE -> {
                wts = new byte[rnd.nextInt(0, 512)];
                rnd.nextBytes(wts);
                if (wts.length >= 8 && rnd.nextBoolean()) {
                    ByteBuffer.wrap(wts, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(rnd.nextInt(1, Math.max(2, wts.length - 7)));
                }
            }
            case NESTING -> {
                int depth = rnd.nextInt(33, 5000);
                String bomb = "[".repeat(depth) + "]".repeat(depth);
                if (rnd.nextBoolean()) {
                    wts = AdapterMutations.rebuild("{\"__metadata__\":" + bomb + "}", data);
                } else {
                    cfg = ("{\"format\":" + bomb + "}").getBytes(StandardCharsets.UTF_8);
                }
            }
        }
        return new byte[][] {cfg, wts};
    }

    static void flips(byte[] b, int from, int to, SplittableRandom rnd) {
        if (to <= from) {
            return;
        }
        int count = rnd.nextInt(1, 6);
        for (int i = 0; i < count; i++) {
            b[rnd.nextInt(from, to)] ^= (byte) (1 << rnd.nextInt(8));
        }
    }

    /** Replaces one number matched by a group of {@code regex} with a random, often hostile, value. */
    static String replaceNumber(String s, String regex, SplittableRandom rnd) {
        Matcher mt = Pattern.compile(regex).matcher(s);
        java.util.List<int[]> spans = new java.util.ArrayList<>();
        while (mt.find()) {
            for (int g = 1; g <= mt.groupCount(); g++) {
                spans.add(new int[] {mt.start(g), mt.end(g)});
            }
        }
        int[] span = spans.get(rnd.nextInt(spans.size()));
        String[] values = {"-1", "0", "1", "4", "99999999999999999999", "9223372036854775807", "-9223372036854775808",
                "1e309", "NaN", "2147483648", String.valueOf(rnd.nextInt(0, 4000)), "3.5", "\"7\"", "null", "[]"};
        return s.substring(0, span[0]) + values[rnd.nextInt(values.length)] + s.substring(span[1]);
    }

}
