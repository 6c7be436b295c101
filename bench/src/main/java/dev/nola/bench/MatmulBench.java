package dev.nola.bench;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * sgemm {@code C[m,n] = A[m,k]·B[k,n]} (no transposes, alpha 1, beta 0), square by default
 * (1024³ = 2.15 GFLOP per call). GFLOP/s = 2·size³ / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatmulBench {

    @Param("cpu")
    public String device;

    @Param("1024")
    public int size;

    private Device dev;
    private Tensor a;
    private Tensor b;
    private Tensor c;

    @Setup
    public void open() {
        dev = Backends.open(device);
        a = Fixtures.upload(dev, 1, 1, size, size);
        b = Fixtures.upload(dev, 2, 1, size, size);
        c = dev.allocate(size, size);
    }

    @TearDown
    public void close() {
        dev.close();
    }

    @Benchmark
    public void sgemm() {
        dev.linalg().matmul(false, false, 1f, a, b, 0f, c);
        dev.synchronize();
    }

    /** The adapter's transposed shapes use the other packing paths: Aᵀ·Bᵀ. */
    @Benchmark
    public void sgemmTransposed() {
        dev.linalg().matmul(true, true, 1f, a, b, 0f, c);
        dev.synchronize();
    }
}
