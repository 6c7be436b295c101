package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.kernels.Availability;
import dev.nola.kernels.DType;
import dev.nola.models.DeviceComparison;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.transformer.WeightPrecision;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code --weights bf16} against PyTorch: the GPT-2 of kernels' {@code gpt2_block_fixture.safetensors}
 * with its weight matrices and tied embedding in bfloat16, as PyTorch computes it from
 * {@code .to(torch.bfloat16)} weights ({@code gpt2_bf16_fixture.safetensors}, written by
 * {@code models/src/test/python/gpt2_bf16_fixture.py}): logits and the label-smoothed loss on every
 * device that holds bfloat16. The fixture names the tensors it rounded; they must be the ones nola
 * holds in bfloat16. Tolerance as {@link Gpt2TorchFixtureTest}'s (1e-4 of the tensor's scale: the
 * fixture is float64 arithmetic on the rounded values, so only our float32 sums differ); bfloat16 moves
 * the logits by more than ten times that and the loss by more than three times its tolerance (checked
 * here), so a run that ignored bfloat16 fails.
 */
class HalfWeightsTorchTest {

    private static Map<String, float[]> bf16Fixture(Map<String, String> metaOut) throws IOException {
        byte[] all;
        try (InputStream in = HalfWeightsTorchTest.class.getResourceAsStream("/fixtures/gpt2_bf16_fixture.safetensors")) {
            if (in == null) {
                throw new AssertionError("fixtures/gpt2_bf16_fixture.safetensors is missing; regenerate it with "
                        + "/usr/bin/python3 models/src/test/python/gpt2_bf16_fixture.py");
            }
            all = in.readAllBytes();
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        try (SafeTensorsReader r = SafeTensorsReader.fromBytes(all, "gpt2_bf16_fixture.safetensors")) {
            metaOut.putAll(r.metadata());
            if (!"nola-torch-fixture".equals(metaOut.get("format")) || !"1".equals(metaOut.get("format_version"))) {
                throw new AssertionError("fixture has format " + metaOut.get("format") + " version "
                        + metaOut.get("format_version") + "; this test reads nola-torch-fixture version 1; regenerate it with "
                        + metaOut.get("regenerate"));
            }
            for (String name : r.tensors().keySet()) {
                out.put(name, r.readFloats(name));
            }
        }
        return out;
    }

    @TestFactory
    Stream<DynamicNode> bf16LogitsAndLossMatchPyTorchsBf16Forward() throws IOException {
        Gpt2TorchFixtureTest.Fixture f = Gpt2TorchFixtureTest.Fixture.load();
        Map<String, String> meta = new LinkedHashMap<>();
        Map<String, float[]> want = bf16Fixture(meta);
        int b = f.config("B");
        int t = f.config("T");
        CausalLmSpec spec = new Gpt2Config(f.config("C"), f.config("NH"), f.config("L"), f.config("P"), f.config("V"),
                Float.parseFloat(f.meta().get("eps")), "gelu_new").spec();
        Set<String> half = WeightPrecision.BF16.halfWeights(spec, false);
        assertEquals(new TreeSet<>(Arrays.asList(meta.get("bf16").split(","))), new TreeSet<>(half),
                "PyTorch rounded exactly the tensors nola holds in bfloat16");
        // the script's float32 forward is the block fixture's: it reads the same model
        assertEquals(f.f("loss")[0], want.get("loss_f32")[0], 1e-6, "the bf16 script's f32 loss vs the block fixture's");
        float lossBf16 = want.get("loss")[0];
        // bfloat16 must move the result by more than the tolerance, or this test could not tell bf16 from f32
        assertTrue(Math.abs(lossBf16 - want.get("loss_f32")[0]) > 3 * DeviceComparison.TOL * 2 * lossBf16,
                "the loss moves " + Math.abs(lossBf16 - want.get("loss_f32")[0]));
        float[] lb = want.get("logits");
        float[] lf = want.get("logits_f32");
        double scale = 0;
        double moved = 0;
        for (int i = 0; i < lb.length; i++) {
            scale = Math.max(scale, Math.abs(lb[i]));
        }
        for (int i = 0; i < lb.length; i++) {
            moved = Math.max(moved, Math.abs(lb[i] - lf[i]) / (Math.abs(lb[i]) + scale));
        }
        assertTrue(moved > 10 * DeviceComparison.TOL, "the logits move " + moved + " of their scale");
        Map<String, float[]> host = new LinkedHashMap<>();
        spec.model().weights().list().forEach(w -> host.put(w.name(), f.f(w.name())));
        int[] ids = f.ints().get("ids");
        int[] targets = f.ints().get("targets").clone();
        for (int i = 0; i < targets.length; i++) {
            targets[i] = targets[i] == f.config("ignore_index") ? CausalLm.IGNORE : targets[i];
        }
        return DeviceComparison.onEveryDevice("bf16 GPT-2 vs PyTorch", d -> {
            Availability a = d.holds(DType.BF16);
            Assumptions.assumeTrue(a.available(), () -> d.id() + ": " + a.reason());
            DeviceComparison.Worst worst = new DeviceComparison.Worst(d, "gpt2-bf16-fixture");
            try (DeviceWeights w = DeviceWeights.upload(d, spec.model().weights(), host, half);
                 CausalLm m = new CausalLm(d, spec, w, false, Map.of())) {
                m.labelSmoothing(Float.parseFloat(f.meta().get("label_smoothing")));
                m.forward(ids, b, t); // the logits (a loss forward keeps none: the head runs fused with the loss)
                worst.check("logits", want.get("logits"), d.read(m.logits()));
                double loss = m.forward(ids, targets, b, t);
                worst.check("loss", new float[] {lossBf16}, new float[] {(float) loss});
            }
            worst.print();
        });
    }
}
