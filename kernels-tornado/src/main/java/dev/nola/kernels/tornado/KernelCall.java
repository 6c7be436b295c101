package dev.nola.kernels.tornado;

import static uk.ac.manchester.tornado.api.enums.DataTransferMode.EVERY_EXECUTION;
import static uk.ac.manchester.tornado.api.enums.DataTransferMode.FIRST_EXECUTION;

import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * The one builder of a kernel call, for every family: its operands in the order of the kernel's array
 * arguments, each with how the kernel uses it, then {@link #launch}, which gives the op a {@link Launch}
 * to fill and run. Outside a capture the call is the cached compiled plan ({@link PlanCache}) for these
 * storages and uses; inside one it is a {@link RecordedCall} added to the recording ({@link Capture}).
 *
 * <p><b>Operands.</b> Every operand may be a view at any offset: the kernel gets the storage's array
 * (inside a capture, a float32 tensor's arena: {@link TornadoPlans#arrayOf}) and reads the operand's
 * element offset from the int parameters ({@link TornadoPlans#offsetOf}; the builder also appends operand
 * i's offset at {@code ip[ipSize + i]}, which the kernels that do not lay out their own read). Outside a
 * capture the plan copies in every storage that is read (or that holds an output covering only part of
 * it, so that copying the whole array back leaves the elements around the view as they were), keeps a
 * storage that is only ever read through {@link #resident} operands on the device, and copies every
 * written storage back. An absent optional input ({@code in(null)}) is a one-element placeholder the
 * kernel never reads.
 *
 * <p><b>Aliasing, checked on every call.</b> TornadoVM's graph builder makes a task depend on itself,
 * and its scheduler loops forever, when an array that a parameter writes appears again in a later
 * parameter. So kernels take their read operands first, and a kernel with several outputs takes them as
 * output {@link #slots}: one argument per distinct written array, padded with spare placeholders, the
 * kernel told each output's slot number. {@link #launch} rejects any other operand list.
 *
 * <p>TornadoVM copies an argument in only if its access analysis finds the kernel reading it; a store
 * that follows a merge of branches reads as write-only and the copy-in of a partial output is dropped
 * (its buffer zeroed), so output kernels store straight under their bound check (the contract's
 * sentinel checks catch one that does not).
 */
final class KernelCall {

    /** How a kernel uses an operand. */
    private enum Use {
        /** read */
        IN('i'),
        /** written, not read */
        OUT('o'),
        /** read and written */
        IN_OUT('b'),
        /** read, and kept on the device between calls until its storage is written */
        RESIDENT('r'),
        /** written and read on the device only (a workspace between a plan's tasks): sent once, never copied back */
        SCRATCH('s'),
        /** the call's own scratch array (no storage) */
        OWN_SCRATCH('w'),
        /** a placeholder: an absent input or a spare output slot, never touched */
        PLACEHOLDER('x');

        final char code;

        Use(char code) {
            this.code = code;
        }

        boolean written() {
            return this == OUT || this == IN_OUT;
        }
    }

    /** One kernel argument: its storage (null for a placeholder or the own scratch), its array, offset and use. */
    private record Operand(TornadoTensor storage, Object array, int offset, Use use, boolean partial) {

        /** Whether the kernel reads it, or must find the rest of a partly written storage on the device. */
        boolean read() {
            return use == Use.IN || use == Use.IN_OUT || use == Use.RESIDENT || use == Use.SCRATCH || use == Use.OUT && partial;
        }
    }

    /** A written tensor the kernel reaches through an earlier slot's array (the same arena): recorded, not passed. */
    private record Through(TornadoTensor storage, Object array, boolean read) {
    }

    /** An output for {@link #slots}: the tensor (null: absent) and whether the kernel reads it too. */
    record Output(Tensor tensor, boolean read) {
    }

    /** An output the kernel writes without reading it. */
    static Output writes(Tensor t) {
        return new Output(t, false);
    }

    /** An output the kernel reads and writes (accumulates into). */
    static Output updates(Tensor t) {
        return new Output(t, true);
    }

    private final TornadoPlans plans;
    private final String op;
    private final List<Operand> operands = new ArrayList<>();
    private final List<Through> through = new ArrayList<>();
    /** Floats of the call's own scratch array, or 0. */
    private long ownFloats;
    /** Outside a capture: free the plan's device buffers once it has run ({@link #once}). */
    private boolean once;

    KernelCall(TornadoPlans plans, String op) {
        this.plans = plans;
        this.op = op;
    }

    private KernelCall add(Tensor t, Use use, boolean partial) {
        TornadoTensor s = (TornadoTensor) t.storage();
        operands.add(new Operand(s, plans.arrayOf(s), plans.offsetOf(t), use, partial));
        return this;
    }

    /** An operand the kernel reads; null: an absent optional one, a placeholder the kernel never reads. */
    KernelCall in(Tensor t) {
        if (t == null) {
            operands.add(new Operand(null, plans.placeholders().absent(), 0, Use.PLACEHOLDER, false));
            return this;
        }
        return add(t, Use.IN, false);
    }

    /** An operand the kernel only reads and that may stay on the device between calls. */
    KernelCall resident(Tensor t) {
        return add(t, Use.RESIDENT, false);
    }

    /** An output that the kernel writes {@code written} elements of without reading it. */
    KernelCall out(Tensor t, long written) {
        return add(t, Use.OUT, written != t.storage().size());
    }

    /** An output the kernel writes whole, without reading it. */
    KernelCall out(Tensor t) {
        return out(t, t.size());
    }

    KernelCall inOut(Tensor t) {
        return add(t, Use.IN_OUT, false);
    }

    /** Device-only scratch between the plan's tasks (a workspace): sent once, never copied back. */
    KernelCall scratch(Tensor t) {
        return add(t, Use.SCRATCH, false);
    }

    /**
     * A scratch array of the call's own, at least {@code floats} long: device-only between its tasks
     * (sent once, never copied back). Not the device workspace: TornadoVM gives every plan its own
     * device copy of each array, so a workspace shared by all plans would cost every plan its largest
     * size. A plan whose scratch is too small for a call is rebuilt; in a segment each graph has one,
     * the largest its calls need.
     */
    KernelCall ownScratch(long floats) {
        if (floats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(op + " needs " + floats + " floats of scratch; a TornadoVM array holds at most "
                    + (Integer.MAX_VALUE - 8));
        }
        operands.add(new Operand(null, null, 0, Use.OWN_SCRATCH, false));
        ownFloats = Math.max(1, floats);
        return this;
    }

    /**
     * Outside a capture, frees the device buffers of the call's plan once the next call is another's
     * (unless it is this one again), and keeps its compiled kernels cached ({@link PlanCache#release}):
     * for a call rarely repeated on these storages, whose outputs the plan has copied back to the host,
     * so its device copy would only hold them a second time (on PoCL, in host memory). A basis bank is
     * generated once: a GPT-2 124M materialised model's 24 banks, 1.13 GB, were held by their plans as
     * well as in their arenas until the step's segment was built.
     */
    KernelCall once() {
        once = true;
        return this;
    }

    /**
     * The outputs of a kernel with several, as {@code outs.length} output slots: the distinct arrays of the
     * present outputs in order, then spare placeholders. Outputs that share an array (views of one storage;
     * inside a capture, tensors of one arena) share a slot.
     *
     * @return each output's slot number (0 for an absent one), for the kernel's parameters
     */
    int[] slots(Output... outs) {
        if (outs.length > Placeholders.SPARE_SLOTS) {
            throw new IllegalArgumentException(op + " has " + outs.length + " output slots; at most " + Placeholders.SPARE_SLOTS);
        }
        int first = operands.size();
        int[] slot = new int[outs.length];
        int n = 0;
        for (int o = 0; o < outs.length; o++) {
            Tensor t = outs[o].tensor();
            if (t == null) {
                continue;
            }
            TornadoTensor s = (TornadoTensor) t.storage();
            Object array = plans.arrayOf(s);
            boolean partial = t.size() != s.size();
            boolean read = outs[o].read();
            int j = 0;
            while (j < n && operands.get(first + j).array() != array) {
                j++;
            }
            if (j == n) {
                operands.add(new Operand(s, array, 0, read ? Use.IN_OUT : Use.OUT, partial));
                n++;
            } else {
                Operand had = operands.get(first + j);
                if (had.storage() == s) {
                    Use use = read || had.use() == Use.IN_OUT ? Use.IN_OUT : Use.OUT;
                    operands.set(first + j, new Operand(s, array, 0, use, partial || had.partial()));
                } else {
                    through.add(new Through(s, array, read || partial));
                }
            }
            slot[o] = j;
        }
        for (int i = n; i < outs.length; i++) {
            operands.add(new Operand(null, plans.placeholders().spare(i), 0, Use.PLACEHOLDER, false));
        }
        return slot;
    }

    /** As {@link #launch(int, int, int, KernelTasks)} for a call of one task. */
    Launch launch(int ipSize, int fpSize, KernelTasks tasks) {
        return launch(1, ipSize, fpSize, tasks);
    }

    /**
     * The call for these operands: {@code tasks} tasks, {@code ipSize} ints of the kernel's own
     * parameters (the operands' offsets follow them) and {@code fpSize} floats.
     */
    Launch launch(int taskCount, int ipSize, int fpSize, KernelTasks tasks) {
        int n = operands.size();
        checkAliasing();
        Object[] arrays = new Object[n];
        for (int i = 0; i < n; i++) {
            arrays[i] = operands.get(i).array();
        }
        CallKey key = key(taskCount, ipSize, fpSize);
        if (plans.recording()) {
            CallValues values = new CallValues(taskCount, ipSize + n, fpSize);
            setOffsets(values, ipSize);
            RecordedCall call = new RecordedCall(key, arrays, args(), ownFloats, tasks, values);
            return new Launch(op, values, () -> plans.capture().record(call));
        }
        KernelPlan p = plans.cache().get(key, ownFloats, () -> compile(taskCount, ipSize, fpSize, tasks, arrays));
        setOffsets(p.values, ipSize);
        return new Launch(op, p.values, () -> {
            p.execute();
            if (once) {
                plans.cache().release(key);
            }
            for (Operand o : operands) {
                if (o.use().written()) {
                    o.storage().touch();
                }
            }
            for (Through t : through) {
                t.storage().touch();
            }
        });
    }

    private void setOffsets(CallValues values, int ipSize) {
        for (int i = 0; i < operands.size(); i++) {
            values.ip.set(ipSize + i, operands.get(i).offset());
        }
    }

    private void checkAliasing() {
        for (int i = 0; i < operands.size(); i++) {
            Operand w = operands.get(i);
            if (!w.use().written() || w.array() == null) {
                continue;
            }
            for (int j = i + 1; j < operands.size(); j++) {
                if (operands.get(j).array() == w.array()) {
                    throw new IllegalStateException(op + ": operand " + i + " is written and operand " + j
                            + " shares its array; a kernel must take read operands first and one argument per written array");
                }
            }
        }
    }

    /** The storages in operand order and, per operand, its use, placement ('a': its arena) and partial flag. */
    private CallKey key(int taskCount, int ipSize, int fpSize) {
        List<TornadoTensor> storages = new ArrayList<>();
        StringBuilder uses = new StringBuilder();
        for (Operand o : operands) {
            storages.add(o.storage());
            uses.append(o.use().code).append(o.storage() != null && o.array() != o.storage().data() ? 'a' : '-')
                    .append(o.partial() ? 'p' : '.');
        }
        for (Through t : through) {
            storages.add(t.storage());
            uses.append(t.read() ? "T" : "t");
        }
        uses.append('/').append(taskCount).append('/').append(ipSize).append('/').append(fpSize);
        return new CallKey(op, Collections.unmodifiableList(storages), uses.toString());
    }

    /** What a recorded call reads and writes, one entry per tensor argument and per tensor reached through a slot. */
    private List<RecordedCall.Arg> args() {
        List<RecordedCall.Arg> args = new ArrayList<>();
        for (Operand o : operands) {
            if (o.storage() != null) {
                args.add(new RecordedCall.Arg(o.array(), o.storage(), o.read(), o.use().written()));
            }
        }
        for (Through t : through) {
            args.add(new RecordedCall.Arg(t.array(), t.storage(), t.read(), true));
        }
        return args;
    }

    /**
     * The compiled plan: copies in the parameter buffers and every storage read (every run), resident
     * and scratch storages and placeholders (first run only), then the tasks, then copies back every
     * written storage.
     */
    private KernelPlan compile(int taskCount, int ipSize, int fpSize, KernelTasks tasks, Object[] arrays) {
        List<TornadoTensor> distinct = new ArrayList<>();
        for (Operand o : operands) {
            if (o.storage() != null && !distinct.contains(o.storage())) {
                distinct.add(o.storage());
            }
        }
        List<TornadoTensor> resident = new ArrayList<>();
        List<Object> copyIn = new ArrayList<>();
        List<Object> once = new ArrayList<>();
        List<Object> copyOut = new ArrayList<>();
        for (TornadoTensor t : distinct) {
            boolean read = false;
            boolean written = false;
            boolean keep = false;
            boolean scratch = false;
            for (Operand o : operands) {
                if (o.storage() == t) {
                    keep |= o.use() == Use.RESIDENT;
                    scratch |= o.use() == Use.SCRATCH;
                    read |= o.read() && o.use() != Use.RESIDENT && o.use() != Use.SCRATCH;
                    written |= o.use().written();
                }
            }
            if (scratch) {
                once.add(t.data());
            } else if (keep && !read && !written) {
                resident.add(t);
                once.add(t.data());
            } else if (read || keep) {
                copyIn.add(t.data());
            }
            if (written) {
                copyOut.add(t.data());
            }
        }
        for (Operand o : operands) {
            if (o.use() == Use.PLACEHOLDER && !containsIdentity(once, o.array())) {
                once.add(o.array());
            }
        }
        long own = ownFloats;
        CallValues values = new CallValues(taskCount, ipSize + operands.size(), fpSize);
        return new KernelPlan(plans.nextPlanName(), plans.device(), TornadoPlans.OPENCL_FLAGS, plans.profile(), values, distinct,
                resident, own, g -> {
                    g.transferToDevice(EVERY_EXECUTION, fpSize > 0 ? new Object[] {values.ip, values.fp} : new Object[] {values.ip});
                    if (!copyIn.isEmpty()) {
                        g.transferToDevice(EVERY_EXECUTION, copyIn.toArray());
                    }
                    Object[] a = arrays.clone();
                    for (int i = 0; i < a.length; i++) {
                        if (a[i] == null) {
                            a[i] = new FloatArray((int) own);
                            once.add(a[i]);
                        }
                    }
                    if (!once.isEmpty()) {
                        g.transferToDevice(FIRST_EXECUTION, once.toArray());
                    }
                    TaskGraph tg = tasks.add(g, KernelTasks.Names.OWN, values.ip, values.fp, new KernelTasks.Operands(a));
                    return copyOut.isEmpty() ? tg : tg.transferToHost(EVERY_EXECUTION, copyOut.toArray());
                });
    }

    private static boolean containsIdentity(List<Object> list, Object x) {
        for (Object o : list) {
            if (o == x) {
                return true;
            }
        }
        return false;
    }
}
