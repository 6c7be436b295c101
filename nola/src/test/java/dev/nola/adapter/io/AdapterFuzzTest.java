package dev.nola.adapter.io;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.nola.adapter.NolaConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Property test of the adapter parser over 12,000 mutated adapters (seeded): truncation, header
 * length huge / negative / zero / off by a little, flipped bytes in header and data, offsets out of
 * range or overlapping, unknown dtypes, shapes disagreeing with byte counts, invalid or mutated JSON
 * in both files, NaN and infinite coefficients, nesting bombs, random garbage. Each must either load
 * (a benign mutation, e.g. a changed coefficient) or fail with an {@link InvalidFileException};
 * anything else (another exception, an OutOfMemoryError, a hang past the time limit) fails the test.
 */
class AdapterFuzzTest {

    static final int ITERATIONS = 12_000;

    enum Mutation {
        TRUNCATE, HEADER_LENGTH, FLIP_HEADER, FLIP_ANY, OFFSETS, DTYPE, SHAPE, NON_FINITE, CONFIG_BYTES, CONFIG_NUMBER,
        OVERLAP, GARBAGE, NESTING
    }

    @Test
    void mutatedAdaptersFailCleanly() {
        NolaConfig c = AdapterFilesTest.CONFIG.withQuantization(NolaConfig.FLOAT_BITS, false);
        SavedNola base;
        try (var d = dev.nola.kernels.Backends.open("reference")) {
            base = SavedNola.of(AdapterFilesTest.adapters(d, c));
        }
        byte[] cfg = NolaAdapterFiles.configJson(base);
        byte[] wts = NolaAdapterFiles.weights(base);
        NolaAdapterFiles.parse(cfg, wts, "valid"); // the unmutated pair loads
        Map<Mutation, int[]> tally = new EnumMap<>(Mutation.class); // {accepted, rejected}
        assertTimeoutPreemptively(Duration.ofSeconds(180), () -> {
            SplittableRandom rnd = new SplittableRandom(20240501);
            for (int it = 0; it < ITERATIONS; it++) {
                Mutation m = Mutation.values()[rnd.nextInt(Mutation.values().length)];
                byte[][] pair = mutate(m, cfg.clone(), wts.clone(), rnd);
                int[] t = tally.computeIfAbsent(m, x -> new int[2]);
                try {
                    NolaAdapterFiles.parse(pair[0], pair[1], "fuzz" + it);
                    t[0]++;
                } catch (InvalidFileException e) {
                    assertTrue(e.getMessage() != null && e.getMessage().startsWith("fuzz" + it),
                            "message names the file: " + e.getMessage());
                    t[1]++;
                } catch (Throwable e) {
                    fail("iteration " + it + " (" + m + ") threw " + e, e);
                }
            }
        });
        int rejected = tally.values().stream().mapToInt(t -> t[1]).sum();
        int total = tally.values().stream().mapToInt(t -> t[0] + t[1]).sum();
        assertTrue(total == ITERATIONS && rejected > ITERATIONS / 2, "rejected " + rejected + " of " + total);
        for (Mutation m : new Mutation[] {Mutation.TRUNCATE, Mutation.HEADER_LENGTH, Mutation.DTYPE,
                Mutation.SHAPE, Mutation.NON_FINITE, Mutation.OVERLAP, Mutation.GARBAGE, Mutation.NESTING}) {
            // (OFFSETS and the flips may draw the value already there, which is benign)
            assertTrue(tally.get(m)[0] == 0, m + " must always be rejected; accepted " + tally.get(m)[0]);
        }
        StringBuilder sb = new StringBuilder("fuzz tally (accepted/rejected):");
        tally.forEach((m, t) -> sb.append(' ').append(m).append('=').append(t[0]).append('/').append(t[1]));
        System.out.println(sb);
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
            case OFFSETS -> wts = rebuild(replaceNumber(header, "\"data_offsets\":\\[(\\d+),(\\d+)\\]", rnd), data);
            case DTYPE -> {
                String[] types = {"F33", "f32", "", "U8", "I64", "F16", "BF16", "BOOL", "\\u0000", "F32\"x"};
                wts = rebuild(header.replaceFirst("\"dtype\":\"F32\"", "\"dtype\":\"" + types[rnd.nextInt(types.length)] + "\""), data);
            }
            case SHAPE -> {
                String[] shapes = {"[]", "[0]", "[25]", "[23]", "[-1]", "[2147483647,2147483647]", "[4294967296]",
                        "[1.5]", "[\"24\"]", "[24,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", "[3,8]", "[48]"};
                String s = shapes[rnd.nextInt(shapes.length)];
                if (s.equals("[3,8]")) { // same elements, wrong shape for a coefficient vector
                    s = "[3,8]";
                }
                wts = rebuild(header.replaceFirst("\"shape\":\\[24\\]", "\"shape\":" + s), data);
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
                wts = rebuild(h, data);
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
                    wts = rebuild("{\"__metadata__\":" + bomb + "}", data);
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

    static byte[] rebuild(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }
}
