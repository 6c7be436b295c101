package dev.nola.kernels.cpu;

import static dev.nola.kernels.cpu.SegmentAccess.ORDER;
import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.segment;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.nola.kernels.AbstractLinalgOps;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The linalg family on the cpu backend: {@link Sgemm} with offsets and leading dimensions ({@link Gemv} for
 * products of at most {@link Gemv#MAX_ROWS} rows); vector level-1 loops.
 */
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
        boolean half = b.dtype() == DType.BF16; // a frozen weight: widened exactly where B is read
        if (Gemv.takes(m)) { // a decode step's rows: B read once in place, not packed
            Gemv.gemmBatched(transA, transB, batch, alpha, segment(a), at(a), lda, strideA, segment(b), half, at(b), ldb,
                    strideB, beta, segment(c), at(c), ldc, strideC, m, n, k);
            return;
        }
        Sgemm.gemmBatched(transA, transB, batch, alpha, segment(a), at(a), lda, strideA, segment(b), half, at(b), ldb,
                strideB, beta, segment(c), at(c), ldc, strideC, m, n, k);
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
        MemorySegment xv = segment(x);
        MemorySegment yv = segment(y);
        int x0 = at(x);
        int y0 = at(y);
        chunks(n, (from, to) -> {
            FloatVector va = FloatVector.broadcast(S, alpha);
            int i = from;
            for (int bound = from + S.loopBound(to - from); i < bound; i += S.length()) {
                FloatVector.fromMemorySegment(S, xv, 4L * (x0 + i), ORDER).fma(va, FloatVector.fromMemorySegment(S, yv, 4L * (y0 + i), ORDER)).intoMemorySegment(yv, 4L * (y0 + i), ORDER);
            }
            for (; i < to; i++) {
                yv.setAtIndex(JAVA_FLOAT, y0 + i, Math.fma(alpha, xv.getAtIndex(JAVA_FLOAT, x0 + i), yv.getAtIndex(JAVA_FLOAT, y0 + i)));
            }
        });
    }

    @Override
    protected void doScale(float alpha, Tensor x, long n) {
        MemorySegment xv = segment(x);
        int x0 = at(x);
        chunks(n, (from, to) -> {
            for (int i = from; i < to; i++) {
                xv.setAtIndex(JAVA_FLOAT, x0 + i, xv.getAtIndex(JAVA_FLOAT, x0 + i) * (alpha));
            }
        });
    }

    @Override
    protected void doFill(Tensor x, float value, long n) {
        SegmentAccess.fill(segment(x), at(x), at(x) + n, value);
    }
}
