package dev.nola.kernels.tornado;

/**
 * The int parameter layouts of the nn kernels ({@link NnKernels}), one class per kernel: the kernel reads {@code ip.get(Layout.NAME)} and {@link TornadoNnOps} writes
 * {@code ip.set(Layout.NAME, …)}, so neither side counts positions. Sizes and flags come first, then
 * each operand's element offset (named after the operand), then output slot numbers; {@code SIZE} is
 * the length. The constants are compile-time constants, so a kernel body compiles to the same code as
 * with literal positions.
 */
final class NnParams {

    private NnParams() {
    }

    /** Encoder forward: sizes, which tables are present, the offsets of ids, wte, wpe, out. */
    static final class EncoderForward {
        static final int N = 0;
        static final int T = 1;
        static final int C = 2;
        static final int HAS_WTE = 3;
        static final int HAS_WPE = 4;
        static final int IDS = 5;
        static final int WTE = 6;
        static final int WPE = 7;
        static final int OUT = 8;
        static final int SIZE = 9;

        private EncoderForward() {
        }
    }

    /** Token-embedding gradient. */
    static final class EncoderBackwardTokens {
        static final int N = 0;
        static final int C = 1;
        static final int IDS = 2;
        static final int DOUT = 3;
        static final int DWTE = 4;
        static final int SIZE = 5;

        private EncoderBackwardTokens() {
        }
    }

    /** Position-embedding gradient. */
    static final class EncoderBackwardPositions {
        static final int N = 0;
        static final int T = 1;
        static final int C = 2;
        static final int DOUT = 3;
        static final int DWPE = 4;
        static final int SIZE = 5;

        private EncoderBackwardPositions() {
        }
    }

    /** Layernorm forward: out, mean and rstd through output slots. */
    static final class LayerNormForward {
        static final int N = 0;
        static final int C = 1;
        static final int X = 2;
        static final int W = 3;
        static final int B = 4;
        static final int OUT = 5;
        static final int MEAN = 6;
        static final int RSTD = 7;
        static final int OUT_SLOT = 8;
        static final int MEAN_SLOT = 9;
        static final int RSTD_SLOT = 10;
        static final int SIZE = 11;

        private LayerNormForward() {
        }
    }

    /** Layernorm backward, dx. */
    static final class LayerNormBackward {
        static final int N = 0;
        static final int C = 1;
        static final int DOUT = 2;
        static final int X = 3;
        static final int W = 4;
        static final int MEAN = 5;
        static final int RSTD = 6;
        static final int DX = 7;
        static final int SIZE = 8;

        private LayerNormBackward() {
        }
    }

    /** Layernorm backward, dweight and dbias through output slots. */
    static final class LayerNormParams {
        static final int N = 0;
        static final int C = 1;
        static final int DOUT = 2;
        static final int X = 3;
        static final int MEAN = 4;
        static final int RSTD = 5;
        static final int DW = 6;
        static final int DB = 7;
        static final int HAS_W = 8;
        static final int HAS_B = 9;
        static final int DW_SLOT = 10;
        static final int DB_SLOT = 11;
        static final int SIZE = 12;

        private LayerNormParams() {
        }
    }

    /** Bias forward. */
    static final class BiasForward {
        static final int N = 0;
        static final int C = 1;
        static final int X = 2;
        static final int BIAS = 3;
        static final int SIZE = 4;

        private BiasForward() {
        }
    }

    /** Column sums (bias backward). */
    static final class ColumnSums {
        static final int N = 0;
        static final int C = 1;
        static final int DOUT = 2;
        static final int DBIAS = 3;
        static final int SIZE = 4;

        private ColumnSums() {
        }
    }

    /** Residual. */
    static final class Residual {
        static final int N = 0;
        static final int A = 1;
        static final int B = 2;
        static final int OUT = 3;
        static final int SIZE = 4;

        private Residual() {
        }
    }

    /** GELU forward. */
    static final class GeluForward {
        static final int N = 0;
        static final int KIND = 1;
        static final int X = 2;
        static final int OUT = 3;
        static final int SIZE = 4;

        private GeluForward() {
        }
    }

    /** GELU backward. */
    static final class GeluBackward {
        static final int N = 0;
        static final int KIND = 1;
        static final int X = 2;
        static final int DOUT = 3;
        static final int DX = 4;
        static final int SIZE = 5;

        private GeluBackward() {
        }
    }

    /** Softmax forward. */
    static final class SoftmaxForward {
        static final int ROWS = 0;
        static final int L = 1;
        static final int CAUSAL = 2;
        static final int X = 3;
        static final int OUT = 4;
        static final int SIZE = 5;

        private SoftmaxForward() {
        }
    }

    /** Softmax backward. */
    static final class SoftmaxBackward {
        static final int ROWS = 0;
        static final int L = 1;
        static final int Y = 2;
        static final int DY = 3;
        static final int DX = 4;
        static final int SIZE = 5;

