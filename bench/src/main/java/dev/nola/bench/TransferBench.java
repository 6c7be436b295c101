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
 * Host→device writes and device→host reads of the sizes the other benchmarks use (a [1024, 1024]
 * activation, a [1000, 8192] basis), so kernel time and transfer time can be reported separately on
 * devices with their own memory. GB/s = 4·elements / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TransferBench {

    @Param("cpu")
    public String device;

    @Param({"1048576", "8192000"})
    public int elements;

    private Device dev;
    private Tensor tensor;
    private float[] host;

    @Setup
    public void open() {
        dev = Backends.open(device);
        host = Fixtures.random(1, elements, 1);
        tensor = dev.allocate(elements);
    }

    @TearDown
    public void close() {
        dev.close();
    }

    @Benchmark
    public void write() {
        dev.write(tensor, host);
        dev.synchronize();
    }

    @Benchmark
    public float[] read() {
        dev.read(tensor, 0, host, 0, elements);
        return host;
    }
}
