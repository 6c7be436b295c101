package dev.nola.bench;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.AdapterOps;
import dev.nola.kernels.NolaOps;
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
 * One NOLA-adapted linear layer at GPT-2 medium shapes (in = out = 1024, rank r = 8, k = l = 1000
 * basis matrices, 1024 tokens): the LoRA-style forward and backward alone, and the whole adapter
 * step with materialised bases (mix A and B, forward, backward, both coefficient gradients).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AdapterBench {

    @Param("cpu")
    public String device;

    @Param("1024")
    public int tokens;

    @Param("1024")
    public int width;

    @Param("8")
    public int rank;

    @Param("1000")
    public int bases;

    private Device dev;
    private Tensor x;
    private Tensor a;
    private Tensor b;
    private Tensor h;
    private Tensor y;
    private Tensor dy;
    private Tensor dh;
    private Tensor dx;
    private Tensor da;
    private Tensor db;
    private Tensor alpha;
    private Tensor beta;
    private Tensor basisA;
    private Tensor basisB;
    private Tensor gradAlpha;
    private Tensor gradBeta;

    @Setup
    public void open() {
        dev = Backends.open(device);
        x = Fixtures.upload(dev, 1, 1, tokens, width);
        a = Fixtures.upload(dev, 2, 0.03, rank, width);
        b = Fixtures.upload(dev, 3, 0.03, width, rank);
        h = dev.allocate(tokens, rank);
        y = Fixtures.upload(dev, 4, 1, tokens, width);
        dy = Fixtures.upload(dev, 5, 1, tokens, width);
        dh = dev.allocate(tokens, rank);
        dx = dev.allocate(tokens, width);
        da = dev.allocate(rank, width);
        db = dev.allocate(width, rank);
        alpha = Fixtures.upload(dev, 6, 0.1, bases);
        beta = Fixtures.upload(dev, 7, 0.1, bases);
        basisA = dev.allocate(bases, rank * width);
        basisB = dev.allocate(bases, width * rank);
        float scale = (float) (1 / Math.sqrt(bases));
        dev.random().basis(new BasisStream(9, 0, BasisStream.DOMAIN_BASIS, scale), 0, bases, basisA);
        dev.random().basis(new BasisStream(9, 1, BasisStream.DOMAIN_BASIS, scale), 0, bases, basisB);
        gradAlpha = dev.allocate(bases);
        gradBeta = dev.allocate(bases);
        dev.synchronize();
    }

    @TearDown
    public void close() {
        dev.close();
    }

    @Benchmark
    public void forward() {
        dev.adapter().forward(x, a, b, 2f, h, y);
        dev.synchronize();
    }

    @Benchmark
    public void forwardBackward() {
        AdapterOps ops = dev.adapter();
        ops.forward(x, a, b, 2f, h, y);
        ops.backward(x, a, b, 2f, h, dy, dh, dx, da, db);
        dev.synchronize();
    }

    /** Mix both factors, forward, backward, and the gradients of both coefficient vectors. */
    @Benchmark
    public void nolaStep() {
        NolaOps nola = dev.nola();
        AdapterOps adapter = dev.adapter();
        nola.mix(alpha, basisA, null, a);
        nola.mix(beta, basisB, null, b);
        adapter.forward(x, a, b, 2f, h, y);
        adapter.backward(x, a, b, 2f, h, dy, dh, dx, da, db);
        nola.coefficientGradient(basisA, da, gradAlpha);
        nola.coefficientGradient(basisB, db, gradBeta);
        dev.synchronize();
    }
}