        private SoftmaxBackward() {
        }
    }

    /** Cross-entropy, forward (OUT: the losses) and backward (OUT: dlogits). */
    static final class CrossEntropy {
        static final int N = 0;
        static final int V = 1;
        static final int IGNORE = 2;
        static final int LOGITS = 3;
        static final int TARGETS = 4;
        static final int OUT = 5;
        static final int SIZE = 6;

        private CrossEntropy() {
        }
    }

    /** Pooling forward. */
    static final class PoolForward {
        static final int B = 0;
        static final int T = 1;
        static final int C = 2;
        static final int KIND = 3;
        static final int X = 4;
        static final int OUT = 5;
        static final int SIZE = 6;

        private PoolForward() {
        }
    }

    /** Pooling backward (ROWS = b·PER). */
    static final class PoolBackward {
        static final int ROWS = 0;
        static final int PER = 1;
        static final int T = 2;
        static final int C = 3;
        static final int KIND = 4;
        static final int DOUT = 5;
        static final int DX = 6;
        static final int SIZE = 7;

        private PoolBackward() {
        }
    }

    /** RMSNorm forward: out and rstd through output slots. */
    static final class RmsNormForward {
        static final int N = 0;
        static final int C = 1;
        static final int X = 2;
        static final int W = 3;
        static final int OUT = 4;
        static final int RSTD = 5;
        static final int OUT_SLOT = 6;
        static final int RSTD_SLOT = 7;
        static final int SIZE = 8;

        private RmsNormForward() {
        }
    }

    /** RMSNorm backward, dx. */
    static final class RmsNormBackward {
        static final int N = 0;
        static final int C = 1;
        static final int DOUT = 2;
        static final int X = 3;
        static final int W = 4;
        static final int RSTD = 5;
        static final int DX = 6;
        static final int SIZE = 7;

        private RmsNormBackward() {
        }
    }

    /** RMSNorm weight gradient, partials per span of rows. */
    static final class RmsNormWeightPartials {
        static final int N = 0;
        static final int C = 1;
        static final int SPAN = 2;
        static final int GROUPS = 3;
        static final int DOUT = 4;
        static final int X = 5;
        static final int RSTD = 6;
        static final int WS = 7;
        static final int SIZE = 8;

        private RmsNormWeightPartials() {
        }
    }

    /** RMSNorm weight gradient, the partials added. */
    static final class RmsNormWeightCombine {
        static final int C = 0;
        static final int GROUPS = 1;
        static final int WS = 2;
        static final int DW = 3;
        static final int SIZE = 4;

        private RmsNormWeightCombine() {
        }
    }

    /** RoPE. */
    static final class Rope {
        static final int ROWS = 0;
        static final int T = 1;
        static final int W = 2;
        static final int HEAD_DIM = 3;
        static final int POS0 = 4;
        static final int X = 5;
        static final int COS = 6;
        static final int SIN = 7;
        static final int OUT = 8;
        static final int SIZE = 9;

        private Rope() {
        }
    }

    /** SwiGLU forward. */
    static final class SwigluForward {
        static final int N = 0;
        static final int GATE = 1;
        static final int UP = 2;
        static final int OUT = 3;
        static final int SIZE = 4;

        private SwigluForward() {
        }
    }

    /** SwiGLU backward: dgate and dup through output slots. */
    static final class SwigluBackward {
        static final int N = 0;
        static final int GATE = 1;
        static final int UP = 2;
        static final int DOUT = 3;
        static final int DGATE = 4;
        static final int DUP = 5;
        static final int DGATE_SLOT = 6;
        static final int DUP_SLOT = 7;
        static final int SIZE = 8;

        private SwigluBackward() {
        }
    }

    /**
     * The fused attention's kernels ({@link FusedAttentionKernels}, {@link FusedAttentionLanes}): sizes
     * and the causal flag, each operand's offset (an operand a kernel does not take is 0), then the
     * output slots: out and lse forward, dk and dv on the key side (the query side writes dq alone);
     * last the offset of the row terms D = rowsum(dout ∘ out) that the lane kernels' backward computes
     * first.
     */
    static final class FusedAttention {
        static final int B = 0;
        static final int T = 1;
        static final int C = 2;
        static final int NH = 3;
        /** The width of k and v, KVH·hs (c when KVH = NH). */
        static final int CK = 4;
        static final int CAUSAL = 5;
        static final int Q = 6;
        static final int K = 7;
        static final int V = 8;
        static final int OUT = 9;
        static final int LSE = 10;
        static final int DOUT = 11;
        static final int DQ = 12;
        static final int DK = 13;
        static final int DV = 14;
        static final int SLOT0 = 15;
        static final int SLOT1 = 16;
        static final int ROW_TERM = 17;
        static final int SIZE = 18;

        private FusedAttention() {
        }
    }
}
