package dev.nola.models.vit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.nola.adapter.optim.Parameter;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.image.ImageSet;
import dev.nola.models.transformer.DeviceWeights;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every base tensor's gradient (pretraining) against central differences at a few elements. */
class VitBaseGradientTest {

    @Test
    void baseGradientsMatchFiniteDifferences() {
        ImageSet data = VitModelTest.quadrants(6, 1);
        try (Device d = Backends.open("reference")) {
            DeviceWeights w = VitModel.randomWeights(d, VitModelTest.TINY, 4);
            try (VitModel m = new VitModel(d, VitModelTest.TINY, w, true, Map.of())) {
                m.zeroGradients();
                m.forward(data.pixels(), data.labels(), 6, 0f);
                m.backward();
                List<Parameter> ps = m.trainable().list();
                assertEquals(VitModelTest.TINY.spec().weights().size(), ps.size(), "every tensor of the table trains");
                for (Parameter p : ps) {
                    float[] g = d.read(p.grad());
                    float[] v = d.read(p.value());
                    double gmax = 1e-12;
                    for (float x : g) {
                        gmax = Math.max(gmax, Math.abs(x));
                    }
                    for (int i : new int[] {0, v.length / 2, v.length - 1}) {
                        double h = 1e-2;
                        float keep = v[i];
                        v[i] = (float) (keep + h);
                        d.write(p.value(), v);
                        double lp = m.forward(data.pixels(), data.labels(), 6, 0f);
                        v[i] = (float) (keep - h);
                        d.write(p.value(), v);
                        double lm = m.forward(data.pixels(), data.labels(), 6, 0f);
                        v[i] = keep;
                        d.write(p.value(), v);
                        assertEquals((lp - lm) / (2 * h), g[i], 0.05 * gmax + 2e-5, p.name() + "[" + i + "] of "
                                + v.length);
                    }
                }
            } finally {
                w.close();
            }
        }
    }
}
