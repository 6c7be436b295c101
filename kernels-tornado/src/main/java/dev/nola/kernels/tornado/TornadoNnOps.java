package dev.nola.kernels.tornado;

import static uk.ac.manchester.tornado.api.enums.DataTransferMode.EVERY_EXECUTION;
import static uk.ac.manchester.tornado.api.enums.DataTransferMode.FIRST_EXECUTION;

import dev.nola.kernels.AbstractNnOps;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The nn family on a TornadoVM device ({@link NnKernels}), attention included as kernels of its own
 * (a work-item per query row forward; a query-side and a key-side kernel backward), grouped-query
 * heads (KVH dividing NH) included, so it needs no batched matmul; and the LLaMA family's RMSNorm
 * (its weight gradient as fixed partials in the device workspace, added in order), RoPE and SwiGLU.
 *
 * <p><b>Views.</b> Every operand may be a view at any offset: the kernels take each array with its
 * element offset in the int parameter buffer. A plan is cached per op variant and the storages of its
 * operands (in argument order, so q, k and v as views of one buffer are one storage three times; an
 * array passed twice is one device buffer). A storage is copied to the device when the kernel reads
 * it, or when it is written through a view that covers only part of it (so that copying the whole
 * array back leaves the elements around the view as they were); every written storage is copied back.
 * An absent optional operand (a null table or gradient) is a one-element placeholder the kernel does
 * not touch.
 *
 * <p><b>Aliasing.</b> An array may appear in several parameters of a task only as long as no
 * parameter before the last one writes it (else TornadoVM's graph compiler loops forever on the
 * task's dependency on itself), so the kernels take inputs first and outputs last, and the kernels
 * with several outputs take the outputs' distinct storages as output slots ({@link #slots}), padded
 * with distinct placeholders, and each output's slot number in the parameters.
 *
 * <p>Two-pass ops are two plans run one after the other (layernorm backward: dx, then the parameter
 * gradients; attention backward: query side, then key side), the intermediate travelling through the
 * host array between them (on PoCL device memory is host memory), or, inside a
 * {@link dev.nola.kernels.Device#capture capture}, staying on the device.
 */
final class TornadoNnOps extends AbstractNnOps {

    private final TornadoPlans plans;
    private final TornadoVmDevice dev;
    /** Stands in for an absent optional input (never read by the kernel that gets it). */
    private final FloatArray absent = new FloatArray(1);
    /** Pad the output slots beyond the outputs' distinct storages: distinct arrays, never touched. */
    private final FloatArray[] spareSlots = {new FloatArray(1), new FloatArray(1), new FloatArray(1)};

    TornadoNnOps(TornadoVmDevice device) {
        super(device);
        this.plans = device.plans();
        this.dev = device;
        plans.placeholders(List.of(absent, spareSlots[0], spareSlots[1], spareSlots[2]));
    }

    // ---------------------------------------------------------------- plans

    /** One array argument of a kernel: the tensor (null: absent), and whether the kernel reads or writes it. */
    private record Operand(Tensor tensor, boolean read, boolean written) {

        TornadoTensor storage() {
            return (TornadoTensor) tensor.storage();
        }
    }

    private static Operand in(Tensor t) {
        return new Operand(t, true, false);
    }

    private static Operand out(Tensor t) {
        return new Operand(t, false, true);
    }

    private static Operand inOut(Tensor t) {
        return new Operand(t, true, true);
    }

    /** Adds the task to a graph whose inputs are already transferred. */
    private interface Task {
        TaskGraph add(TaskGraph g, IntArray ip, FloatArray fp);
    }

    /**
     * The plan of {@code op} on these operands (null tensors are absent ones): cached per variant
     * (which operands are absent, which storages are copied in and out) and the storages in operand
     * order. The task gets the same
     * operands from {@link #floats}/{@link #ints}.
     */
    private KernelPlan plan(String op, int ipSize, int fpSize, Task task, Operand... operands) {
        List<TornadoTensor> key = new ArrayList<>();
        List<TornadoTensor> distinct = new ArrayList<>();
        List<Boolean> copyIn = new ArrayList<>();
        List<Boolean> copyOut = new ArrayList<>();
        StringBuilder variant = new StringBuilder(op).append('/');
        for (Operand o : operands) {
            if (o.tensor() == null) {
                variant.append('-');
                continue;
            }
            variant.append('+');
            TornadoTensor s = o.storage();
            key.add(s);
            boolean needIn = o.read() || (o.written() && o.tensor().size() != s.size());
            int at = indexOf(distinct, s);
            if (at < 0) {
                distinct.add(s);
                copyIn.add(needIn);
                copyOut.add(o.written());
            } else {
                copyIn.set(at, copyIn.get(at) || needIn);
                copyOut.set(at, copyOut.get(at) || o.written());
            }
        }
        variant.append('/');
        for (int i = 0; i < distinct.size(); i++) {
            variant.append(copyIn.get(i) ? 'i' : '.').append(copyOut.get(i) ? 'o' : '.');
        }
        List<Object> sendIn = new ArrayList<>();
        List<Object> sendOut = new ArrayList<>();
        for (int i = 0; i < distinct.size(); i++) {
            if (copyIn.get(i)) {
                sendIn.add(distinct.get(i).data());
            }
            if (copyOut.get(i)) {
                sendOut.add(distinct.get(i).data());
            }
        }
        if (plans.recording()) {
            List<KernelPlan.Arg> args = new ArrayList<>();
            for (Operand o : operands) {
                if (o.tensor() != null) {
                    TornadoTensor st = o.storage();
                    boolean arena = plans.inArena(st);
                    variant.append(arena ? 'a' : '-');
                    args.add(new KernelPlan.Arg(plans.arrayOf(st), st, o.read() || o.written() && o.tensor().size() != st.size(),
                            o.written()));
                }
            }
            return new KernelPlan(1, ipSize, fpSize, new KernelPlan.Recorded(List.of(variant.toString(), key), args, 0,
                    (g, ip, fp, scratch) -> task.add(g, ip, fp), plans::record));
        }
        return plans.plan(variant.toString(), key, List.of(), ipSize, fpSize, (g, ip, fp) -> {
            List<Object> all = new ArrayList<>();
            all.add(ip);
            all.add(fp);
            all.addAll(sendIn);
            TaskGraph withTask = task.add(g.transferToDevice(EVERY_EXECUTION, all.toArray()), ip, fp);
            return sendOut.isEmpty() ? withTask : withTask.transferToHost(EVERY_EXECUTION, sendOut.toArray());
        });
    }

    private static int indexOf(List<TornadoTensor> list, TornadoTensor t) {
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) == t) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The output slots of a kernel with several outputs: the distinct storages of {@code outs} (null
     * ones skipped) in order, then spare placeholders up to {@code outs.length}.
     */
    private FloatArray[] slots(Tensor... outs) {
        FloatArray[] a = new FloatArray[outs.length];
        int n = 0;
        for (Tensor t : outs) {
            if (t != null) {
                FloatArray s = floats(t);
                if (slotOf(a, n, s) < 0) {
                    a[n++] = s;
                }
            }
        }
        for (int i = n; i < a.length; i++) {
            a[i] = spareSlots[i];
        }
        return a;
    }

    /** The slot of an output among {@link #slots}({@code outs}); 0 for an absent one (never used). */
    private int slot(FloatArray[] slots, Tensor t) {
        return t == null ? 0 : slotOf(slots, slots.length, floats(t));
    }

    private static int slotOf(FloatArray[] a, int n, FloatArray s) {
        for (int i = 0; i < n; i++) {
            if (a[i] == s) {
                return i;
            }
        }
        return -1;
    }

    /** Sends the placeholders among these arrays once (they are never read; the task needs a buffer). */
    private TaskGraph placeholders(TaskGraph g, FloatArray... arrays) {
        if (KernelPlan.inSegment()) {
            return g; // a segment sends the placeholders to each of its graphs
        }
        List<Object> send = new ArrayList<>();
        for (FloatArray a : arrays) {
            boolean placeholder = a == absent || slotOf(spareSlots, spareSlots.length, a) >= 0;
            boolean sent = false;
            for (Object o : send) {
                sent |= o == a;
            }
            if (placeholder && !sent) {
                send.add(a);
            }
        }
        return send.isEmpty() ? g : g.transferToDevice(FIRST_EXECUTION, send.toArray());
    }

    /**
     * The float array of an operand (inside a capture its arena, {@link TornadoPlans#arrayOf}), or the
     * placeholder for an absent one.
     */
    private FloatArray floats(Tensor t) {
        return t == null ? absent : (FloatArray) plans.arrayOf((TornadoTensor) t.storage());
    }

    private static IntArray ints(Tensor t) {
        return ((TornadoTensor) t.storage()).intArray();
    }

    /** An operand's element offset in {@link #floats}({@code t}) (0 for an absent one). */
    private int off(Tensor t) {
        return t == null ? 0 : Math.toIntExact(t.offset() + plans.baseOf((TornadoTensor) t.storage()));
    }

    /** Runs the plan and marks the written storages as changed. */
    private void run(KernelPlan p, long global, boolean rows, Tensor... written) {
        if (global > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a kernel of " + global + " work-items exceeds TornadoVM's 1-D grid");
        }
        p.run((int) global, rows && plans.cpuLayout);
        if (p.deferred()) {
            return; // its segment marks what it wrote when it runs
        }
        for (Tensor t : written) {
            if (t != null) {
                ((TornadoTensor) t.storage()).touch();
            }
        }
    }

    private static void set(IntArray ip, int... values) {
        for (int i = 0; i < values.length; i++) {
            ip.set(i, values[i]);
        }
    }

    // ---------------------------------------------------------------- encoder

    @Override
    protected void doEncoderForward(Tensor ids, Tensor wte, Tensor wpe, Tensor out, int n, int t, int c) {
        KernelPlan p = plan("nn.encoderForward", 9, 1, (g, ip, fp) -> placeholders(g, floats(wte), floats(wpe))
                .task(KernelPlan.task(0), NnKernels::nnEncoderForward, new KernelContext(), ip, ints(ids), floats(wte),
                        floats(wpe), floats(out)),
                in(ids), in(wte), in(wpe), out(out));
        set(p.ip, n, t, c, wte != null ? 1 : 0, wpe != null ? 1 : 0, off(ids), off(wte), off(wpe), off(out));
        run(p, (long) n * c, false, out);
    }

    @Override
    protected void doEncoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int n, int t, int c) {
        if (dwte != null) {
            KernelPlan p = plan("nn.encoderBackwardTokens", 5, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                    NnKernels::nnEncoderBackwardTokens, new KernelContext(), ip, ints(ids), floats(dout), floats(dwte)),
                    in(ids), in(dout), inOut(dwte));
            set(p.ip, n, c, off(ids), off(dout), off(dwte));
            run(p, c, true, dwte);
        }
        if (dwpe != null) {
            KernelPlan p = plan("nn.encoderBackwardPositions", 5, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                    NnKernels::nnEncoderBackwardPositions, new KernelContext(), ip, floats(dout), floats(dwpe)),
                    in(dout), inOut(dwpe));
            set(p.ip, n, t, c, off(dout), off(dwpe));
            run(p, (long) t * c, false, dwpe);
        }
    }

    // ---------------------------------------------------------------- layernorm

    @Override
    protected void doLayerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                      Tensor rstd, int n, int c) {
        FloatArray[] o = slots(out, mean, rstd);
        KernelPlan p = plan("nn.layerNormForward", 11, 1, (g, ip, fp) -> placeholders(g, o).task(KernelPlan.task(0),
                NnKernels::nnLayerNormForward, new KernelContext(), ip, fp, floats(x), floats(weight), floats(bias),
                o[0], o[1], o[2]),
                in(x), in(weight), in(bias), out(out), out(mean), out(rstd));
        set(p.ip, n, c, off(x), off(weight), off(bias), off(out), off(mean), off(rstd), slot(o, out), slot(o, mean),
                slot(o, rstd));
        p.fp.set(0, eps);
        run(p, n, true, out, mean, rstd);
    }

    @Override
    protected void doLayerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd, Tensor dx,
                                       Tensor dweight, Tensor dbias, int n, int c) {
        KernelPlan p = plan("nn.layerNormBackward", 8, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                NnKernels::nnLayerNormBackward, new KernelContext(), ip, floats(dout), floats(x), floats(weight),
                floats(mean), floats(rstd), floats(dx)),
                in(dout), in(x), in(weight), in(mean), in(rstd), inOut(dx));
        set(p.ip, n, c, off(dout), off(x), off(weight), off(mean), off(rstd), off(dx));
        run(p, n, true, dx);
        if (dweight != null || dbias != null) {
            FloatArray[] o = slots(dweight, dbias);
            KernelPlan q = plan("nn.layerNormParams", 12, 1, (g, ip, fp) -> placeholders(g, o).task(KernelPlan.task(0),
                    NnKernels::nnLayerNormParams, new KernelContext(), ip, floats(dout), floats(x), floats(mean),
                    floats(rstd), o[0], o[1]),
                    in(dout), in(x), in(mean), in(rstd), inOut(dweight), inOut(dbias));
            set(q.ip, n, c, off(dout), off(x), off(mean), off(rstd), off(dweight), off(dbias), dweight != null ? 1 : 0,
                    dbias != null ? 1 : 0, slot(o, dweight), slot(o, dbias));
            run(q, c, true, dweight, dbias);
        }
    }

    // ---------------------------------------------------------------- element-wise

    private static int kind(Gelu kind) {
        return kind == Gelu.TANH ? NnKernels.GELU_TANH : NnKernels.GELU_ERF;
    }

    @Override
    protected void doGeluForward(Gelu kind, Tensor x, Tensor out, long n) {
        KernelPlan p = plan("nn.geluForward", 4, 1, (g, ip, fp) -> g.task(KernelPlan.task(0), NnKernels::nnGeluForward,
                new KernelContext(), ip, floats(x), floats(out)), in(x), out(out));
        set(p.ip, Math.toIntExact(n), kind(kind), off(x), off(out));
        run(p, n, false, out);
    }

    @Override
    protected void doGeluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx, long n) {
        KernelPlan p = plan("nn.geluBackward", 5, 1, (g, ip, fp) -> g.task(KernelPlan.task(0), NnKernels::nnGeluBackward,
                new KernelContext(), ip, floats(x), floats(dout), floats(dx)), in(x), in(dout), inOut(dx));
        set(p.ip, Math.toIntExact(n), kind(kind), off(x), off(dout), off(dx));
        run(p, n, false, dx);
    }

    @Override
    protected void doBiasForward(Tensor x, Tensor bias, int n, int c) {
        KernelPlan p = plan("nn.biasForward", 4, 1, (g, ip, fp) -> g.task(KernelPlan.task(0), NnKernels::nnBiasForward,
                new KernelContext(), ip, floats(bias), floats(x)), in(bias), inOut(x));
        set(p.ip, n, c, off(x), off(bias));
        run(p, (long) n * c, false, x);
    }

    @Override
    protected void doBiasBackward(Tensor dout, Tensor dbias, int n, int c) {
        KernelPlan p = plan("nn.biasBackward", 4, 1, (g, ip, fp) -> g.task(KernelPlan.task(0), NnKernels::nnColumnSums,
                new KernelContext(), ip, floats(dout), floats(dbias)), in(dout), inOut(dbias));
        set(p.ip, n, c, off(dout), off(dbias));
        run(p, c, true, dbias);
    }

    @Override
    protected void doResidualForward(Tensor a, Tensor b, Tensor out, long n) {
        KernelPlan p = plan("nn.residualForward", 4, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                NnKernels::nnResidualForward, new KernelContext(), ip, floats(a), floats(b), floats(out)),
                in(a), in(b), out(out));
        set(p.ip, Math.toIntExact(n), off(a), off(b), off(out));
        run(p, n, false, out);
    }

    // ---------------------------------------------------------------- softmax

    @Override
    protected void doSoftmaxForward(Tensor x, Tensor out, float scale, boolean causal, int rows, int l) {
        KernelPlan p = plan("nn.softmaxForward", 5, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                NnKernels::nnSoftmaxForward, new KernelContext(), ip, fp, floats(x), floats(out)), in(x), out(out));
        set(p.ip, rows, l, causal ? 1 : 0, off(x), off(out));
        p.fp.set(0, scale);
        run(p, rows, true, out);
    }

    @Override
    protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx, float scale, int rows, int l) {
        KernelPlan p = plan("nn.softmaxBackward", 5, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                NnKernels::nnSoftmaxBackward, new KernelContext(), ip, fp, floats(y), floats(dy), floats(dx)),
                in(y), in(dy), out(dx));
        set(p.ip, rows, l, off(y), off(dy), off(dx));
        p.fp.set(0, scale);
        run(p, rows, true, dx);
    }

    // ---------------------------------------------------------------- attention

    private void attentionParams(KernelPlan p, boolean causal, int b, int t, int c, int nh, Tensor q, Tensor k, Tensor v,
                                 Tensor att, Tensor out, Tensor datt, Tensor dq, Tensor dk, Tensor dv, int slot0, int slot1) {
        set(p.ip, b, t, c, nh, causal ? 1 : 0, off(q), off(k), off(v), off(att), off(out), off(datt), off(dq), off(dk),
                off(dv), slot0, slot1, k.shape()[2]);
        p.fp.set(0, (float) (1.0 / Math.sqrt(c / nh)));
    }

    /** KVH, the key/value heads: k's width over hs = c / nh (NH when k has q's shape). */
    private static int kvHeads(Tensor k, int c, int nh) {
        return k.shape()[2] / (c / nh);
    }

    @Override
    protected void doAttentionForward(Tensor q, Tensor k, Tensor v, Tensor att, Tensor out, boolean causal, int b,
                                      int t, int c, int nh) {
        FloatArray[] o = slots(att, out);
        KernelPlan p = plan("nn.attentionForward", NnKernels.A_SIZE, 1, (g, ip, fp) -> placeholders(g, o).task(
                KernelPlan.task(0), NnKernels::nnAttentionForward, new KernelContext(), ip, fp, floats(q), floats(k),
                floats(v), o[0], o[1]), in(q), in(k), in(v), out(att), out(out));
        attentionParams(p, causal, b, t, c, nh, q, k, v, att, out, null, null, null, null, slot(o, att), slot(o, out));
        run(p, (long) b * nh * t, true, att, out);
    }

    @Override
    protected void doAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor att, Tensor datt, Tensor dq,
                                       Tensor dk, Tensor dv, boolean causal, int b, int t, int c, int nh) {
        FloatArray[] o = slots(datt, dq);
        KernelPlan p = plan("nn.attentionBackwardQuery", NnKernels.A_SIZE, 1, (g, ip, fp) -> placeholders(g, o).task(
                KernelPlan.task(0), NnKernels::nnAttentionBackwardQuery, new KernelContext(), ip, fp, floats(dout),
                floats(k), floats(v), floats(att), o[0], o[1]), in(dout), in(k), in(v), in(att), out(datt), inOut(dq));
        attentionParams(p, causal, b, t, c, nh, q, k, v, att, dout, datt, dq, dk, dv, slot(o, datt), slot(o, dq));
        run(p, (long) b * nh * t, true, datt, dq);
        FloatArray[] o2 = slots(dk, dv);
        KernelPlan r = plan("nn.attentionBackwardKey", NnKernels.A_SIZE, 1, (g, ip, fp) -> placeholders(g, o2).task(
                KernelPlan.task(0), NnKernels::nnAttentionBackwardKey, new KernelContext(), ip, floats(dout), floats(q),
                floats(att), floats(datt), o2[0], o2[1]), in(dout), in(q), in(att), in(datt), inOut(dk), inOut(dv));
        attentionParams(r, causal, b, t, c, nh, q, k, v, att, dout, datt, dq, dk, dv, slot(o2, dk), slot(o2, dv));
        run(r, (long) b * kvHeads(k, c, nh) * t, true, dk, dv);
    }

    // ---------------------------------------------------------------- cross-entropy

    @Override
    protected void doCrossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing,
                                         int ignoreIndex, int n, int v) {
        KernelPlan p = plan("nn.crossEntropyForward", 6, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                NnKernels::nnCrossEntropyForward, new KernelContext(), ip, fp, floats(logits), ints(targets),
                floats(losses)), in(logits), in(targets), out(losses));
        set(p.ip, n, v, ignoreIndex, off(logits), off(targets), off(losses));
        p.fp.set(0, labelSmoothing);
        run(p, n, true, losses);
    }

    @Override
    protected void doCrossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing,
                                          int ignoreIndex, float lossGradient, int n, int v) {
        KernelPlan p = plan("nn.crossEntropyBackward", 6, 2, (g, ip, fp) -> g.task(KernelPlan.task(0),
                NnKernels::nnCrossEntropyBackward, new KernelContext(), ip, fp, floats(logits), ints(targets),
                floats(dlogits)), in(logits), in(targets), out(dlogits));
        set(p.ip, n, v, ignoreIndex, off(logits), off(targets), off(dlogits));
        p.fp.set(0, labelSmoothing);
        p.fp.set(1, lossGradient);
        run(p, n, true, dlogits);
    }

    // ---------------------------------------------------------------- pooling

    @Override
    protected void doPoolForward(Pool kind, Tensor x, Tensor out, int b, int t, int c) {
        KernelPlan p = plan("nn.poolForward", 6, 1, (g, ip, fp) -> g.task(KernelPlan.task(0), NnKernels::nnPoolForward,
                new KernelContext(), ip, floats(x), floats(out)), in(x), out(out));
        set(p.ip, b, t, c, kind == Pool.MEAN ? NnKernels.POOL_MEAN : NnKernels.POOL_FIRST, off(x), off(out));
        run(p, (long) b * c, false, out);
    }

    @Override
    protected void doPoolBackward(Pool kind, Tensor dout, Tensor dx, int b, int t, int c) {
        KernelPlan p = plan("nn.poolBackward", 7, 1, (g, ip, fp) -> g.task(KernelPlan.task(0), NnKernels::nnPoolBackward,
                new KernelContext(), ip, floats(dout), floats(dx)), in(dout), inOut(dx));
        int per = kind == Pool.MEAN ? t : 1;
        set(p.ip, b * per, per, t, c, kind == Pool.MEAN ? NnKernels.POOL_MEAN : NnKernels.POOL_FIRST, off(dout), off(dx));
        run(p, (long) b * per * c, false, dx);
    }

    // ---------------------------------------------------------------- the LLaMA family

    /** Rows per partial of the RMSNorm weight gradient at least, and partials at most (from n alone). */
    private static final int RMS_MIN_SPAN = 16;
    private static final int RMS_MAX_PARTIALS = 64;

    @Override
    protected void doRmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd, int n, int c) {
        FloatArray[] o = slots(out, rstd);
        KernelPlan p = plan("nn.rmsNormForward", 8, 1, (g, ip, fp) -> placeholders(g, o).task(KernelPlan.task(0),
                NnKernels::nnRmsNormForward, new KernelContext(), ip, fp, floats(x), floats(weight), o[0], o[1]),
                in(x), in(weight), out(out), out(rstd));
        set(p.ip, n, c, off(x), off(weight), off(out), off(rstd), slot(o, out), slot(o, rstd));
        p.fp.set(0, eps);
        run(p, n, true, out, rstd);
    }

    /**
     * dx a work-item per row; then, with a dweight, its column sums in two plans: fixed spans of rows
     * (from n alone) into partials in the device workspace, a work-item per (span, column), then a
     * work-item per column adding its partials in span order into dweight. No atomics.
     */
    @Override
    protected void doRmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight, int n,
                                     int c) {
        KernelPlan p = plan("nn.rmsNormBackward", 7, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                NnKernels::nnRmsNormBackward, new KernelContext(), ip, floats(dout), floats(x), floats(weight),
                floats(rstd), floats(dx)),
                in(dout), in(x), in(weight), in(rstd), inOut(dx));
        set(p.ip, n, c, off(dout), off(x), off(weight), off(rstd), off(dx));
        run(p, n, true, dx);
        if (dweight == null) {
            return;
        }
        int span = Math.max(RMS_MIN_SPAN, (n + RMS_MAX_PARTIALS - 1) / RMS_MAX_PARTIALS);
        int groups = (n + span - 1) / span;
        long floats = (long) groups * c;
        Tensor ws = dev.workspace("tornado.nn.rmsNormWeight", floats).view(0, Math.toIntExact(floats));
        KernelPlan q = plan("nn.rmsNormWeightPartials", 8, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                NnKernels::nnRmsNormWeightPartials, new KernelContext(), ip, floats(dout), floats(x), floats(rstd),
                floats(ws)),
                in(dout), in(x), in(rstd), out(ws));
        set(q.ip, n, c, span, groups, off(dout), off(x), off(rstd), off(ws));
        run(q, floats, true, ws);
        KernelPlan r = plan("nn.rmsNormWeightCombine", 4, 1, (g, ip, fp) -> g.task(KernelPlan.task(0),
                NnKernels::nnRmsNormWeightCombine, new KernelContext(), ip, floats(ws), floats(dweight)),
                in(ws), inOut(dweight));
        set(r.ip, c, groups, off(ws), off(dweight));
        run(r, c, true, dweight);
    }

    @Override
    protected void doRope(Tensor in, Tensor cos, Tensor sin, Tensor out, boolean transpose, int rows, int t, int w,
                          int headDim, int pos0) {
        KernelPlan p = plan("nn.rope", 9, 2, (g, ip, fp) -> g.task(KernelPlan.task(0), NnKernels::nnRope,
                new KernelContext(), ip, fp, floats(in), floats(cos), floats(sin), floats(out)),
                in(in), in(cos), in(sin), out(out));
        set(p.ip, rows, t, w, headDim, pos0, off(in), off(cos), off(sin), off(out));
        p.fp.set(0, transpose ? -1f : 1f);
        p.fp.set(1, transpose ? 1f : -1f);
        run(p, (long) rows * (w / 2), false, out);
    }

    @Override
    protected void doSwigluForward(Tensor gate, Tensor up, Tensor out, long n) {
        KernelPlan p = plan("nn.swigluForward", 4, 1, (g, ip, fp) -> g.task(KernelPlan.task(0), NnKernels::nnSwigluForward,
                new KernelContext(), ip, floats(gate), floats(up), floats(out)), in(gate), in(up), out(out));
        set(p.ip, Math.toIntExact(n), off(gate), off(up), off(out));
        run(p, n, false, out);
    }

    @Override
    protected void doSwigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup, long n) {
        FloatArray[] o = slots(dgate, dup);
        KernelPlan p = plan("nn.swigluBackward", 8, 1, (g, ip, fp) -> placeholders(g, o).task(KernelPlan.task(0),
                NnKernels::nnSwigluBackward, new KernelContext(), ip, floats(gate), floats(up), floats(dout), o[0], o[1]),
                in(gate), in(up), in(dout), inOut(dgate), inOut(dup));
        set(p.ip, Math.toIntExact(n), off(gate), off(up), off(dout), off(dgate), off(dup), slot(o, dgate), slot(o, dup));
        run(p, n, false, dgate, dup);
    }
}
