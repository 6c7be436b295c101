package dev.nola.serve;

import dev.nola.kernels.Device;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.Generator;
import dev.nola.models.transformer.KvCache;
import dev.nola.models.transformer.RowAdapters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Continuous batching over one base for many adapters, on one thread that owns the device: requests
 * wait in a bounded queue (full: 429); at every token boundary the waiting ones join the running
 * batch (up to {@code maxBatch}) with a prefill of their prompt under their adapter, then one decode
 * step runs every running sequence at once ({@link CausalLm#forwardDecode}: the base's matmuls once for
 * the batch, each row's adapter on its own rows, rows grouped by adapter, a KV cache per sequence), and
 * finished or cancelled sequences leave, their caches freed and their adapters unpinned.
 *
 * <p>Tokens are picked as {@link Generator} picks them (one seeded {@link SplittableRandom} per
 * request, greedy at temperature 0), so a request gets the tokens {@code nola generate} would.
 */
final class BatchScheduler implements AutoCloseable {

    private final Device device;
    private final CausalLm prefill;
    private final CausalLm decode;
    private final MixedCache cache;
    private final int maxBatch;
    private final int candidates;
    private final BlockingQueue<Job> queue;
    private final int queueCapacity;
    private final List<Job> running = new ArrayList<>();
    private final Thread thread;
    private volatile boolean draining;
    private volatile boolean stopped;
    private final AtomicLong tokens = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private volatile int runningNow;

    /**
     * @param prefill    the base (no adapters of its own) for prompts: buffers sized per prompt
     * @param decode     the same base for decode steps (buffers sized per batch); may share weights with prefill
     * @param candidates the ids a token is picked among (the tokenizer's vocabulary)
     */
    BatchScheduler(Device device, CausalLm prefill, CausalLm decode, MixedCache cache, int maxBatch, int queueCapacity,
                   int candidates) {
        if (maxBatch < 1 || queueCapacity < 1) {
            throw new IllegalArgumentException("--max-batch " + maxBatch + ", --max-queue " + queueCapacity + "; expected both ≥ 1");
        }
        this.device = device;
        this.prefill = prefill;
        this.decode = decode;
        this.cache = cache;
        this.maxBatch = maxBatch;
        this.candidates = candidates;
        this.queueCapacity = queueCapacity;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.thread = Thread.ofPlatform().name("nola-batch").daemon(true).start(this::loop);
    }

    /**
     * Queues a job.
     *
     * @throws ApiError 429 when the queue is full, 503 while draining
     */
    void submit(Job j) {
        if (draining) {
            throw ApiError.draining();
        }
        if (!queue.offer(j)) {
            throw ApiError.queueFull(queueCapacity, 1);
        }
    }

    /** Stops taking jobs, lets every queued and running one finish (up to {@code timeoutMillis}), then stops. */
    void drain(long timeoutMillis) throws InterruptedException {
        draining = true;
        thread.join(timeoutMillis);
    }

    /** Sequences in the running batch now. */
    int running() {
        return runningNow;
    }

    /** Jobs waiting. */
    int queued() {
        return queue.size();
    }

    /** Tokens generated so far. */
    long tokens() {
        return tokens.get();
    }

    /** Jobs stopped by a cancel (client gone, stop string) while running. */
    long cancelled() {
        return cancelled.get();
    }

    /** Jobs finished so far (any reason). */
    long completed() {
        return completed.get();
    }

    private void loop() {
        while (!stopped) {
            try {
                if (running.isEmpty()) {
                    Job j = queue.poll(50, TimeUnit.MILLISECONDS);
                    if (j == null) {
                        if (draining) {
                            break;
                        }
                        continue;
                    }
                    admit(j);
                }
                Job j;
                while (running.size() < maxBatch && (j = queue.poll()) != null) {
                    admit(j);
                }
                running.removeIf(r -> {
                    if (r.cancelled()) {
                        cancelled.incrementAndGet();
                        finish(r, null);
                        return true;
                    }
                    return false;
                });
                runningNow = running.size();
                if (!running.isEmpty()) {
                    step();
                }
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                // a device failure mid-step: every running sequence fails, the server goes on
                ApiError err = ApiError.internal("generation failed: " + e);
                for (Job r : running) {
                    r.events.add(new Job.Failed(err));
                    finish(r, null);
                }
                running.clear();
            }
        }
        for (Job r : running) {
            finish(r, "length");
        }
        running.clear();
        Job j;
        while ((j = queue.poll()) != null) {
            j.events.add(new Job.Failed(ApiError.draining()));
        }
        runningNow = 0;
    }

    /** Prefill under the job's adapter and the first token; the job joins the batch unless it is done. */
    private void admit(Job j) {
        if (j.cancelled()) {
            return;
        }
        int t = j.prompt.length;
        try {
            j.mixed = j.adapter == null ? null : cache.acquire(j.adapter);
            j.cache = prefill.newCache(1, t + j.settings.maxNew());
            RowAdapters rows = j.mixed == null ? null : new RowAdapters(List.of(new RowAdapters.Segment(0, t, j.mixed.sites)));
            prefill.forwardCached(j.prompt, 1, t, j.cache, rows);
        } catch (ApiError e) {
            j.events.add(new Job.Failed(e));
            finish(j, null);
            return;
        } catch (RuntimeException e) {
            j.events.add(new Job.Failed(ApiError.internal("the prompt's prefill failed: " + e)));
            finish(j, null);
            return;
        }
        int v = prefill.spec().vocabulary();
        float[] row = new float[v];
        device.read(prefill.logits(), 0, row, 0, v); // forwardCached's logits: the last position only, [1, V]
        j.random = new SplittableRandom(j.settings.seed());
        if (!take(j, row)) {
            running.add(j);
        }
    }

    /** One decode step of every running sequence, rows grouped by adapter. */
    private void step() {
        running.sort(Comparator.comparing(Job::adapterName));
        int b = running.size();
        int[] ids = new int[b];
        List<KvCache> caches = new ArrayList<>(b);
        List<RowAdapters.Segment> segments = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            Job j = running.get(i);
            ids[i] = j.last;
            caches.add(j.cache);
            if (j.mixed != null) {
                int end = i;
                while (end + 1 < b && running.get(end + 1).mixed == j.mixed) {
                    end++;
                }
                if (i == 0 || running.get(i - 1).mixed != j.mixed) {
                    segments.add(new RowAdapters.Segment(i, end - i + 1, j.mixed.sites));
                }
            }
        }
        decode.forwardDecode(ids, caches, new RowAdapters(segments));
        int v = decode.spec().vocabulary();
        float[] all = new float[b * v];
        device.read(decode.logits(), 0, all, 0, b * v);
        List<Job> done = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            if (take(running.get(i), Arrays.copyOfRange(all, i * v, (i + 1) * v))) {
                done.add(running.get(i));
            }
        }
        running.removeAll(done);
        runningNow = running.size();
    }

    /** Picks the job's next token from its logits row and sends it; true when the job is finished (and freed). */
    private boolean take(Job j, float[] row) {
        int v = row.length;
        int next = Generator.pick(candidates < v ? Arrays.copyOf(row, candidates) : row, j.settings, j.random);
        j.made++;
        j.last = next;
        tokens.incrementAndGet();
        if (next == j.settings.stop()) {
            finish(j, "stop");
            return true;
        }
        j.events.add(new Job.Token(next));
        if (j.made >= j.settings.maxNew()) {
            finish(j, "length");
            return true;
        }
        return false;
    }

    /** Frees the job's cache and unpins its adapter; sends Done when {@code reason} is given. */
    private void finish(Job j, String reason) {
        if (j.cache != null) {
            j.cache.close();
            j.cache = null;
        }
        if (j.mixed != null) {
            cache.release(j.mixed);
            j.mixed = null;
        }
        if (reason != null) {
            j.events.add(new Job.Done(reason));
        }
        completed.incrementAndGet();
    }

    @Override
    public void close() {
        stopped = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
