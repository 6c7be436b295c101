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
 * The NOLA mixing family on k basis matrices of n elements (default GPT-2 medium: k = 1000,
 * n = r·in = 8192): materialised mix (reads the [k, n] basis once: GB/s = 4·k·n / time), fused
 * generate-and-mix, and the coefficient gradient, materialised and fused.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MixBench {

    @Param("cpu")
    public String device;

    @Param("1000")
    public int k;

    @Param("8192")
    public int n;

    private Device dev;
    private Tensor coefficients;
    private Tensor basis;
    private Tensor grad;
    private Tensor out;
    private Tensor coefficientGrad;
    private final BasisStream stream = new BasisStream(0x5eedL, 3, BasisStream.DOMAIN_BASIS, 0.03f);

    @Setup
    public void open() {
        dev = Backends.open(device);
        coefficients = Fixtures.upload(dev, 1, 1, k);
        grad = Fixtures.upload(dev, 2, 1, n);
        basis = dev.allocate(k, n);
        dev.random().basis(stream, 0, k, basis);
        out = dev.allocate(n);
        coefficientGrad = dev.allocate(k);
        dev.synchronize();
    }

    @TearDown
    public void close() {
        dev.close();
    }

    @Benchmark
    public void mix() {
        dev.nola().mix(coefficients, basis, null, out);
        dev.synchronize();
    }

    @Benchmark
    public void mixGenerated() {
        dev.nola().mixGenerated(coefficients, stream, null, out);
        dev.synchronize();
    }

    @Benchmark
    public void coefficientGradient() {
        dev.nola().coefficientGradient(basis, grad, coefficientGrad);
        dev.synchronize();
    }

    @Benchmark
    public void coefficientGradientGenerated() {
        dev.nola().coefficientGradientGenerated(stream, grad, coefficientGrad);
        dev.synchronize();
    }
}
