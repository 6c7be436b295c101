package dev.nola.kernels.tornado;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.AdamWStep;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.common.TornadoDevice;

/**
 * Captured steps ({@link Device#capture}, run as one {@link Segment}) against the same ops run one
 * by one on another tornado device: the same kernels in the same order, so the same bits. The step is
 * a stack of {@value #LAYERS} small layers (matmul, bias, GELU, layernorm into views of one activation
 * buffer), cross-entropy, a gradient matmul per layer and AdamW: about 200 tasks, so several task
 * graphs, with weights used in the first graph and updated in the last (carried through the graphs
 * between).
 */
class SegmentTest {

    static final int LAYERS = 20;
    static final int N = 16;
    static final int C = 24;

    /** The tensors of the little model on one device. */
    static final class Model {
        final Device d;
        final int layers;
        final List<Tensor> w = new ArrayList<>();
        final List<Tensor> b = new ArrayList<>();
        final List<Tensor> gw = new ArrayList<>();
        final List<Tensor> m = new ArrayList<>();
        final List<Tensor> v = new ArrayList<>();
        final Tensor lnw;
        final Tensor lnb;
        final Tensor x;
        final Tensor acts;
        final Tensor pre;
        final Tensor gel;
        final Tensor mean;
        final Tensor rstd;
        final Tensor targets;
        final Tensor losses;
        final Tensor dlogits;
        int t;

        Model(Device d) {
            this(d, LAYERS);
        }

        Model(Device d, int layers) {
            this.d = d;
            this.layers = layers;
            SplittableRandom r = new SplittableRandom(7);
            for (int l = 0; l < layers; l++) {
                w.add(d.upload(random(r, C * C, 0.3f), C, C));
                b.add(d.upload(random(r, C, 0.1f), C));
                gw.add(d.allocate(C, C));
                m.add(d.allocate(C, C));
                v.add(d.allocate(C, C));
                d.linalg().fill(gw.get(l), 0f);
                d.linalg().fill(m.get(l), 0f);
                d.linalg().fill(v.get(l), 0f);
            }
            lnw = d.upload(random(r, C, 1f), C);
            lnb = d.upload(random(r, C, 0.1f), C);
            x = d.allocate(N, C);
            acts = d.allocate(layers + 1, N, C);
            pre = d.allocate(N, C);
            gel = d.allocate(N, C);
            mean = d.allocate(N);
            rstd = d.allocate(N);
            targets = d.allocate(dev.nola.kernels.DType.INT32, N);
            losses = d.allocate(N);
            dlogits = d.allocate(N, C);
        }

        Tensor act(int l) {
            return d.view(acts, (long) l * N * C, N, C);
        }

        /** One training step on the batch {@code input}; the host writes it (and the targets) inside the step. */
        void step(float[] input, int[] target) {
            t++;
            d.write(x, input);
            d.write(targets, target);
            d.copy(x, act(0));
            NnOps nn = d.nn();
            for (int l = 0; l < layers; l++) {
                d.linalg().matmul(false, false, 1f, act(l), w.get(l), 0f, pre);
                nn.biasForward(pre, b.get(l));
                nn.geluForward(NnOps.Gelu.TANH, pre, gel);
                nn.layerNormForward(gel, lnw, lnb, 1e-5f, act(l + 1), mean, rstd);
            }
            nn.crossEntropyForward(act(layers), targets, losses, 0f, -1);
            nn.crossEntropyBackward(act(layers), targets, dlogits, 0f, -1, 1f / N);
            AdamWStep s = new AdamWStep(1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, (float) (1 - Math.pow(0.9, t)),
                    (float) (1 - Math.pow(0.999, t)));
            for (int l = 0; l < layers; l++) {
                d.linalg().matmul(true, false, 1f, act(l), dlogits, 1f, gw.get(l));
                d.optim().adamw(w.get(l), gw.get(l), m.get(l), v.get(l), s, null);
                d.linalg().fill(gw.get(l), 0f);
            }
        }

        float[] weights() {
            float[] all = new float[layers * C * C];
            for (int l = 0; l < layers; l++) {
                System.arraycopy(d.read(w.get(l)), 0, all, l * C * C, C * C);
            }
            return all;
        }
    }

