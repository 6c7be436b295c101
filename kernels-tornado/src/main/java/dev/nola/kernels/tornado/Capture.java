package dev.nola.kernels.tornado;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import uk.ac.manchester.tornado.api.common.TornadoDevice;

/**
 * Capture on one device ({@link dev.nola.kernels.Device#capture}): while {@link #run} runs its work,
 * every kernel call is recorded ({@link RecordedCall}) instead of run, and the recording then runs as
 * {@link Segment}s, built the first time a sequence of calls (their {@link CallKey}s) is recorded and
 * replayed after that. Keeps the segments (at most {@value #MAX_SEGMENTS}, within the device's
 * {@link MemoryBudget}) and decides which tensors a recorded call addresses through their arena
 * ({@link #inArena}).
 */
final class Capture {

    /** Recordings whose segments are kept per device at most (each holds device copies of every tensor it uses). */
    static final int MAX_SEGMENTS = 8;

    private final TornadoDevice device;
    private final TornadoOptions options;
    private final TornadoProfile profile;
    private final MemoryBudget budget;
    private final Placeholders placeholders;
    /** Frees the compiled plans of the ops run one by one ({@link PlanCache}) before a segment is built. */
    private final Runnable freePlans;
    private boolean recording;
    private boolean discarding;
    private final List<RecordedCall> pending = new ArrayList<>();
    private final Map<TornadoTensor, Boolean> pendingUse = new IdentityHashMap<>();
    private final Map<List<CallKey>, Chain> segments = new LinkedHashMap<>(16, 0.75f, true);
    /**
     * Segments dropped because a tensor they use closed ({@link #evict}), not freed yet: never run again,
     * but still holding the latest data of the tensors they wrote. Freed, copying back what is still open,
     * at the next {@link #flush}, or at once when every tensor they hold is closed or held elsewhere.
     * Why: closing a captured model closes its tensors one by one, and freeing the segment at the first
     * close copied every other tensor back to the host just before it too was closed (a GPT-2 124M
     * materialised model: the RSS rose from 2.95 to 4.9 GB while closing).
     */
    private final List<Segment> dropped = new ArrayList<>();
    /** Tensors found changed outside a segment between its runs: later segments copy them in every run. */
    private final Set<TornadoTensor> everyExecution = Collections.newSetFromMap(new IdentityHashMap<>());
    private long segmentsBuilt;
    private long segmentRuns;
    private long tasksBuilt;
    private long kernelsShared;

    Capture(TornadoDevice device, TornadoOptions options, TornadoProfile profile, MemoryBudget budget, Placeholders placeholders,
            Runnable freePlans) {
        this.device = device;
        this.freePlans = freePlans;
        this.options = options;
        this.profile = profile;
        this.budget = budget;
        this.placeholders = placeholders;
    }

    /**
     * Whether a recorded call addresses {@code t} through its arena ({@link TornadoArenas}): while
     * recording, for a float32 tensor that lives in an arena and that the host does not write between a
     * segment's runs (those travel on their own, copied in every run, so the arena itself is sent once).
     * Outside a capture every op uses the tensor's own array, so a plan of its own moves that tensor alone.
     */
    boolean inArena(TornadoTensor t) {
        return recording && t.region() != null && !everyExecution.contains(t);
    }

    /** Whether ops are being recorded ({@link #run}) rather than run one by one. */
    boolean recording() {
        return recording;
    }

    /**
     * Runs {@code work} with every op recorded instead of run, then runs the recording as one
     * {@link Segment}: built (compiled) the first time this sequence of calls on these storages is
     * recorded, replayed after that. A host read of a tensor a recorded op writes, a host write to
     * one a recorded op uses, or {@link TornadoVmDevice#synchronize} runs what was recorded so far
     * first, so results are those of running the ops one by one; such a read splits the sequence into
     * two segments. Nested captures join the outer one.
     */
    void run(Runnable work) {
        if (recording) {
            work.run();
            return;
        }
        recording = true;
        try {
            work.run();
        } finally {
            recording = false;
            flush();
        }
    }

    void record(RecordedCall call) {
        pending.add(call);
        for (RecordedCall.Arg a : call.args()) {
            pendingUse.merge(a.tensor(), a.written(), Boolean::logicalOr);
        }
    }

    /** Before the host reads a tensor: runs the recording if it writes it, and makes the array current. */
    void beforeHostRead(TornadoTensor t) {
        if (Boolean.TRUE.equals(pendingUse.get(t))) {
            flush();
        }
        t.toHost();
    }

    /** Before the host writes a tensor: runs the recording if it uses it, and makes the array current. */
    void beforeHostWrite(TornadoTensor t) {
        if (pendingUse.containsKey(t)) {
            flush();
        }
        t.toHost();
        if (recording) {
            // written by the host inside the captured unit: it will be again on every run of it
            everyExecution.add(t);
        }
    }

    /**
     * A recording's execution plans: one {@link Segment} per part of it ({@link Segment#parts}), each
     * with the range of calls it runs.
     */
    private record Chain(List<Segment> parts, List<int[]> ranges) {

        boolean uses(TornadoTensor t) {
            for (Segment s : parts) {
                if (s != null && s.uses(t)) { // null: a part not built yet, or whose build failed
                    return true;
                }
            }
            return false;
        }
    }

