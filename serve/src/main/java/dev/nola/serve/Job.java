package dev.nola.serve;

import dev.nola.models.lm.Generator;
import dev.nola.models.transformer.KvCache;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One completion in the scheduler: what to generate, and the events it sends back to the request's
 * HTTP thread (tokens as they are picked, then the end, or a failure). The HTTP side may cancel it (the
 * client went away, or a stop string matched); the scheduler then frees its cache at the next token
 * boundary.
 */
final class Job {

    /** What the scheduler sends back. */
    sealed interface Event permits Token, Done, Failed {
    }

    /** A new token id. */
    record Token(int id) implements Event {
    }

    /** The end: "stop" (the stop token) or "length" (max_tokens, or the context). */
    record Done(String finishReason) implements Event {
    }

    /** The job failed before or while running. */
    record Failed(ApiError error) implements Event {
    }

    final AdapterStore.AtRest adapter;
    final int[] prompt;
    final Generator.Settings settings;
    final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;

    // the scheduler's state, touched by its thread alone
    KvCache cache;
    MixedCache.Mixed mixed;
    SplittableRandom random;
    int made;
    int last;

    /** @param adapter the adapter, or null for the base alone */
    Job(AdapterStore.AtRest adapter, int[] prompt, Generator.Settings settings) {
        this.adapter = adapter;
        this.prompt = prompt;
        this.settings = settings;
    }

    /** The adapter's name, "" for the base (the scheduler groups rows by it). */
    String adapterName() {
        return adapter == null ? "" : adapter.name();
    }

    /** Asks the scheduler to stop this job and free its cache. */
    void cancel() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled;
    }
}
