package dev.nola.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link SgemmWorkers}: every part of a call runs exactly once, failures reach the caller, calls
 * from several threads at once each get their own bits, and idle workers park rather than spin.
 */
class SgemmWorkersTest {

    private static final int THREADS = Math.max(2, Runtime.getRuntime().availableProcessors());

    @Test
    void everyPartRunsOnceAndPartZeroOnTheCaller() {
        for (int call = 0; call < 200; call++) {
            AtomicIntegerArray runs = new AtomicIntegerArray(THREADS);
            AtomicReference<Thread> zero = new AtomicReference<>();
            assertTrue(SgemmWorkers.run(THREADS, t -> {
                runs.incrementAndGet(t);
                if (t == 0) {
                    zero.set(Thread.currentThread());
                }
            }));
            for (int t = 0; t < THREADS; t++) {
                assertEquals(1, runs.get(t), "call " + call + ", part " + t);
            }
            assertSame(Thread.currentThread(), zero.get(), "part 0 runs on the caller");
        }
    }

    @Test
    void aFailingPartReachesTheCallerAndTheWorkersStayUsable() {
        IllegalArgumentException boom = new IllegalArgumentException("part 1 failed");
        assertSame(boom, assertThrows(IllegalArgumentException.class, () -> SgemmWorkers.run(THREADS, t -> {
            if (t == 1) {
                throw boom;
            }
        })));
        AtomicIntegerArray runs = new AtomicIntegerArray(THREADS);
        assertTrue(SgemmWorkers.run(THREADS, runs::incrementAndGet));
        for (int t = 0; t < THREADS; t++) {
            assertEquals(1, runs.get(t), "part " + t + " after a failure");
        }
    }

    /** A second caller while the workers are busy is told so (and Sgemm then takes the common pool). */
    @Test
    void aCallWhileBusyIsRefused() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread first = new Thread(() -> SgemmWorkers.run(THREADS, t -> {
            if (t == 0) {
                inside.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }));
        first.start();
        inside.await();
        try {
            assertFalse(SgemmWorkers.run(THREADS, t -> { }));
        } finally {
            release.countDown();
            first.join();
        }
        assertTrue(SgemmWorkers.run(THREADS, t -> { }));
    }

    /** Products from four threads at once (most find the workers busy) have the bits of each computed alone. */
    @Test
    void concurrentProductsKeepTheirBits() throws Exception {
        int m = 96;
        int n = 3 * Sgemm.NR + 5;
        int k = 300;
        SplittableRandom r = new SplittableRandom(43);
        List<float[]> as = new ArrayList<>();
        List<float[]> bs = new ArrayList<>();
        List<float[]> alone = new ArrayList<>();
        for (int q = 0; q < 4; q++) {
            float[] a = new float[m * k];
            float[] b = new float[k * n];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (r.nextDouble() - 0.5);
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (r.nextDouble() - 0.5);
            }
            as.add(a);
            bs.add(b);
            alone.add(product(a, b, m, n, k));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            for (int round = 0; round < 20; round++) {
                List<Future<float[]>> got = new ArrayList<>();
                for (int q = 0; q < 4; q++) {
                    float[] a = as.get(q);
                    float[] b = bs.get(q);
                    got.add(pool.submit(() -> product(a, b, m, n, k)));
                }
                for (int q = 0; q < 4; q++) {
                    float[] want = alone.get(q);
                    float[] have = got.get(q).get();
                    for (int i = 0; i < want.length; i++) {
                        assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(have[i]),
                                "round " + round + ", product " + q + ", element " + i);
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    /** Within a bounded time of the last call, every worker is parked (TIMED_WAITING: its keep-alive), not spinning. */
    @Test
    void idleWorkersPark() throws Exception {
        assertTrue(SgemmWorkers.run(THREADS, t -> { }));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            List<String> running = new ArrayList<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().startsWith("nola-sgemm-") && t.isAlive() && t.getState() != Thread.State.WAITING
                        && t.getState() != Thread.State.TIMED_WAITING) {
                    running.add(t.getName() + " " + t.getState());
                }
            }
            if (running.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("still not parked 5 s after the last call: " + running);
            }
            Thread.sleep(10);
        }
    }

    /** Retired workers end; the next call starts new ones and runs every part. */
    @Test
    void retiredWorkersEndAndALaterCallStartsNewOnes() throws Exception {
        assertTrue(SgemmWorkers.run(THREADS, t -> { }));
        Thread[] old = SgemmWorkers.threads();
        assertTrue(old.length >= 1, "workers after a call");
        assertTrue(SgemmWorkers.retire());
        for (Thread t : old) {
            t.join(5_000);
            assertFalse(t.isAlive(), t.getName() + " still alive 5 s after retire()");
        }
        AtomicIntegerArray runs = new AtomicIntegerArray(THREADS);
        assertTrue(SgemmWorkers.run(THREADS, runs::incrementAndGet));
        for (int t = 0; t < THREADS; t++) {
            assertEquals(1, runs.get(t), "part " + t + " after retire()");
        }
        assertFalse(java.util.Arrays.asList(old).contains(SgemmWorkers.threads()[0]), "new workers");
    }

    private static float[] product(float[] a, float[] b, int m, int n, int k) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment as = arena.allocateFrom(JAVA_FLOAT, a);
            MemorySegment bs = arena.allocateFrom(JAVA_FLOAT, b);
            MemorySegment cs = arena.allocate(4L * m * n, 64);
            Sgemm.gemm(false, false, 1f, as, 0, k, bs, 0, n, 0f, cs, 0, n, m, n, k);
            return cs.toArray(JAVA_FLOAT);
        }
    }
}
