package dev.nola.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.kernels.Device;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The matmuls against the peers in alternating rounds. The suite times every one of our cases and then
 * every peer case, minutes apart; on a machine whose speed drifts by 10–15% from one minute to the next
 * (a shared VM: measured here, numpy's own 1-thread sgemm moved from 200 to 170 GFLOP/s within a
 * minute) such a ratio carries that drift. Here each case runs in rounds — ours, then the peer's, then
 * the peer's, then ours, … — each round a few calls, so both sides of every round meet the same
 * machine, and the figure is the median over rounds of the peer's round median ÷ ours.
 *
 * <p>The peers run as {@link Session}s: a Python process that builds a case's inputs once and times
 * {@code reps} calls on each request (PyTorch through {@code torch_suite.py --serve}, numpy's sgemm
 * through {@link NumpyPeer#SERVE}).
 */
final class Paired {

    /** Rounds per case (the full plan), and the time each side of a round aims at. */
    static final int ROUNDS = 9;
    static final double ROUND_SECONDS = 0.1;
    static final int QUICK_ROUNDS = 3;
    static final double QUICK_ROUND_SECONDS = 0.02;
    /**
     * A pause after each side of a round. OpenBLAS's threads (the peers') spin for a while after a call
     * before they sleep (about 2²⁸ cycles unless built otherwise), and while they spin they take a core
     * from whatever runs next: in a first run here our sgemm right after numpy's took twice as long as
     * right after torch's. The pause lets them sleep first (and our pool's workers too, for fairness).
     */
    static final long SETTLE_MILLIS = 200;
    /**
     * Untimed calls that open each side of a round, as a fraction of its timed calls (at least one).
     * After the pause a side's first calls run slow for tens of milliseconds: here a 1 ms matmul of ours
     * took 1.5–1.8 ms over a whole 50-call round after a 0.2 s sleep and 1.0–1.2 ms without it (the
     * fork-join hand-off after the vCPUs have been idle, likely). OpenBLAS's threads spin between calls
     * and are hit less, so without the warm-up a round measured the pause more than the product.
     */
    static final double WARM_FRACTION = 0.5;
    /**
     * Untimed time that opens each side at least, in seconds: for the smallest products (0.3–0.4 ms)
     * half a round's calls were 10 ms, and they still ran 1.5× slower than back to back.
     */
    static final double WARM_SECONDS = 0.05;

    private Paired() {
    }

    /** A peer process answering timing requests, one JSON line each way. */
    static final class Session implements AutoCloseable {
        final String name;
        private final Process process;
        private final BufferedReader out;
        private final Writer in;
        final Map<String, Object> meta = new LinkedHashMap<>();

        private Session(String name, Process process) {
            this.name = name;
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        }

        /** Starts {@code cmd} (OpenBLAS's pinning variables removed) and waits for its "ready" line; null with a log line if it fails. */
        @SuppressWarnings("unchecked")
        static Session start(String name, List<String> cmd, PrintStream log) {
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().remove("OPENBLAS_CORETYPE");
            pb.environment().remove("OPENBLAS_L2_SIZE");
            pb.redirectError(ProcessBuilder.Redirect.INHERIT);
            try {
                Session s = new Session(name, pb.start());
                for (String line; (line = s.out.readLine()) != null; ) {
                    if (!line.startsWith("{")) {
                        continue;
                    }
                    JsonNode n = JsonLines.JSON.readTree(line);
                    if (n.has("meta")) {
                        s.meta.putAll(JsonLines.JSON.convertValue(n.get("meta"), Map.class));
                    } else if (n.has("ready")) {
                        return s;
                    }
                }
                log.println("  paired: the " + name + " peer ended before it was ready");
                s.close();
            } catch (IOException e) {
                log.println("  paired: the " + name + " peer did not start: " + e.getMessage());
            }
            return null;
        }

        /** Wall times of {@code reps} calls of the peer's case, seconds; null when the peer has no such case or failed. */
        double[] time(String group, String op, String shape, int reps) throws IOException {
            in.write("{\"group\":" + JsonLines.quote(group) + ",\"op\":" + JsonLines.quote(op) + ",\"shape\":"
                    + JsonLines.quote(shape) + ",\"reps\":" + reps + "}\n");
            in.flush();
            for (String line; (line = out.readLine()) != null; ) {
                if (line.startsWith("{")) {
                    JsonNode n = JsonLines.JSON.readTree(line);
                    if (!n.has("times_s")) {
                        return null;
                    }
                    double[] t = new double[n.get("times_s").size()];
                    for (int i = 0; i < t.length; i++) {
                        t[i] = n.get("times_s").get(i).asDouble();
                    }
                    return t;
                }
            }
            throw new IOException("the " + name + " peer ended");
        }

        @Override
        public void close() {
            try {
                in.close();
                if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (IOException e) {
                process.destroyForcibly();
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The median of {@code v} (upper middle for an even count), as the suite's timings take it. */
    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /**
     * Calls per side of a round: enough for about {@code seconds} at {@code once} seconds a call, at
     * least 1 and at most 50.
     */
    static int repsFor(double once, double seconds) {
        return (int) Math.max(1, Math.min(50, Math.ceil(seconds / Math.max(once, 1e-6))));
    }

    /**
     * The case on the device against the peer: {@code rounds} rounds, ours first in even rounds and the
     * peer's first in odd ones. A row of group {@code paired} whose times are ours (the median, best and
     * worst of the round medians), with the peer's round median and the ratios in {@code extra}; null
     * when the peer has no such case.
     */
    static Row run(Device d, Case c, Case.Prepared p, Session peer, int rounds, double seconds)
            throws IOException {
        Case.once(d, p);
        long t0 = System.nanoTime();
        Case.once(d, p);
        double once = (System.nanoTime() - t0) * 1e-9;
        int reps = repsFor(once, seconds);
        int warm = warmFor(reps, once);
        if (peer.time(c.group(), c.op(), c.shape(), 1) == null) {
            return null;
        }
        double[] ours = new double[rounds];
        double[] theirs = new double[rounds];
        double[] ratio = new double[rounds];
        settle();
        for (int r = 0; r < rounds; r++) {
            if (r % 2 == 0) {
                ours[r] = ourRound(d, p, warm, reps);
                theirs[r] = peerRound(peer, c, warm, reps);
            } else {
                theirs[r] = peerRound(peer, c, warm, reps);
                ours[r] = ourRound(d, p, warm, reps);
            }
            ratio[r] = theirs[r] / ours[r];
        }
        double[] sorted = ratio.clone();
        Arrays.sort(sorted);
        double[] o = ours.clone();
        Arrays.sort(o);
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("peer", peer.name);
        extra.put("peer_median_s", median(theirs));
        extra.put("speed_vs_peer", median(ratio));
        extra.put("speed_vs_peer_min", sorted[0]);
        extra.put("speed_vs_peer_max", sorted[rounds - 1]);
        extra.put("rounds", rounds);
        extra.put("reps_per_round", reps);
        extra.put("warmup_per_round", warm);
        return new Row("paired", c.op(), c.shape(), d.id(), 2 + rounds * warm, rounds * reps, o[0], median(ours), o[rounds - 1], c.flops(),
                c.bytes(), "timed as in its group (checked there)", extra);
    }

    /**
     * Untimed calls before a side's {@code reps} timed ones of about {@code once} seconds each: half as
     * many ({@link #WARM_FRACTION}), or enough for {@link #WARM_SECONDS}, whichever is more, at most 200.
     */
    static int warmFor(int reps, double once) {
        int byTime = (int) Math.min(200, Math.ceil(WARM_SECONDS / Math.max(once, 1e-6)));
        return Math.max(1, Math.max((int) Math.ceil(reps * WARM_FRACTION), byTime));
    }

    private static double peerRound(Session peer, Case c, int warm, int reps) throws IOException {
        double[] t = peer.time(c.group(), c.op(), c.shape(), warm + reps);
        if (t == null) {
            throw new IllegalStateException("the " + peer.name + " peer failed on " + c.op() + " " + c.shape());
        }
        settle();
        return median(Arrays.copyOfRange(t, warm, t.length));
    }

    private static void settle() {
        try {
            Thread.sleep(SETTLE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static double ourRound(Device d, Case.Prepared p, int warm, int reps) {
        double median = Timing.measure(new Timing.Plan(warm, reps, 0, reps), () -> Case.once(d, p)).median();
        settle();
        return median;
    }

    /** Cases of the linalg group paired with PyTorch: the matmuls (the group's other ops are bandwidth figures). */
    static List<Case> cases(List<Case> linalg) {
        List<Case> out = new ArrayList<>();
        for (Case c : linalg) {
            if (c.group().equals("linalg") && c.op().startsWith("matmul")) {
                out.add(c);
            }
        }
        return out;
    }
}
