package dev.nola.kernels.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;

/**
 * The nn family. (First checks; the family's full contract — every op against the reference, finite
 * differences for every backward, bad input — is being written.)
 */
final class NnContract {

    private NnContract() {
    }

    static List<Check> checks() {
        List<Check> all = new java.util.ArrayList<>();
        all.add(new Check("cross-entropy of equal logits is log V, and its gradient is p − onehot", true,
                NnContract::uniformCrossEntropy));
        all.addAll(NnGradientChecks.checks());
        return List.copyOf(all);
    }

    /** Closed form: equal logits give p = 1/V, loss log V, dlogits = g·(1/V − [j = t]). */
    static void uniformCrossEntropy(Device ref, Device dev) {
        int n = 3;
        int v = 7;
        try (Tensor logits = dev.upload(new float[n * v], n, v);
             Tensor targets = dev.upload(new int[] {0, 6, -1}, n);
             Tensor losses = dev.allocate(n);
             Tensor dlogits = dev.allocate(n, v)) {
            assertEquals(DType.INT32, targets.dtype());
            NnOps nn = dev.nn();
            nn.crossEntropyForward(logits, targets, losses, 0f, -1);
            float[] l = dev.read(losses);
            assertEquals(Math.log(v), l[0], 1e-6);
            assertEquals(Math.log(v), l[1], 1e-6);
            assertEquals(0f, l[2], "an ignored row has no loss");
            nn.crossEntropyBackward(logits, targets, dlogits, 0f, -1, 0.5f);
            float[] d = dev.read(dlogits);
            assertEquals(0.5 * (1.0 / v - 1), d[0], 1e-6);
            assertEquals(0.5 / v, d[1], 1e-6);
            assertEquals(0.5 * (1.0 / v - 1), d[v + 6], 1e-6);
            assertEquals(0f, d[2 * v + 3], "an ignored row has no gradient");
        }
    }
}
