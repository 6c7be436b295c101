package dev.nola.kernels.cpu;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The threads that run {@link Sgemm}'s parts beside the caller: one daemon thread per core but the
 * caller's, each of which, after a part, keeps watching for the next call for at most
 * {@link #SPIN_NS} before it parks; the caller runs part 0 itself, then any part no worker has
 * claimed, and waits for the others the same way. A call that finds the workers busy (another
 * thread's product) returns false and its caller takes another way.
 *
 * <p>Why not the common fork-join pool: its worker parks as soon as it finds no work, so each
 * product wakes it through the kernel (a probe here: 90 voluntary context switches of the pool's
 * worker per 100 back-to-back 512 × 768 × 768 products), and the second part starts that much late
 * or runs after the first on the caller. OpenBLAS's threads (PyTorch's here) spin between calls, for
 * about 2²⁸ cycles. On one thread the step's products matched PyTorch's (thread CPU time 0.91–1.06×
 * per shape, within the ±8% of runs in separate processes; the LM head's logits 0.90–0.93×) while
 * on two they ran at 0.84–0.91× (paired bench). Under the load of that probe (8 runnable threads
 * on 2 vCPUs) these workers parked as often, their spin cut short by preemption, so the gain in
 * time is for a quiet machine to show: see the commit that added this class.
 *
 * <p>Idle, the workers are parked (no CPU), and after {@link #KEEP_ALIVE_NS} without a call they end;
 * they are daemons, so they never hold the JVM open.
 */
final class SgemmWorkers {

    /**
     * How long a worker (or the waiting caller) spins for the next call (or the last part) before it
     * parks: long enough for products called back to back (a few µs apart in the bench's rounds, and
     * the step's q/k/v or gate/up projections), short enough that the spin costs at most this much
     * of one core after each product while the step's other kernels take the cores.
     */
    static final long SPIN_NS = 50_000;

    /**
     * How long the workers stay parked without a call before they end (a later call starts new ones):
     * a program that stops multiplying keeps no threads of ours, as the common pool keeps none.
     */
    static final long KEEP_ALIVE_NS = 30_000_000_000L;

    private static volatile SgemmWorkers shared;

    private final Worker[] workers;
    private final AtomicBoolean busy = new AtomicBoolean();
    /** The latest call; a worker claims parts of each call it sees (none, when all are claimed). */
    private volatile Call call;
    /** Set once the workers have ended or are ending; {@link #busy} then stays taken for good. */
    private volatile boolean closed;

    /**
     * One call's parts, published whole so that a worker reads the parts and the work of the same call.
     * Parts are claimed, not assigned: the caller holds part 0, and a worker takes the next unclaimed
     * one; the caller, done with its own, runs any that no worker has claimed yet. A worker that is
     * late (parked, or its core taken by another process) then costs the call nothing but its own
     * share, as a fork-join task that no worker stole runs on the thread that joins it.
     */
    private static final class Call {
        final int parts;
        final IntConsumer work;
        /** The next unclaimed part. */
        final AtomicInteger next = new AtomicInteger(1);
        /** Parts not yet ended. */
        final AtomicInteger pending;
        volatile Throwable failure;
        volatile Thread waiter;

        Call(int parts, IntConsumer work) {
            this.parts = parts;
            this.work = work;
            this.pending = new AtomicInteger(parts);
        }

        /** Claims and runs parts until none is left unclaimed. */
        void runClaimed() {
            for (int t; (t = next.getAndIncrement()) < parts; ) {
                runPart(t);
            }
        }

        void runPart(int t) {
            try {
                work.accept(t);
            } catch (Throwable e) {
                if (failure == null) {
                    failure = e;
                }
            }
            if (pending.decrementAndGet() == 0) {
                Thread w = waiter;
                if (w != null) {
                    LockSupport.unpark(w);
                }
            }
        }

        /** Spins for at most SPIN_NS, then parks, until every other part has ended. */
        void awaitParts() {
            long deadline = System.nanoTime() + SPIN_NS;
            for (int spins = 0; pending.get() > 0; spins++) {
                if ((spins & 63) != 0 || System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                    continue;
                }
                waiter = Thread.currentThread();
                while (pending.get() > 0) {
                    LockSupport.park(this);
                }
                return;
            }
        }
    }

    private SgemmWorkers(int count) {
        workers = new Worker[count];
        for (int i = 0; i < count; i++) {
            workers[i] = new Worker(i + 1);
            workers[i].start();
        }
    }

    /** The workers for {@code threads} threads in all (the caller and threads − 1 others). */
    private static SgemmWorkers of(int threads) {
        SgemmWorkers w = shared;
        if (w == null || w.workers.length < threads - 1) {
            synchronized (SgemmWorkers.class) {
                w = shared;
                if (w == null || w.workers.length < threads - 1) {
                    // An older, smaller set (the processor count grew) ends after its keep-alive.
                    w = new SgemmWorkers(threads - 1);
                    shared = w;
                }
            }
        }
        return w;
    }

    /**
     * Runs {@code work.accept(t)} for every t &lt; parts, t = 0 on the calling thread and the others on
     * the workers, and returns once all have ended (rethrowing the first failure); returns false
     * without running anything when the workers are already running another call's parts.
     */
    static boolean run(int parts, IntConsumer work) {
        while (true) {
            SgemmWorkers w = of(parts);
            if (!w.busy.compareAndSet(false, true)) {
                if (w.closed) {
                    continue; // retired between of() and here: of() now starts new ones
                }
                return false;
            }
            try {
                w.runParts(new Call(parts, work));
            } finally {
                w.busy.set(false);
            }
            return true;
        }
    }

    /**
     * Ends the current workers once no call is running (a later call starts new ones); what a
     * worker does itself after {@link #KEEP_ALIVE_NS} idle. False when a call holds them.
     */
    static boolean retire() {
        SgemmWorkers w = shared;
        return w != null && w.close();
    }

    private boolean close() {
        if (!busy.compareAndSet(false, true)) {
            return false;
        }
        closed = true;
        synchronized (SgemmWorkers.class) {
            if (shared == this) {
                shared = null;
            }
        }
        for (Worker k : workers) {
            LockSupport.unpark(k);
        }
        return true;
    }

    /** The current workers' threads (for tests: that they park when idle and end when retired). */
    static Thread[] threads() {
        SgemmWorkers w = shared;
        return w == null ? new Thread[0] : w.workers.clone();
    }

    private void runParts(Call c) {
        call = c;
        for (int i = 0; i < c.parts - 1; i++) {
            Worker k = workers[i];
            if (k.parked) {
                LockSupport.unpark(k);
            }
        }
        c.runPart(0);
        c.runClaimed();
        c.awaitParts();
        Throwable first = c.failure;
        if (first instanceof RuntimeException r) {
            throw r;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw new IllegalStateException(first);
        }
    }

    private final class Worker extends Thread {
        /** Set just before the worker parks; a caller unparks a worker it sees set (and the worker re-checks first). */
        volatile boolean parked;

        Worker(int index) {
            super("nola-sgemm-" + index);
            setDaemon(true);
        }

        @Override
        public void run() {
            // Not the field: a call published before this thread first runs would be taken as seen.
            Call seen = null;
            while (true) {
                Call c = awaitCall(seen);
                if (c == null) {
                    return;
                }
                seen = c;
                c.runClaimed();
            }
        }

        /**
         * The next call after {@code seen}: spins for at most SPIN_NS, then parks; null once the
         * workers are closed (by {@link #retire}, or here after KEEP_ALIVE_NS without a call).
         */
        private Call awaitCall(Call seen) {
            long deadline = System.nanoTime() + SPIN_NS;
            Call c;
            for (int spins = 0; (c = call) == seen; spins++) {
                if (closed) {
                    return null;
                }
                if ((spins & 63) != 0 || System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true;
                long idleSince = System.nanoTime();
                while ((c = call) == seen && !closed) {
                    LockSupport.parkNanos(this, KEEP_ALIVE_NS);
                    if (call == seen && System.nanoTime() - idleSince >= KEEP_ALIVE_NS) {
                        close(); // fails, harmlessly, when a call has just taken the workers
                    }
                }
                parked = false;
                return c == seen ? null : c;
            }
            return c;
        }
    }
}
