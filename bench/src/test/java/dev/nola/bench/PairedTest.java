package dev.nola.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PairedTest {

    /** A peer in a JVM of its own that speaks the serve protocol and claims every call took {@link #CLAIMED} s. */
    public static final class FakePeer {
        static final double CLAIMED = 0.5;

        public static void main(String[] args) throws Exception {
            System.out.println("not JSON: a peer may print other lines");
            System.out.println("{\"meta\": {\"peer\": \"fake\"}}");
            System.out.println("{\"ready\": 1}");
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                JsonNode q = JsonLines.JSON.readTree(line);
                StringBuilder sb = new StringBuilder("{\"group\":" + JsonLines.quote(q.get("group").asText()) + ",\"op\":"
                        + JsonLines.quote(q.get("op").asText()) + ",\"shape\":" + JsonLines.quote(q.get("shape").asText()));
                if (q.get("op").asText().equals("nope")) {
                    sb.append(",\"error\":\"no such case\"}");
                } else {
                    sb.append(",\"times_s\":[");
                    for (int i = 0; i < q.get("reps").asInt(); i++) {
                        sb.append(i == 0 ? "" : ",").append(CLAIMED);
                    }
                    sb.append("]}");
                }
                System.out.println(sb);
                System.out.flush();
            }
        }
    }

    private static Paired.Session fake(PrintStream log) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), FakePeer.class.getName()));
        return Paired.Session.start("fake", cmd, log);
    }

    @Test
    void aSessionReadsThePeersMetaAndTimesAndTellsAMissingCase() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (Paired.Session s = fake(new PrintStream(log, true, StandardCharsets.UTF_8))) {
            assertNotNull(s, log.toString(StandardCharsets.UTF_8));
            assertEquals("fake", s.meta.get("peer"));
            assertArrayEquals(new double[] {0.5, 0.5, 0.5}, s.time("linalg", "matmul", "8x8x8", 3));
            assertNull(s.time("linalg", "nope", "8x8x8", 3));
            assertArrayEquals(new double[] {0.5}, s.time("peaks", "sgemm", "8x8x8", 1), "the session goes on after a miss");
        }
    }

    @Test
    void aPeerThatEndsBeforeItIsReadyIsNoSession() {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Paired.Session s = Paired.Session.start("quiet", List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-version"), new PrintStream(log, true, StandardCharsets.UTF_8));
        assertNull(s);
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("the quiet peer ended before it was ready"), log.toString());
    }

    /**
     * With the peer's every call at 0.5 s, each round's ratio is 0.5 ÷ our round median, so the median of
     * the ratios over an odd number of rounds is 0.5 ÷ the median of our round medians, and the range
     * is bounded by our slowest and fastest rounds.
     */
    @Test
    void theRowCarriesTheMedianOfTheRoundRatiosAndOurRoundMedians() throws Exception {
        Case c = KernelCases.of(List.of("linalg")).stream().filter(x -> x.op().equals("matmul")).findFirst().orElseThrow();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (Paired.Session peer = fake(new PrintStream(log, true, StandardCharsets.UTF_8));
             Device d = Backends.open("cpu");
             Arena arena = new Arena(d)) {
            Row r = Paired.run(d, c, c.setup().on(arena, false), peer, 5, 0.0);
            assertEquals("paired", r.group());
            assertEquals(c.op(), r.op());
            assertEquals(c.shape(), r.shape());
            assertEquals("cpu", r.device());
            assertEquals("fake", r.extra().get("peer"));
            assertEquals(5, r.number("rounds"));
            assertEquals(1, Paired.warmFor(1, 1.0), "a side opens with at least one untimed call");
            assertEquals(5, Paired.warmFor(10, 0.01), "half as many as it times");
            int w = Paired.warmFor(50, 0.0004);
            assertTrue(w >= 125 && w <= 126, "or 0.05 s of calls: " + w);
            assertEquals(200, Paired.warmFor(50, 1e-6), "at most 200");
            assertEquals(1, r.number("reps_per_round"), "a round of at least 0 s is one call");
            assertEquals(0.5, r.number("peer_median_s"));
            assertEquals(0.5 / r.medianS(), r.number("speed_vs_peer"), 1e-12 * r.number("speed_vs_peer"));
            assertEquals(0.5 / r.maxS(), r.number("speed_vs_peer_min"), 1e-12 * r.number("speed_vs_peer"));
            assertEquals(0.5 / r.minS(), r.number("speed_vs_peer_max"), 1e-12 * r.number("speed_vs_peer"));
            assertTrue(r.minS() <= r.medianS() && r.medianS() <= r.maxS());
            c = new Case("linalg", "nope", c.shape(), c.flops(), c.bytes(), c.setup());
            assertNull(Paired.run(d, c, c.setup().on(arena, false), peer, 5, 0.0), "no row for a case the peer lacks");
        }
    }

    @Test
    void roundsAreAFewCallsOfAboutTheTimeAskedFor() {
        assertEquals(1, Paired.repsFor(0.3, 0.1));
        assertEquals(10, Paired.repsFor(0.01, 0.1));
        assertEquals(50, Paired.repsFor(1e-5, 0.1));
        assertEquals(1, Paired.repsFor(0.01, 0.0));
    }

    @Test
    void theReportShowsThePairedRows() {
        Row r = new Row("paired", "matmul", "512x768x768", "cpu", 2, 18, 0.0019, 0.002, 0.0022, 6e8, 0, "x",
                java.util.Map.of("peer", "torch", "peer_median_s", 0.0021, "speed_vs_peer", 1.05, "speed_vs_peer_min", 0.97,
                        "speed_vs_peer_max", 1.12, "rounds", 9, "reps_per_round", 2));
        String md = Report.markdown(new java.util.LinkedHashMap<>(), new java.util.LinkedHashMap<>(), List.of(r), "charts");
        assertTrue(md.contains("## Matmuls paired with the peers") && md.contains("in 9 alternating rounds"), md);
        assertTrue(md.contains("| cpu | matmul | 512x768x768 | 2.00 | torch | 2.10 | 1.05× | 0.97–1.12 |"), md);
    }
}
