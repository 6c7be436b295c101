package dev.nola.kernels.contract;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of one op call, uploaded either as tensors of their own ({@link #plain}) or carved as
 * views out of larger buffers ({@link #carved}) with {@link #PAD} sentinel elements around them, so
 * that a kernel that ignores a view's offset reads or writes the wrong operand, and one that runs
 * past a view's end touches a sentinel ({@link #assertSentinels}).
 */
final class Operands implements AutoCloseable {

    /** Sentinel elements around each carved operand: odd, so offsets are not multiples of a vector. */
    static final int PAD = 5;
    /**
     * The sentinel: large, so that a kernel that reads it by mistake produces a result far off (a
     * NaN would vanish in a max); a write over it shows as changed bits.
     */
    static final float SENTINEL = -3.0e29f;

    /** How operands are carved. */
    enum Layout {
        /** All operands in one buffer, each at an odd, non-zero offset, sentinels before, between and after. */
        OFFSET,
        /**
         * Each operand at offset 0 of a buffer of its own, sentinels after it: views that a backend
         * may run through its fast path, which must still stop at the view's end.
         */
        FROM_ZERO
    }

    /** A check of one family's ops on views carved in a layout. */
    interface ViewsTest {
        void run(Device ref, Device dev, Layout layout);
    }

    /** Runs a views check in both layouts. */
    static Contract.DeviceTest inBothLayouts(ViewsTest t) {
        return (ref, dev) -> {
            for (Layout layout : Layout.values()) {
                t.run(ref, dev, layout);
            }
        };
    }

    /** A call of ops on the operands; absent (null) operands are null tensors. */
    interface Call {
        void call(Device d, Tensor[] t);
    }

    private final Device device;
    private final Tensor[] tensors;
    /** The buffers the views were carved from (empty for plain operands). */
    private final List<Tensor> buffers = new ArrayList<>();
    private final List<Tensor> owned = new ArrayList<>();

    private Operands(Device device, float[][] data, int[][] shapes, Layout layout) {
        this.device = device;
        this.tensors = new Tensor[data.length];
        try {
            if (layout == null) {
                for (int i = 0; i < data.length; i++) {
                    if (data[i] != null) {
                        tensors[i] = device.upload(data[i], shapes[i]);
                        owned.add(tensors[i]);
                    }
                }
            } else if (layout == Layout.FROM_ZERO) {
                for (int i = 0; i < data.length; i++) {
                    if (data[i] != null) {
                        Tensor buffer = buffer(padded(data[i]));
                        tensors[i] = buffer.view(0, shapes[i]);
                    }
                }
            } else {
                long total = PAD;
                long[] offsets = new long[data.length];
                for (int i = 0; i < data.length; i++) {
                    if (data[i] != null) {
                        offsets[i] = total;
                        total += data[i].length + PAD;
                    }
                }
                float[] all = new float[(int) total];
                java.util.Arrays.fill(all, SENTINEL);
                for (int i = 0; i < data.length; i++) {
                    if (data[i] != null) {
                        System.arraycopy(data[i], 0, all, (int) offsets[i], data[i].length);
                    }
                }
                Tensor buffer = buffer(all);
                for (int i = 0; i < data.length; i++) {
                    if (data[i] != null) {
                        tensors[i] = buffer.view(offsets[i], shapes[i]);
                    }
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** data, then PAD sentinels. */
    private static float[] padded(float[] data) {
        float[] all = java.util.Arrays.copyOf(data, data.length + PAD);
        java.util.Arrays.fill(all, data.length, all.length, SENTINEL);
        return all;
    }

    private Tensor buffer(float[] all) {
        Tensor t = device.upload(all, all.length);
        owned.add(t);
        buffers.add(t);
        return t;
    }

    /** Each operand a tensor of its own. */
    static Operands plain(Device d, float[][] data, int[][] shapes) {
        return new Operands(d, data, shapes, null);
    }

    /** Each operand a view of one buffer, sentinels around it. */
    static Operands carved(Device d, Layout layout, float[][] data, int[][] shapes) {
        return new Operands(d, data, shapes, layout);
    }

    Tensor[] tensors() {
        return tensors;
    }

    float[] read(int i) {
        return device.read(tensors[i]);
    }

    /** Every element of the buffers outside the operands still holds the sentinel (nothing wrote past a view). */
    void assertSentinels(String what) {
        for (Tensor buffer : buffers) {
            float[] all = device.read(buffer);
            boolean[] inside = new boolean[all.length];
            for (Tensor t : tensors) {
                if (t != null && t.storage() == buffer) {
                    java.util.Arrays.fill(inside, (int) t.offset(), (int) (t.offset() + t.size()), true);
                }
            }
            for (int e = 0; e < all.length; e++) {
                if (!inside[e] && Float.floatToRawIntBits(all[e]) != Float.floatToRawIntBits(SENTINEL)) {
                    throw new AssertionError(what + ": element " + e + " of a carved buffer, outside every view, was "
                            + "overwritten with " + all[e]);
                }
            }
        }
    }

    /** Uploads plain operands, runs the call, returns operand {@code out}. */
    static float[] run(Device d, float[][] data, int[][] shapes, int out, Call call) {
        try (Operands o = plain(d, data, shapes)) {
            call.call(d, o.tensors);
            return o.read(out);
        }
    }

    /** As {@link #run} on carved views; also checks that the sentinels are untouched. */
    static float[] runCarved(Device d, Layout layout, float[][] data, int[][] shapes, int out, Call call, String what) {
        try (Operands o = carved(d, layout, data, shapes)) {
            call.call(d, o.tensors);
            float[] result = o.read(out);
            o.assertSentinels(what + " (" + layout + ")");
            return result;
        }
    }

    @Override
    public void close() {
        for (Tensor t : owned) {
            t.close();
        }
    }
}