    /** Runs what was recorded so far (its segments built, or replayed when the same sequence ran before). */
    void flush() {
        if (pending.isEmpty()) {
            return;
        }
        if (recording && options.traceFlush()) {
            new Throwable("flush inside a capture after " + pending.size() + " calls").printStackTrace();
        }
        List<RecordedCall> calls = new ArrayList<>(pending);
        pending.clear();
        pendingUse.clear();
        if (discarding) {
            return;
        }
        freeDropped();
        List<CallKey> key = new ArrayList<>(calls.size());
        for (RecordedCall c : calls) {
            key.add(c.key());
        }
        Chain chain = segments.get(key);
        if (chain == null) {
            List<int[]> ranges = Segment.parts(calls);
            List<Segment> parts = new ArrayList<>();
            for (int k = 0; k < ranges.size(); k++) {
                parts.add(null);
            }
            chain = new Chain(parts, ranges);
            segments.put(key, chain);
        }
        // tensors found changed between runs join everyExecution only after this recording's segments are
        // built: its calls chose arena or own array when they were recorded, and the build must agree
        Set<TornadoTensor> changed = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int k = 0; k < chain.parts().size(); k++) {
            int[] r = chain.ranges().get(k);
            List<RecordedCall> part = calls.subList(r[0], r[1]);
            Segment s = chain.parts().get(k);
            if (s != null) {
                List<TornadoTensor> stale = s.stale();
                if (!stale.isEmpty() || !s.fits(part)) {
                    changed.addAll(stale);
                    freeSegment(s);
                    s = null;
                }
            }
            if (s == null) {
                // what the other parts of this recording write changes between this part's runs
                Set<TornadoTensor> every = Collections.newSetFromMap(new IdentityHashMap<>());
                every.addAll(everyExecution);
                every.addAll(changed);
                for (int j = 0; j < calls.size(); j++) {
                    if (j < r[0] || j >= r[1]) {
                        for (RecordedCall.Arg a : calls.get(j).args()) {
                            if (a.written()) {
                                every.add(a.tensor());
                            }
                        }
                    }
                }
                // The plans of the ops run one by one so far (initialisation: fills, uploads, the first
                // optimizer state) each hold a device copy of their tensors, and the budget is half the
                // device's memory, so they would stay: a GPT-2 124M model's weights once more, which on
                // a CPU device (PoCL) is host memory. Their data is on the host (a plan copies its
                // outputs back), so they can go; an op later run alone builds its plan again.
                freePlans.run();
                HostMemory.trimNativeHeap();
                s = new Segment(part, device, TornadoPlans.OPENCL_FLAGS, every, placeholders.all(), options, profile);
                segmentsBuilt++;
                budget.add(s.deviceBytes());
                chain.parts().set(k, s);
                s.run(s.calls);
                tasksBuilt += s.kernels().tasks();
                kernelsShared += s.kernels().shared();
            } else {
                s.run(part);
            }
            segmentRuns++;
        }
        everyExecution.addAll(changed);
        Iterator<Chain> it = segments.values().iterator();
        while ((segments.size() > MAX_SEGMENTS || budget.exceeded()) && segments.size() > 1) {
            Chain eldest = it.next();
            if (eldest == chain) {
                continue;
            }
            it.remove();
            eldest.parts().forEach(this::freeSegment);
        }
    }

    private void freeSegment(Segment s) {
        if (s == null) {
            return; // a part whose build failed
        }
        budget.remove(s.deviceBytes());
        s.close(discarding);
    }

    /** Segments built so far (a replayed step builds none). */
    long segmentsBuilt() {
        return segmentsBuilt;
    }

    /** Tasks of the segments built so far. */
    long tasksBuilt() {
        return tasksBuilt;
    }

    /** Of those, the tasks that ran a kernel compiled for another task instead of their own ({@link SharedKernels}). */
    long kernelsShared() {
        return kernelsShared;
    }

    /** Segment runs so far, builds included. */
    long segmentRuns() {
        return segmentRuns;
    }

    /** The segments held now, in the order they were last run (for tests). */
    List<Segment> held() {
        List<Segment> out = new ArrayList<>();
        for (Chain c : segments.values()) {
            out.addAll(c.parts());
        }
        return out;
    }

    /** Segments held now. */
    int segments() {
        return segments.size();
    }

    /** The device is closing: recorded calls are dropped and nothing is copied back any more. */
    void discard() {
        discarding = true;
        pending.clear();
        pendingUse.clear();
    }

    /**
     * Drops the segments that use a tensor being closed (running the recording first if it uses it): they
     * never run again, and are freed once nothing open needs their data ({@link #dropped}).
     */
    void evict(TornadoTensor t) {
        if (pendingUse.containsKey(t)) {
            flush();
        }
        Iterator<Chain> si = segments.values().iterator();
        while (si.hasNext()) {
            Chain c = si.next();
            if (c.uses(t)) {
                si.remove();
                for (Segment s : c.parts()) {
                    if (s != null) {
                        dropped.add(s);
                    }
                }
            }
        }
        everyExecution.remove(t);
        Iterator<Segment> di = dropped.iterator();
        while (di.hasNext()) {
            Segment s = di.next();
            if (!s.holdsOpenTensors()) {
                di.remove();
                freeSegment(s); // nothing to copy back
            }
        }
    }

    /** Frees the dropped segments, copying back the open tensors they hold the latest data of. */
    private void freeDropped() {
        for (Segment s : dropped) {
            freeSegment(s);
        }
        dropped.clear();
    }

    /** Segments dropped but not freed yet (for tests). */
    int dropped() {
        return dropped.size();
    }

    void closeAll() {
        discard();
        freeDropped();
        for (Chain c : segments.values()) {
            c.parts().forEach(this::freeSegment);
        }
        segments.clear();
    }
}
