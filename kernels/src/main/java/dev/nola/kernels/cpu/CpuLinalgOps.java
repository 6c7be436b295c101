package dev.nola.kernels.cpu;

import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.floats;

import dev.nola.kernels.AbstractLinalgOps;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostTensor;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The linalg family on the cpu backend: {@link Sgemm} with offsets and leading dimensions; vector level-1 loops. */
public final class CpuLinalgOps extends AbstractLinalgOps {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Elements per parallel chunk of the level-1 ops (below it they run on the caller's thread). */
    private static final int CHUNK = 1 << 16;

    public CpuLinalgOps(Device device) {
        super(device);
    }

    @Override
    protected void doMatmul(boolean transA, boolean transB, int batch, int m, int n, int k, float alpha,
                            Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB,
                            float beta, Tensor c, int ldc, long strideC) {
        boolean half = b.dtype() == DType.BF16;
        Sgemm.gemmBatched(transA, transB, batch, alpha, floats(a), at(a), lda, strideA, half ? null : floats(b),
                half ? HostTensor.halves(b) : null, at(b), ldb, strideB, beta, floats(c), at(c), ldc, strideC, m, n, k);
    }

    /** Runs body(from, to) over [0, n) in chunks, in parallel when n is large. */
    private static void chunks(long n, Range body) {
        int count = (int) ((n + CHUNK - 1) / CHUNK);
        IntStream r = IntStream.range(0, count);
        (count > 1 ? r.parallel() : r).forEach(i -> body.run(i * CHUNK, (int) Math.min(n, (long) (i + 1) * CHUNK)));
    }

    private interface Range {
        void run(int from, int to);
    }

    @Override
    protected void doAxpy(float alpha, Tensor x, Tensor y, long n) {
        float[] xv = floats(x);
        float[] yv = floats(y);
        int x0 = at(x);
        int y0 = at(y);
        chunks(n, (from, to) -> {
            FloatVector va = FloatVector.broadcast(S, alpha);
            int i = from;
            for (int bound = from + S.loopBound(to - from); i < bound; i += S.length()) {
                FloatVector.fromArray(S, xv, x0 + i).fma(va, FloatVector.fromArray(S, yv, y0 + i)).intoArray(yv, y0 + i);
            }
            for (; i < to; i++) {
                yv[y0 + i] = Math.fma(alpha, xv[x0 + i], yv[y0 + i]);
            }
        });
    }

    @Override
    protected void doScale(float alpha, Tensor x, long n) {
        float[] xv = floats(x);
        int x0 = at(x);
        chunks(n, (from, to) -> {
            for (int i = from; i < to; i++) {
                xv[x0 + i] *= alpha;
            }
        });
    }

    @Override
    protected void doFill(Tensor x, float value, long n) {
        java.util.Arrays.fill(floats(x), at(x), (int) (at(x) + n), value);
    }
}
