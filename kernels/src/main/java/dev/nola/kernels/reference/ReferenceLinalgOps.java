package dev.nola.kernels.reference;

import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.floats;

import dev.nola.kernels.AbstractLinalgOps;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostTensor;

/** The oracle of the linalg family: the triple loop, each dot product accumulated in double. */
public final class ReferenceLinalgOps extends AbstractLinalgOps {

    public ReferenceLinalgOps(Device device) {
        super(device);
    }

    @Override
    protected void doMatmul(boolean transA, boolean transB, int batch, int m, int n, int k, float alpha,
                            Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                            float beta, Tensor c, int ldc, long strideC) {
        float[] av = floats(a);
        // a bfloat16 B is widened exactly, once, into a float copy of its storage: the oracle then reads one layout
        float[] bv = b.dtype() == DType.BF16 ? widened(b) : floats(b);
        float[] cv = floats(c);
        for (int q = 0; q < batch; q++) {
            long a0 = at(a) + q * strideA;
            long b0 = at(b) + q * strideB;
            long c0 = at(c) + q * strideC;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) {
                        float x = transA ? av[(int) (a0 + (long) p * lda + i)] : av[(int) (a0 + (long) i * lda + p)];
                        float y = transB ? bv[(int) (b0 + (long) j * ldb + p)] : bv[(int) (b0 + (long) p * ldb + j)];
                        acc += (double) x * y;
                    }
                    int ci = (int) (c0 + (long) i * ldc + j);
                    double prior = beta == 0f ? 0.0 : (double) beta * cv[ci];
                    cv[ci] = (float) (alpha * acc + prior);
                }
            }
        }
    }

    /** The whole storage of a bfloat16 tensor, widened to float32 (indexed as the storage is). */
    private static float[] widened(Tensor b) {
        short[] h = HostTensor.halves(b);
        float[] out = new float[h.length];
        BFloat16.widen(h, 0, out, 0, h.length);
        return out;
    }

    @Override
    protected void doAxpy(float alpha, Tensor x, Tensor y, long n) {
        float[] xv = floats(x);
        float[] yv = floats(y);
        int x0 = at(x);
        int y0 = at(y);
        for (int i = 0; i < n; i++) {
            yv[y0 + i] = (float) ((double) alpha * xv[x0 + i] + yv[y0 + i]);
        }
    }

    @Override
    protected void doScale(float alpha, Tensor x, long n) {
        float[] xv = floats(x);
        int x0 = at(x);
        for (int i = 0; i < n; i++) {
            xv[x0 + i] = alpha * xv[x0 + i];
        }
    }

    @Override
    protected void doFill(Tensor x, float value, long n) {
        java.util.Arrays.fill(floats(x), at(x), (int) (at(x) + n), value);
    }
}