    static float[] random(SplittableRandom r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1) * scale;
        }
        return a;
    }

    static float[][] batches(int steps) {
        SplittableRandom r = new SplittableRandom(11);
        float[][] out = new float[steps][];
        for (int s = 0; s < steps; s++) {
            out[s] = random(r, N * C, 1f);
        }
        return out;
    }

    /** Plans for {@code td} with TornadoVM's profiler on (and this run's other settings), so a test can read the bytes copied. */
    static TornadoPlans profiledPlans(TornadoDevice td) {
        TornadoOptions options = TornadoOptions.fromSystemProperties();
        return new TornadoPlans(td, new TornadoOptions(true, options.traceFlush(), true, options.prologue(), options.tuneNativeHeap(),
                options.shareKernels()));
    }

    static int[] targets(int step) {
        int[] t = new int[N];
        for (int i = 0; i < N; i++) {
            t[i] = (i * 7 + step) % C;
        }
        return t;
    }

    @Test
    void capturedStepsReplayOnePlanAndMatchOpsRunOneByOne() {
        int steps = 4;
        float[][] in = batches(steps);
        try (Device eager = Backends.open("tornado:0:0"); Device captured = Backends.open("tornado:0:0")) {
            Model a = new Model(eager);
            Model c = new Model(captured);
            TornadoPlans plans = ((TornadoVmDevice) captured).plans();
            for (int s = 0; s < steps; s++) {
                int step = s;
                a.step(in[s], targets(s));
                captured.capture(() -> c.step(in[step], targets(step)));
                assertArrayEquals(eager.read(a.losses), captured.read(c.losses), "losses of step " + s);
                assertEquals(1, plans.capture().segmentsBuilt(), "segments built after step " + s);
                assertEquals(s + 1, plans.capture().segmentRuns(), "segment runs after step " + s);
            }
            assertArrayEquals(a.weights(), c.weights(), "weights after " + steps + " steps");
            assertArrayEquals(eager.read(a.acts), captured.read(c.acts), "activations");
            assertTrue(plans.capture().segments() == 1, "one segment held");
        }
    }

    /**
     * A step with more tensors live across it than a task graph holds (130 layers: each weight is used
     * in the forward pass and again in the update) is split into several segments,
     * what one writes and a later one reads passing through the host, and still replays without
     * rebuilding and matches the ops run one by one.
     */
    @Test
    void aStepTooBigForOneChainOfGraphsRunsAsSeveralSegments() {
        int steps = 2;
        float[][] in = batches(steps);
        var td = TornadoRuntimeAccess.device(0, 0);
        try (Device eager = Backends.open("tornado:0:0"); Device whole = Backends.open("tornado:0:0");
             Device split = new TornadoVmDevice(eager.info(), td, new TornadoPlans(td), false)) {
            Model a = new Model(eager, 130);
            Model w = new Model(whole, 130);
            Model c = new Model(split, 130);
            TornadoPlans plans = ((TornadoVmDevice) split).plans();
            TornadoPlans wholePlans = ((TornadoVmDevice) whole).plans();
            long perStep = 0;
            for (int s = 0; s < steps; s++) {
                int step = s;
                long before = plans.capture().segmentRuns();
                a.step(in[s], targets(s));
                split.capture(() -> c.step(in[step], targets(step)));
                whole.capture(() -> w.step(in[step], targets(step)));
                perStep = plans.capture().segmentRuns() - before;
                assertArrayEquals(eager.read(a.losses), split.read(c.losses), "losses of step " + s + ", split");
                assertArrayEquals(eager.read(a.losses), whole.read(w.losses), "losses of step " + s + ", arenas");
            }
            // each tensor an array of its own: more live across the step than one chain of graphs holds
            assertTrue(perStep > 1, "without arenas the step ran as " + perStep + " segment(s)");
            assertEquals(perStep, plans.capture().segmentsBuilt(), "each part built once, none rebuilt");
            // in arenas the same step passes a handful of arrays: one segment, built once
            assertEquals(1, wholePlans.capture().segmentsBuilt(), "segments built with arenas");
            assertEquals(steps, wholePlans.capture().segmentRuns(), "segment runs with arenas");
            assertArrayEquals(a.weights(), c.weights());
            assertArrayEquals(a.weights(), w.weights());
        }
    }

    /**
     * A replayed step copies in only what the host wrote inside it (the batch and the targets, as
     * arrays of their own) and the calls' parameter buffers, and copies out nothing until the losses
     * are read (their region of the arena only): TornadoVM's profiler, summed per device, says so.
     */
    @Test
    void aReplayedStepCopiesOnlyItsInputsAndTheLosses() {
        int steps = 3;
        float[][] in = batches(steps);
        var td = TornadoRuntimeAccess.device(0, 0);
        try (Device eager = Backends.open("tornado:0:0");
             TornadoVmDevice captured = new TornadoVmDevice(eager.info(), td, profiledPlans(td))) {
            Model a = new Model(eager, 4);
            Model c = new Model(captured, 4);
            java.util.Map<String, Long> before = null;
            for (int s = 0; s < steps; s++) {
                int step = s;
                if (s == 1) {
                    before = captured.backendCounters();
                }
                a.step(in[s], targets(s));
                captured.capture(() -> c.step(in[step], targets(step)));
                assertArrayEquals(eager.read(a.losses), captured.read(c.losses), "losses of step " + s);
            }
            java.util.Map<String, Long> after = captured.backendCounters();
            long replays = steps - 1;
            long copiedIn = (after.get("tornado.copy_in_bytes") - before.get("tornado.copy_in_bytes")) / replays;
            long copiedOut = (after.get("tornado.copy_out_bytes") - before.get("tornado.copy_out_bytes")) / replays;
            assertEquals(steps, captured.plans().capture().segmentRuns(), "one segment run per step");
            assertEquals(1, after.get("tornado.segments_built"), "built in the first step only");
            // in: the batch (N·C floats) and targets (N ints), plus a few words of parameters per call;
            // out: the losses (N floats). The weights, moments and activations (over 40 KB) never move.
            long inputs = (N * C + N) * 4L;
            assertTrue(copiedIn >= inputs && copiedIn < inputs + 16 * 1024, "bytes copied in per replayed step: " + copiedIn);
            assertEquals(N * 4L, copiedOut, "bytes copied out per replayed step");
        }
    }

    /**
     * Changes made outside the captured step between its runs (an op run on its own, a host write) are
     * seen by the next run: the segment notices the tensor's new version and is rebuilt, copying it in on
     * every run from then on.
     */
    @Test
    void changesBetweenRunsAreSeen() {
        float[][] in = batches(4);
        try (Device eager = Backends.open("tornado:0:0"); Device captured = Backends.open("tornado:0:0")) {
            Model a = new Model(eager);
            Model c = new Model(captured);
            TornadoPlans plans = ((TornadoVmDevice) captured).plans();
            for (int s = 0; s < 4; s++) {
                int step = s;
                if (s == 2) {
                    eager.linalg().scale(0.5f, a.w.get(3));
                    captured.linalg().scale(0.5f, c.w.get(3));
                    eager.write(a.b.get(0), new float[C]);
                    captured.write(c.b.get(0), new float[C]);
                }
                a.step(in[s], targets(s));
                captured.capture(() -> c.step(in[step], targets(step)));
                assertArrayEquals(eager.read(a.losses), captured.read(c.losses), "losses of step " + s);
            }
            assertArrayEquals(a.weights(), c.weights());
            // built once; rebuilt with the changed tensors' arenas copied in every run (the recording had
            // addressed them through their arenas); then once more, from the next recording on, with those
            // tensors on arrays of their own, copied in every run, and the arenas sent once
            assertEquals(3, plans.capture().segmentsBuilt(), "segments built, the outside changes included");
        }
    }

    /**
     * Once a segment has run, the host memory of the tensors it holds in arenas is given back
     * ({@link HostMemory#discard}): a weight's region of its arena reads as zeros on the host. A host
     * read then gets the device's data (the weights of the same steps run one by one), an op run on
     * its own after that starts from them, and the next captured step sees that op's change.
     */
    @Test
    void aSegmentGivesBackTheHostMemoryOfWhatItHoldsAndAReadGetsTheDevicesData() {
        int steps = 3;
        float[][] in = batches(steps + 1);
        try (Device eager = Backends.open("tornado:0:0"); Device captured = Backends.open("tornado:0:0")) {
            Model a = new Model(eager, 4);
            Model c = new Model(captured, 4);
            for (int s = 0; s < steps; s++) {
                int step = s;
                a.step(in[s], targets(s));
                captured.capture(() -> c.step(in[step], targets(step)));
            }
            TornadoTensor w0 = (TornadoTensor) c.w.get(0);
            TornadoTensor m0 = (TornadoTensor) c.m.get(0);
            for (TornadoTensor t : List.of(w0, m0)) {
                assertTrue(t.owner() != null, t + " is held by the segment");
                float[] host = t.segment().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                assertArrayEquals(new float[(int) t.size()], host, t + ": its host memory was given back, not kept");
            }
            assertArrayEquals(eager.read(a.w.get(0)), captured.read(c.w.get(0)), "a host read gets the device's data");
            assertArrayEquals(eager.read(a.m.get(0)), captured.read(c.m.get(0)), "the moments too");
            eager.linalg().scale(0.5f, a.w.get(1));
            captured.linalg().scale(0.5f, c.w.get(1));
            assertArrayEquals(eager.read(a.w.get(1)), captured.read(c.w.get(1)), "an op run on its own after the segment");
            a.step(in[steps], targets(steps));
            captured.capture(() -> c.step(in[steps], targets(steps)));
            assertArrayEquals(eager.read(a.losses), captured.read(c.losses), "the next captured step sees the op's change");
            assertArrayEquals(a.weights(), c.weights(), "weights after the next step");
        }
    }

    /** A host read inside a capture of what a recorded op wrote runs the recording first (two segments). */
    @Test
    void aReadInsideACaptureSeesTheOpsBeforeIt() {
        try (Device eager = Backends.open("tornado:0:0"); Device captured = Backends.open("tornado:0:0")) {
            float[][] got = new float[2][];
            for (int k = 0; k < 3; k++) {
                for (Device d : List.of(eager, captured)) {
                    Tensor p = d.upload(new float[] {1, 2, 3, 4}, 4);
                    Tensor q = d.allocate(4);
                    float[][] seen = new float[1][];
                    Runnable work = () -> {
                        d.linalg().fill(q, 2f);
                        d.linalg().axpy(3f, p, q);
                        seen[0] = d.read(q);
                        d.linalg().scale(2f, q);
                    };
                    if (d == captured) {
                        d.capture(work);
                    } else {
                        work.run();
                    }
                    assertArrayEquals(new float[] {5, 8, 11, 14}, seen[0], "read inside the capture");
                    got[d == eager ? 0 : 1] = d.read(q);
                    p.close();
                    q.close();
                }
                assertArrayEquals(got[0], got[1]);
                assertArrayEquals(new float[] {10, 16, 22, 28}, got[1]);
            }
            assertEquals(6, ((TornadoVmDevice) captured).plans().capture().segmentsBuilt(), "two segments per capture, new tensors each time");
        }
    }

    /**
     * The calls' scratch (matmul's packed B) is one array for the whole segment, as long as the largest
     * any call needs: a step of 20 packing matmuls (40 tasks, so two task graphs) holds no more device
     * memory than a step of one, where one scratch per graph held one more packed B. The results are the
     * ops' run one by one, bit for bit, though every call packs into the same array.
     */
    @Test
    void theCallsOfASegmentShareOneScratchArray() {
        int m = 64;
        int k = 256;
        int n = 1000; // not a multiple of the 16-column panel: B is packed into scratch first
        long scratchBytes = (n + 15) / 16 * 16L * k * 4;
        SplittableRandom r = new SplittableRandom(11);
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) r.nextDouble(-1, 1);
        }
        long[] held = new long[2];
        float[][] got = new float[2][];
        int[] calls = {1, 20};
        try (Device eager = Backends.open("tornado:0:0")) {
            Tensor ea = eager.upload(a, m, k);
            Tensor eb = eager.upload(b, k, n);
            Tensor ec = eager.allocate(m, n);
            eager.linalg().matmul(false, false, 1f, ea, eb, 0f, ec);
            float[] want = eager.read(ec);
            for (int i = 0; i < 2; i++) {
                int count = calls[i];
                try (Device d = Backends.open("tornado:0:0")) {
                    Tensor ta = d.upload(a, m, k);
                    Tensor tb = d.upload(b, k, n);
                    Tensor tc = d.allocate(m, n);
                    d.capture(() -> {
                        for (int c = 0; c < count; c++) {
                            d.linalg().matmul(false, false, 1f, ta, tb, 0f, tc);
                        }
                    });
                    TornadoPlans plans = ((TornadoVmDevice) d).plans();
                    assertEquals(1, plans.capture().segmentsBuilt());
                    held[i] = plans.cache().heldBytes();
                    got[i] = d.read(tc);
                }
                assertArrayEquals(want, got[i], count + " packing matmuls in one segment");
            }
        }
        assertTrue(held[1] - held[0] < scratchBytes / 2, "device bytes held by 20 packing matmuls (" + held[1]
                + ") and by one (" + held[0] + "): a packed B is " + scratchBytes);
    }

    /**
     * A segment's device copy of an arena ends at the last tensor it uses there
     * ({@link TornadoArenas.Chunk#prefix}): a little model in the first 4 MiB chunk holds a few
     * kilobytes on the device, not the chunk, and its steps match the ops run one by one.
     */
    @Test
    void aSegmentHoldsOnlyThePartOfAnArenaItUses() {
        int steps = 2;
        float[][] in = batches(steps);
        try (Device eager = Backends.open("tornado:0:0"); Device captured = Backends.open("tornado:0:0")) {
            Model a = new Model(eager, 4);
            Model c = new Model(captured, 4);
            TornadoVmDevice td = (TornadoVmDevice) captured;
            for (int s = 0; s < steps; s++) {
                int step = s;
                a.step(in[s], targets(s));
                captured.capture(() -> c.step(in[step], targets(step)));
                assertArrayEquals(eager.read(a.losses), captured.read(c.losses), "losses of step " + s);
            }
            assertArrayEquals(a.weights(), c.weights(), "weights after " + steps + " steps");
            assertEquals(1, td.arenas().chunks(), "one arena");
            long held = td.plans().cache().heldBytes();
            assertTrue(held < td.arenas().bytes() / 8, "device bytes held (" + held + ") against the arena's " + td.arenas().bytes());
        }
    }

    /**
     * Closing the tensors of a captured model one by one copies nothing back: the segment is dropped at
     * the first close and freed when nothing open needs its data. A tensor still open reads the device's
     * data (its region alone is copied back), and the segment goes when that one closes too.
     */
    @Test
    void closingACapturedModelCopiesBackOnlyWhatIsStillRead() {
        float[][] in = batches(2);
        var td = TornadoRuntimeAccess.device(0, 0);
        try (Device eager = Backends.open("tornado:0:0");
             TornadoVmDevice captured = new TornadoVmDevice(eager.info(), td, profiledPlans(td))) {
            Model a = new Model(eager, 4);
            Model c = new Model(captured, 4);
            for (int s = 0; s < 2; s++) {
                int step = s;
                a.step(in[s], targets(s));
                captured.capture(() -> c.step(in[step], targets(step)));
            }
            Capture capture = captured.plans().capture();
            long out0 = captured.backendCounters().get("tornado.copy_out_bytes");
            List<Tensor> rest = new ArrayList<>();
            for (int l = 0; l < 4; l++) {
                rest.addAll(List.of(c.b.get(l), c.gw.get(l), c.m.get(l), c.v.get(l)));
                if (l > 0) {
                    rest.add(c.w.get(l));
                }
            }
            rest.addAll(List.of(c.lnw, c.lnb, c.x, c.acts, c.pre, c.gel, c.mean, c.rstd, c.targets, c.losses, c.dlogits));
            rest.forEach(Tensor::close);
            assertEquals(0, captured.backendCounters().get("tornado.copy_out_bytes") - out0, "bytes copied back while closing");
            assertEquals(1, capture.dropped(), "the segment waits for its last open tensor");
            assertArrayEquals(eager.read(a.w.get(0)), captured.read(c.w.get(0)), "the tensor still open reads the device's data");
            assertEquals(C * C * 4L, captured.backendCounters().get("tornado.copy_out_bytes") - out0, "bytes copied back for the read");
            c.w.get(0).close();
            assertEquals(0, capture.dropped(), "freed once nothing open needs it");
            assertEquals(0, captured.plans().cache().heldBytes(), "device bytes held after closing everything");
        }
    }
}
