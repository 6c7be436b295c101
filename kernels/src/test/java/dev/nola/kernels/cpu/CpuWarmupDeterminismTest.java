package dev.nola.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The cpu reductions give the same bits before and after the JIT compiles them: a training run
 * resumed in a fresh JVM (cold code) must equal one that ran on (hot code). Before the lane sums were
 * written in lane order, {@code reduceLanes(ADD)} summed in one order when interpreted and another
 * once C2 had compiled the caller, so the coefficient gradients changed in the last bit after warm-up
 * (this test failed on that code; a resumed cpu run had once differed from an uninterrupted one).
 */
class CpuWarmupDeterminismTest {

    @Test
    void coefficientGradientsAndAdapterBackwardKeepTheirBitsThroughWarmUp() {
        try (Device d = Backends.open("cpu")) {
            SplittableRandom r = new SplittableRandom(1);
            int k = 16;
            int n = 96;
            Tensor basis = d.upload(gaussian(r, k * n), k, n);
            Tensor grad = d.upload(gaussian(r, n), n);
            Tensor out = d.allocate(k);
            Tensor outG = d.allocate(k);
            BasisStream s = new BasisStream(5L, 3, BasisStream.DOMAIN_BASIS, 0.25f);
            int rank = 4;
            int tokens = 24;
            int width = 48;
            Tensor x = d.upload(gaussian(r, tokens * width), tokens, width);
            Tensor a = d.upload(gaussian(r, rank * width), rank, width);
            Tensor b = d.upload(gaussian(r, width * rank), width, rank);
            Tensor h = d.allocate(tokens, rank);
            Tensor dy = d.upload(gaussian(r, tokens * width), tokens, width);
            Tensor dh = d.allocate(tokens, rank);
            Tensor da = d.allocate(rank, width);
            Tensor db = d.allocate(width, rank);
            d.nola().coefficientGradient(basis, grad, out);
            d.nola().coefficientGradientGenerated(s, grad, outG);
            d.adapter().backward(x, a, b, 2f, h, dy, dh, null, da, db);
            float[][] cold = {d.read(out), d.read(outG), d.read(dh), d.read(da), d.read(db)};
            for (int i = 0; i < 40_000; i++) {
                d.nola().coefficientGradient(basis, grad, out);
                d.nola().coefficientGradientGenerated(s, grad, outG);
                d.adapter().backward(x, a, b, 2f, h, dy, dh, null, da, db);
            }
            float[][] hot = {d.read(out), d.read(outG), d.read(dh), d.read(da), d.read(db)};
            String[] names = {"coefficientGradient", "coefficientGradientGenerated", "adapter dh", "adapter da", "adapter db"};
            for (int i = 0; i < names.length; i++) {
                assertArrayEquals(cold[i], hot[i], names[i] + " changed after warm-up");
            }
        }
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }
}
