package dev.nola.bench;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
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
 * Philox basis generation: k matrices of n elements (default the GPT-2 medium A factor, r·in =
 * 8·1024 = 8192 elements, k = 1000). Elements per second = k·n / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class BasisBench {

    @Param("cpu")
    public String device;

    @Param("1000")
    public int k;

    @Param("8192")
    public int n;

    private Device dev;
    private Tensor out;
    private final BasisStream stream = new BasisStream(0x5eedL, 3, BasisStream.DOMAIN_BASIS, 0.03f);

    @Setup
    public void open() {
        dev = Backends.open(device);
        out = dev.allocate(k, n);
    }

    @TearDown
    public void close() {
        dev.close();
    }

    @Benchmark
    public void basis() {
        dev.random().basis(stream, 0, k, out);
        dev.synchronize();
    }
}
