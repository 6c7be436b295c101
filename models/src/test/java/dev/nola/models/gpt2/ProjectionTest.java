package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProjectionTest {

    @TempDir
    Path tmp;

    /** x·W + b with W in the Conv1D layout [in, out]. */
    private static float[] conv1d(Projection p, float[] x) {
        float[] y = p.bias().clone();
        for (int i = 0; i < p.in(); i++) {
            for (int o = 0; o < p.out(); o++) {
                y[o] += x[i] * p.weight()[i * p.out() + o];
            }
        }
        return y;
    }

    /** W·x + b with W in nn.Linear's layout [out, in]. */
    private static float[] linear(float[] w, float[] b, float[] x) {
        float[] y = b.clone();
        for (int o = 0; o < b.length; o++) {
            for (int i = 0; i < x.length; i++) {
                y[o] += w[o * x.length + i] * x[i];
            }
        }
        return y;
    }

    @Test
    void theLinearLayoutComputesTheSameMap() {
        new TinyGpt2().write(tmp);
        Gpt2Block b = Gpt2Checkpoint.load(tmp).block(1);
        float[] x = {1, -2, 3, 0.5f, -1, 2, 0, 4};
        for (Projection p : new Projection[] {b.attn(), b.attnProj(), b.fc()}) {
            assertArrayEquals(conv1d(p, x), linear(p.linearWeight(), p.bias(), x), 1e-6f);
            Projection back = Projection.ofLinear(p.out(), p.in(), p.linearWeight(), p.bias());
            assertArrayEquals(p.weight(), back.weight(), 0f);
        }
    }

    @Test
    void queryKeyAndValueAreTheThirdsOfCAttn() {
        new TinyGpt2().write(tmp);
        Gpt2Block b = Gpt2Checkpoint.load(tmp).block(0);
        float[] x = {0.3f, 1, -2, 0, 5, -1, 0.25f, 2};
        float[] qkv = conv1d(b.attn(), x);
        Projection[] parts = {b.query(), b.key(), b.value()};
        for (int part = 0; part < 3; part++) {
            assertEquals(8, parts[part].out());
            float[] y = conv1d(parts[part], x);
            for (int j = 0; j < 8; j++) {
                assertEquals(qkv[part * 8 + j], y[j], 0f, "part " + part + " column " + j);
            }
        }
    }
}
