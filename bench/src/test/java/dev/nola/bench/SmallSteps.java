package dev.nola.bench;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.optim.AdamW;
import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Backends;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.DeviceWeights;
import java.util.Map;

/** The tests' profiled training step of a small architecture ({@link StepBench#small}) on cpu. */
final class SmallSteps {

    private SmallSteps() {
    }

    /**
     * The breakdown JSON of {@link StepBench#profiled} over two steps (zero_grad, forward + loss,
     * backward, AdamW) of {@code arch}'s small model with {@code variant}'s adapters on its targets, on
     * {@code b} sequences of {@code t} tokens.
     */
    static String profiled(String arch, String variant, int[] ids, int[] targets, int b, int t) throws Exception {
        CausalLmSpec spec = StepBench.small(arch);
        try (AbstractDevice d = (AbstractDevice) Backends.open("cpu")) {
            DeviceWeights w = CausalLm.randomWeights(d, spec, 5);
            Map<String, ? extends Adapter> adapters = StepBench.adapters(d, variant, spec, StepBench.targets(arch));
            try (CausalLm m = new CausalLm(d, spec, w, false, adapters); AdamW opt = AdamW.nolaDefaults(m.trainable())) {
                return StepBench.profiled(d, () -> {
                    m.zeroGradients();
                    m.forwardLoss(ids, targets, b, t);
                    m.backward();
                    opt.step(1e-3);
                }, 2);
            } finally {
                adapters.values().forEach(Adapter::close);
                w.close();
            }
        }
    }
}
