package dev.nola.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.nola.adapter.quant.CoefficientQuantizer;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Quantization-aware training: the forward pass uses the fake-quantized coefficients, and the gradient
 * is the straight-through one, i.e. the gradient at the quantized point, handed to the float
 * coefficients unchanged.
 */
class QuantizationAwareTest {

    @Test
    void forwardUsesQuantizedCoefficientsAndGradientPassesStraightThrough() {
        NolaConfig floatCfg = new NolaConfig(2, 12, 10, 2f, NolaConfig.InitScheme.OFFSET, NolaConfig.BasisMode.ON_THE_FLY,
                true, 4L, List.of("q"), NolaConfig.FLOAT_BITS, false);
        NolaConfig qat = floatCfg.withQuantization(3, true);
        SplittableRandom rnd = new SplittableRandom(9);
        float[] alpha = AdapterGradientTest.uniform(rnd, 12, 1);
        float[] beta = AdapterGradientTest.uniform(rnd, 10, 1);
        float[] x = AdapterGradientTest.uniform(rnd, 3 * 8, 1);
        float[] dyv = AdapterGradientTest.uniform(rnd, 3 * 6, 1);
        try (Device d = Backends.open("cpu");
             NolaAdapter q = NolaAdapter.create(d, qat, 8, 6, 0, "q");
             NolaAdapter f = NolaAdapter.create(d, floatCfg, 8, 6, 0, "q");
             Tensor xt = d.upload(x, 3, 8); Tensor y1 = d.allocate(3, 6); Tensor y2 = d.allocate(3, 6);
             Tensor dy = d.upload(dyv, 3, 6)) {
            q.setCoefficients(alpha, beta);
            f.setCoefficients(CoefficientQuantizer.fakeQuantize(alpha, 3), CoefficientQuantizer.fakeQuantize(beta, 3));
            assertFalse(java.util.Arrays.equals(alpha, f.alpha()), "3-bit quantization changes the coefficients");
            q.forward(xt, y1);
            f.forward(xt, y2);
            assertArrayEquals(d.read(y2), d.read(y1));
            q.backward(dy, null);
            f.backward(dy, null);
            assertArrayEquals(f.gradients(), q.gradients());
            assertArrayEquals(alpha, q.alpha(), "the float coefficients are kept");
            assertEquals(22, q.parameterCount());
        }
    }
}
