package dev.nola.kernels;

import java.util.Arrays;

/**
 * Argument checks shared by every backend, so that bad input fails the same way everywhere: with an
 * {@link IllegalArgumentException} or {@link IllegalStateException} that names the argument, the
 * value and what was expected, before any kernel runs.
 */
public final class Checks {

    private Checks() {
    }

    public static <T> T notNull(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + " is null");
        }
        return value;
    }

    public static int positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, got " + value);
        }
        return value;
    }

    public static int nonNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must be >= 0, got " + value);
        }
        return value;
    }

    public static float finite(String name, float value) {
        if (!Float.isFinite(value)) {
            throw new IllegalArgumentException(name + " must be finite, got " + value);
        }
        return value;
    }

    /** Checks a shape: at least one dimension, every extent positive; returns the element count. */
    public static long shape(String name, int[] shape) {
        notNull(name, shape);
        if (shape.length == 0) {
            throw new IllegalArgumentException(name + " must have at least one dimension, got []");
        }
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] <= 0) {
                throw new IllegalArgumentException(name + " extents must be > 0, got " + Arrays.toString(shape)
                        + " (dimension " + i + " is " + shape[i] + ")");
            }
            n = Math.multiplyExact(n, shape[i]);
        }
        return n;
    }

    /** Checks that a range lies inside a buffer of {@code capacity} elements. */
    public static void range(String name, long offset, long length, long capacity) {
        if (offset < 0 || length < 0 || offset > capacity - length) {
            throw new IllegalArgumentException(name + " range [" + offset + ", " + offset + " + " + length
                    + ") is outside [0, " + capacity + ")");
        }
    }

    /** Checks that a float32 tensor is open and belongs to {@code device}. */
    public static Tensor on(Device device, String name, Tensor t) {
        onAny(device, name, t);
        if (t.dtype() == DType.BF16) {
            throw new IllegalArgumentException(name + " is a bfloat16 tensor, expected float32 (bfloat16 is read only as"
                    + " matmul's b and encoderForward's wte; other operands and outputs are float32)");
        }
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(name + " is an " + t.dtype().label() + " tensor, expected float32");
        }
        return t;
    }

    /** Checks that a weight operand that may be held in bfloat16 (matmul's b, the embedding table) is open, float32 or bfloat16, on {@code device}. */
    public static Tensor onWeight(Device device, String name, Tensor t) {
        onAny(device, name, t);
        if (t.dtype() != DType.FLOAT32 && t.dtype() != DType.BF16) {
            throw new IllegalArgumentException(name + " is an " + t.dtype().label() + " tensor, expected float32 or bfloat16");
        }
        return t;
    }

    /** Checks that a tensor that the host writes or reads as floats is open, float32 or bfloat16, on {@code device}. */
    static Tensor onFloats(Device device, String name, Tensor t) {
        return onWeight(device, name, t);
    }

    /** Checks that an int32 tensor is open and belongs to {@code device}. */
    public static Tensor onInts(Device device, String name, Tensor t) {
        onAny(device, name, t);
        if (t.dtype() != DType.INT32) {
            throw new IllegalArgumentException(name + " is a " + t.dtype().label() + " tensor, expected int32");
        }
        return t;
    }

    /** Checks that a tensor of any element type is open and belongs to {@code device}. */
    public static Tensor onAny(Device device, String name, Tensor t) {
        notNull(name, t);
        if (device.isClosed()) {
            throw new IllegalStateException("device " + device.id() + " is closed");
        }
        if (t.isClosed()) {
            throw new IllegalStateException(name + " is closed");
        }
        if (t.device() != device) {
            throw new IllegalArgumentException(name + " belongs to device " + t.device().id()
                    + ", expected a tensor of device " + device.id());
        }
        return t;
    }

    /**
     * Checks that two tensors share no element (an output must not overlap an input unless the op says
     * so): different storage, or disjoint ranges of the same storage.
     */
    public static void noOverlap(String outName, Tensor out, String inName, Tensor in) {
        if (out == null || in == null || out.storage() != in.storage()) {
            return;
        }
        long a0 = out.offset();
        long b0 = in.offset();
        if (a0 < b0 + in.size() && b0 < a0 + out.size()) {
            throw new IllegalArgumentException(outName + " and " + inName + " overlap (elements [" + a0 + ", "
                    + (a0 + out.size()) + ") and [" + b0 + ", " + (b0 + in.size())
                    + ") of one tensor); this op does not allow them to alias");
        }
    }

    /**
     * For an op that may work in place: {@code out} is either exactly {@code in} (the same elements of
     * the same storage) or shares no element with it.
     */
    public static void sameOrApart(String outName, Tensor out, String inName, Tensor in) {
        if (out != null && in != null && out.storage() == in.storage() && out.offset() == in.offset()
                && out.size() == in.size()) {
            return;
        }
        noOverlap(outName, out, inName, in);
    }

    /**
     * Checks that no output overlaps an input or another output (a null output or input is skipped).
     *
     * @param outNames the outputs' names, for messages
     * @param inNames  the inputs' names, for messages
     */
    public static void outputsApart(String[] outNames, Tensor[] outs, String[] inNames, Tensor[] ins) {
        for (int i = 0; i < outs.length; i++) {
            for (int j = 0; j < ins.length; j++) {
                noOverlap(outNames[i], outs[i], inNames[j], ins[j]);
            }
            for (int j = i + 1; j < outs.length; j++) {
                noOverlap(outNames[i], outs[i], outNames[j], outs[j]);
            }
        }
    }

    /** Checks that a host array's length equals a tensor's size. */
    public static void length(String name, int length, Tensor t) {
        if (length != t.size()) {
            throw new IllegalArgumentException(name + " length " + length + " does not match the tensor's size " + t.size());
        }
    }

    /** The tensor's size as a host array length, checked to fit one Java array. */
    public static int hostLength(String name, Tensor t) {
        notNull(name, t);
        if (t.size() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(name + " has " + t.size() + " elements, more than one Java array holds; read it in ranges");
        }
        return (int) t.size();
    }

    /** Checks a scalar tensor: open, float32, on the device, one element. */
    public static Tensor scalar(Device device, String name, Tensor t) {
        on(device, name, t);
        if (t.size() != 1) {
            throw new IllegalArgumentException(name + " has " + t.size() + " elements (shape " + Arrays.toString(t.shape())
                    + "), expected 1 (a scalar)");
        }
        return t;
    }

    /** Checks a tensor's element count. */
    public static void size(String name, Tensor t, long expected, String what) {
        if (t.size() != expected) {
            throw new IllegalArgumentException(name + " has " + t.size() + " elements (shape "
                    + Arrays.toString(t.shape()) + "), expected " + expected + " (" + what + ")");
        }
    }

    /** Checks that a tensor is a matrix and returns its shape. */
    public static int[] matrix(String name, Tensor t) {
        int[] s = t.shape();
        if (s.length != 2) {
            throw new IllegalArgumentException(name + " must be a matrix (rank 2), got shape " + Arrays.toString(s));
        }
        return s;
    }

    /** Checks a matrix's exact shape. */
    public static void matrix(String name, Tensor t, int rows, int cols, String what) {
        int[] s = matrix(name, t);
        if (s[0] != rows || s[1] != cols) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(s) + ", expected ["
                    + rows + ", " + cols + "] (" + what + ")");
        }
    }
}
