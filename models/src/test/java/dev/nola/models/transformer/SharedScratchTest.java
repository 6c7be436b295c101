package dev.nola.models.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.lm.CausalLm;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The stack's backward temporaries are one {@link TransformerBlock.Scratch} for all blocks, not one per
 * block (as before the stack): two more layers cost their forward activations and residual buffers and
 * no more; and with the MLP's projections frozen and without adapters, its input (ln2) and act(…) are not
 * kept per block but borrowed from that scratch, since the backward pass reads neither. Measured as the reference device's peak of held bytes over one forward and backward of a
 * fine-tuning step (frozen base, no adapters), so it counts every allocation the model makes, and is
 * deterministic (bytes of element counts, not a process's memory).
 */
class SharedScratchTest {

    static final int B = 2;
    static final int T = 8;
    static final int C = 16;
    static final int HEADS = 2;
    static final int V = 11;

    /** The bytes a forward then backward of L layers holds at its peak, above the weights. */
    static long stepBytes(int layers) {
        Gpt2Config cfg = new Gpt2Config(C, HEADS, layers, T, V, 1e-5f, "gelu_new");
        int[] ids = new int[B * T];
        int[] targets = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7) % V;
            targets[i] = (i * 3 + 1) % V;
        }
        try (Device d = Backends.open("reference")) {
            AbstractDevice a = (AbstractDevice) d;
            try (DeviceWeights w = CausalLm.randomWeights(d, cfg.spec(), 1)) {
                // a first step makes every buffer, and whatever workspace the ops keep, once
                try (CausalLm m = new CausalLm(d, cfg.spec(), w, false, Map.of())) {
                    m.forward(ids, targets, B, T);
                    m.backward();
                }
                long before = a.memoryBytes();
                a.resetPeakMemory();
                try (CausalLm m = new CausalLm(d, cfg.spec(), w, false, Map.of())) {
                    m.forward(ids, targets, B, T);
                    m.backward();
                }
                assertEquals(before, a.memoryBytes(), "closing the model frees all it held");
                return a.peakMemoryBytes() - before;
            }
        }
    }

    @Test
    void twoMoreLayersAddTheirActivationsButNoScratch() {
        long n = (long) B * T;
        // what a block keeps for backward: ln1, mean1, rstd1, qkv, att, atty, h, mean2, rstd2, fc, where
        // att is the fused attention's row log-sum-exp [B, NH, T] (the reference has the fused op)
        long forward = 4 * (n * C + n + n + 3 * n * C + (long) B * HEADS * T + n * C + n * C + n + n + 4 * n * C);
        // what it borrows from the scratch when the MLP is frozen: ln2 and fcAct
        long borrowed = 4 * (n * C + 4 * n * C);
        long residual = 4 * n * C;
        // one block's backward temporaries: dln, dqkv, dh, datty, dfc, dfcAct (the fused attention needs no datt)
        long scratch = 4 * (n * C + 3 * n * C + n * C + n * C + 4 * n * C + 4 * n * C);
        long two = stepBytes(2);
        long four = stepBytes(4);
        long added = four - two;
        String report = "2 layers " + two + " B, 4 layers " + four + " B; per layer: forward " + forward + ", residual "
                + residual + ", scratch " + scratch + ", borrowed " + borrowed;
        assertTrue(added >= 2 * (forward + residual), "the activations are kept: " + report);
        // per-block scratch would add 2·scratch more
        assertTrue(added < 2 * (forward + residual) + scratch, "the scratch is shared: " + report);
        assertTrue(added < 2 * (forward + residual + borrowed), "ln2 and act(…) are borrowed, not kept: " + report);
        assertTrue(two >= 2 * (forward + residual) + scratch, "one scratch is held during backward: " + report);
    }
}
