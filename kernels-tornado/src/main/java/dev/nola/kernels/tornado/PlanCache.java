package dev.nola.kernels.tornado;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The compiled plans of one device ({@link KernelPlan}), one per {@link CallKey}, so a training loop
 * that calls the same op on the same tensors compiles once and then only moves what changed. A plan is
 * replaced when a resident tensor it holds was written since ({@link KernelPlan#stale}) or its scratch
 * is too small for the call; the least recently used are freed past {@link #MAX_PLANS} or the device's
 * {@link MemoryBudget}.
 */
final class PlanCache {

    /**
     * Plans kept per device at most. A training step calls each op on its own tensor sets (a GPT-2 step:
     * hundreds of op and tensor combinations), every one a plan whose rebuild costs a TornadoVM JIT
     * compile (60 ms for fill, 350 ms for a matmul, measured on PoCL), so the cache must hold a whole
     * step: what bounds it in practice is the memory budget.
     */
    static final int MAX_PLANS = 4096;

    private final Map<CallKey, KernelPlan> plans = new LinkedHashMap<>(16, 0.75f, true);
    private final MemoryBudget budget;
    private long built;
    /**
     * The plan last {@link #release released}: its device buffers go when the next call fetches another
     * plan, and stay when it fetches this one again. A basis generated once per bank (a model's) leaves
     * at most one bank's device copy behind, until the next op; a basis generated into the same tensor
     * again and again (the family bench) keeps its buffers, where freeing them after every call made each
     * call allocate 25 MB of device buffers again (0.51× → 0.11× opencl's time, measured side by side).
     */
    private KernelPlan released;

    PlanCache(MemoryBudget budget) {
        this.budget = budget;
    }

    /** The plan under {@code key}, built (and the eldest freed) when missing, stale or short of {@code scratchFloats}. */
    KernelPlan get(CallKey key, long scratchFloats, Supplier<KernelPlan> compile) {
        KernelPlan p = plans.get(key);
        if (released != null && released != p) {
            freeDevice(released); // another call: the released plan is not being repeated
        }
        released = null;
        if (p != null && (p.stale() || p.scratchFloats() < scratchFloats)) {
            plans.remove(key);
            free(p);
            p = null;
        }
        if (p != null && p.deviceFreed()) {
            budget.add(p.deviceBytes()); // its next run allocates its buffers again
            p.deviceInUse();
        }
        if (p == null) {
            p = compile.get();
            built++;
            budget.add(p.deviceBytes());
            plans.put(key, p);
            // the least recently used go first; the plan just built stays, whatever its size
            Iterator<KernelPlan> it = plans.values().iterator();
            while ((plans.size() > MAX_PLANS || budget.exceeded()) && plans.size() > 1) {
                KernelPlan eldest = it.next();
                it.remove();
                free(eldest);
            }
        }
        return p;
    }

    private void free(KernelPlan p) {
        if (p == released) {
            released = null;
        }
        if (!p.deviceFreed()) {
            budget.remove(p.deviceBytes());
        }
        p.close();
    }

    /**
     * Marks the plan under {@code key}, if any, to give back its device buffers when the next call is
     * another's ({@link #released}), keeping its compiled kernels ({@link KernelCall#once}): a later
     * call on the same tensors allocates and copies again but does not compile again (dropping the plan
     * instead made the family bench's repeated basis compile on every call, about 120 ms on PoCL).
     */
    void release(CallKey key) {
        KernelPlan p = plans.get(key);
        if (p != null && !p.deviceFreed()) {
            released = p;
        }
    }

    private void freeDevice(KernelPlan p) {
        if (!p.deviceFreed()) {
            budget.remove(p.deviceBytes());
            p.freeDevice();
        }
    }

    /** Frees the plans that use a tensor being closed. */
    void evict(TornadoTensor t) {
        Iterator<KernelPlan> it = plans.values().iterator();
        while (it.hasNext()) {
            KernelPlan p = it.next();
            if (p.uses(t)) {
                it.remove();
                free(p);
            }
        }
    }

    void closeAll() {
        for (KernelPlan p : plans.values()) {
            free(p);
        }
        plans.clear();
    }

    /** Plans held now (for tests of reuse). */
    int size() {
        return plans.size();
    }

    /** Bytes of device buffers held by the plans and segments that share this cache's budget. */
    long heldBytes() {
        return budget.held();
    }

    /** Plans built so far, rebuilt ones included (for tests that a repeated step compiles nothing). */
    long built() {
        return built;
    }
}
