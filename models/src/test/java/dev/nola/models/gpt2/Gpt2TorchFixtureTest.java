package dev.nola.models.gpt2;

import static dev.nola.models.DeviceComparison.onEveryDevice;

import dev.nola.models.DeviceComparison.Worst;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.optim.Parameter;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.Adapters;
import dev.nola.models.transformer.DeviceWeights;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real GPT-2 path against PyTorch: the weights of kernels' PyTorch fixture
 * ({@code gpt2_block_fixture.safetensors}, written by {@code kernels/src/test/python/gpt2_block_fixture.py})
 * are written as a Hugging Face checkpoint directory as users have one (a hub-style {@code config.json}
 * with the fields nola ignores, a {@code model.safetensors} with some keys under {@code transformer.},
 * the {@code attn.bias} / {@code attn.masked_bias} buffers and a tied {@code lm_head.weight}), loaded
 * through {@link HfCheckpoint#load}, and run as a {@link CausalLm} on every device with the nn
 * family: logits, the label-smoothed loss (ε = 0.1, targets −100 mapped to {@link CausalLm#IGNORE}),
 * the input gradient with a frozen base and every weight gradient with a trained one, against
 * PyTorch's; NOLA coefficient gradients against PyTorch's c_attn gradient where ΔW = 0, and across
 * devices where it is not.
 *
 * <p>Tolerance: |got − want| ≤ {@link #TOL}·(|want| + max|want| of the tensor), as in kernels'
 * {@code TorchFixtureTest}: the fixture is the float64 answer rounded once to float32, so the error is
 * only this code's float32 arithmetic, measured there (same ops, same sizes) at about 1e-6 of each
 * tensor's scale; 1e-4 leaves two orders of magnitude for a backend and still catches a wrong term,
 * which moves a tensor by a good fraction of its scale.
 */
class Gpt2TorchFixtureTest {

    static final double TOL = 1e-4;

    @TempDir
    static Path tmp;

    static Fixture f;
    static Path checkpointDir;
    static HfCheckpoint ckpt;
    static CausalLmSpec spec;
    static int b;
    static int t;
    static int[] ids;
    static int[] targets;
    static float smoothing;

    /** The fixture's tensors and string metadata. */
    record Fixture(Map<String, float[]> floats, Map<String, int[]> ints, Map<String, int[]> shapes, Map<String, String> meta) {

        static Fixture load() {
            byte[] all;
            try (InputStream in = Gpt2TorchFixtureTest.class.getResourceAsStream("/fixtures/gpt2_block_fixture.safetensors")) {
                if (in == null) {
                    throw new AssertionError("fixture gpt2_block_fixture.safetensors is not on the test class path; models/pom.xml "
                            + "copies it from kernels/src/test/resources/fixtures");
                }
                all = in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Map<String, float[]> floats = new TreeMap<>();
            Map<String, int[]> ints = new TreeMap<>();
            Map<String, int[]> shapes = new TreeMap<>();
            try (SafeTensorsReader r = SafeTensorsReader.fromBytes(all, "gpt2_block_fixture.safetensors")) {
                Map<String, String> meta = Map.copyOf(r.metadata());
                if (!"nola-torch-fixture".equals(meta.get("format")) || !"1".equals(meta.get("format_version"))) {
                    throw new AssertionError("fixture has format " + meta.get("format") + " version " + meta.get("format_version")
                            + "; this test reads nola-torch-fixture version 1; regenerate it with " + meta.get("regenerate"));
                }
                r.tensors().forEach((name, info) -> {
                    shapes.put(name, info.shape());
                    switch (info.dtype()) {
                        case F32 -> floats.put(name, r.readFloats(name));
                        case I32 -> {
                            ByteBuffer bb = ByteBuffer.wrap(r.readBytes(name)).order(ByteOrder.LITTLE_ENDIAN);
                            int[] v = new int[(int) info.elements()];
                            bb.asIntBuffer().get(v);
                            ints.put(name, v);
                        }
                        default -> throw new AssertionError(name + ": unexpected dtype " + info.dtype());
                    }
                });
                return new Fixture(floats, ints, shapes, meta);
            }
        }

        float[] f(String key) {
            float[] a = floats.get(key);
            if (a == null) {
                throw new AssertionError("the fixture has no float32 tensor " + key);
            }
            return a;
        }

        int config(String key) {
            return Integer.parseInt(meta.get(key));
        }
    }

    @BeforeAll
    static void writeAndLoadTheCheckpoint() throws IOException {
        f = Fixture.load();
        b = f.config("B");
        t = f.config("T");
        int v = f.config("V");
        int c = f.config("C");
        int nh = f.config("NH");
        int layers = f.config("L");
        int p = f.config("P");
        smoothing = Float.parseFloat(f.meta().get("label_smoothing"));
        assertEquals(0.1f, smoothing, "the fixture's loss is label-smoothed");
        int ignore = f.config("ignore_index");
        assertEquals(-100, ignore, "PyTorch's default ignore_index");
        ids = f.ints().get("ids");
        int[] torchTargets = f.ints().get("targets");
        targets = new int[torchTargets.length];
        int ignored = 0;
        for (int i = 0; i < targets.length; i++) {
            targets[i] = torchTargets[i] == ignore ? CausalLm.IGNORE : torchTargets[i];
            ignored += torchTargets[i] == ignore ? 1 : 0;
        }
        assertEquals(b, ignored, "the first target of each row is ignored");

        checkpointDir = tmp.resolve("gpt2-fixture");
        Files.createDirectories(checkpointDir);
        // as the hub's gpt2 config.json: dropout, summary and generation fields nola ignores
        Files.writeString(checkpointDir.resolve(HfCheckpoint.CONFIG_FILE), """
                {
                  "activation_function": "gelu_new",
                  "architectures": ["GPT2LMHeadModel"],
                  "attn_pdrop": 0.1,
                  "bos_token_id": 50256,
                  "embd_pdrop": 0.1,
                  "eos_token_id": 50256,
                  "initializer_range": 0.02,
                  "layer_norm_epsilon": %s,
                  "model_type": "gpt2",
                  "n_ctx": %d,
                  "n_embd": %d,
                  "n_head": %d,
                  "n_inner": null,
                  "n_layer": %d,
                  "n_positions": %d,
                  "resid_pdrop": 0.1,
                  "summary_activation": null,
                  "summary_first_dropout": 0.1,
                  "summary_proj_to_labels": true,
                  "summary_type": "cls_index",
                  "summary_use_proj": true,
                  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
                  "vocab_size": %d
                }
                """.formatted(f.meta().get("eps"), p, c, nh, layers, p, v));
        // Keys as GPT2LMHeadModel saves them (transformer.…) for wte, layer 1 and ln_f, as GPT2Model saves
        // them (no prefix) for wpe and layer 0; every layer with its causal-mask buffers; the tied head.
        TinyGpt2.Raw raw = new TinyGpt2.Raw();
        for (String name : new Gpt2Config(c, nh, layers, p, v, 1e-5f, "gelu_new").spec().model().weights().shapes().keySet()) {
            boolean prefixed = name.startsWith("wte.") || name.startsWith("h.1.") || name.startsWith("ln_f.");
            String key = (prefixed ? TinyGpt2.PREFIX : "") + name;
            raw.add(key, "F32", f.shapes().get(name), f.f(name));
            if (name.endsWith("attn.c_attn.bias")) {
                String layer = key.substring(0, key.length() - "c_attn.bias".length());
                float[] mask = new float[p * p];
                for (int row = 0; row < p; row++) {
                    for (int col = 0; col <= row; col++) {
                        mask[row * p + col] = 1;
                    }
                }
                raw.add(layer + "bias", "F32", new int[] {1, 1, p, p}, mask);
                raw.add(layer + "masked_bias", "F32", new int[] {}, new float[] {-1e4f});
            }
        }
        raw.add("lm_head.weight", "F32", f.shapes().get("wte.weight"), f.f("wte.weight"));
        Files.write(checkpointDir.resolve(HfCheckpoint.WEIGHTS_FILE), raw.bytes());

        ckpt = HfCheckpoint.load(checkpointDir);
        spec = ckpt.config().spec();
    }

    @Test
    void theLoaderReadsThePyTorchWeightsUnchanged() {
        Gpt2Config cfg = (Gpt2Config) ckpt.config();
        assertEquals(new Gpt2Config(f.config("C"), f.config("NH"), f.config("L"), f.config("P"), f.config("V"), 1e-5f,
                "gelu_new"), cfg);
        assertEquals(cfg.spec().model().weights().shapes().keySet(), ckpt.tensors().keySet(), "mask buffers and lm_head are not weights");
        ckpt.tensors().forEach((name, values) -> assertArrayEquals(f.f(name), values, name));
    }

    @TestFactory
    Stream<DynamicNode> frozenBaseMatchesPyTorch() {
        return onEveryDevice("frozen GPT-2 from the checkpoint against PyTorch", d -> {
            DeviceWeights w = DeviceWeights.upload(d, spec.model().weights(), ckpt.tensors());
            try (CausalLm m = new CausalLm(d, spec, w, false, Map.of())) {
                m.labelSmoothing(smoothing);
                Worst worst = new Worst(d, "gpt2-fixture");
                m.forward(ids, b, t);
                worst.check("logits", f.f("logits"), d.read(m.logits()));
                double loss = m.forward(ids, targets, b, t);
                worst.check("loss", f.f("loss"), new float[] {(float) loss});
                m.backward();
                // dL/d(wte[ids] + wpe): the gradient that reaches the input with every weight frozen
                worst.check("grad.act.encoded", f.f("grad.act.encoded"), d.read(m.inputGradient()));
                worst.print();
            } finally {
                w.close();
            }
        });
    }

    @TestFactory
    Stream<DynamicNode> everyWeightGradientMatchesPyTorch() {
        return onEveryDevice("GPT-2 weight gradients from the checkpoint against PyTorch", d -> {
            DeviceWeights w = DeviceWeights.upload(d, spec.model().weights(), ckpt.tensors());
            try (CausalLm m = new CausalLm(d, spec, w, true, Map.of())) {
                m.labelSmoothing(smoothing);
                m.headBlockRows(3); // head and loss in blocks that do not divide B·T
                Worst worst = new Worst(d, "gpt2-fixture");
                m.zeroGradients();
                double loss = m.forward(ids, targets, b, t);
                worst.check("loss", f.f("loss"), new float[] {(float) loss});
                m.backward();
                worst.check("grad.act.encoded", f.f("grad.act.encoded"), d.read(m.inputGradient()));
                int checked = 0;
                for (Parameter p : m.trainable().list()) {
                    // parameters are named as the checkpoint's tensors, so each finds PyTorch's gradient by name
                    worst.check("grad." + p.name(), f.f("grad." + p.name()), d.read(p.grad()));
                    checked++;
                }
                assertEquals(ckpt.tensors().size(), checked, "every weight has a gradient");
                worst.print();
            } finally {
                w.close();
            }
        });
    }

    static final NolaConfig NOLA = NolaConfig.offset(2, 6, 5, 8f, 11L, List.of("q", "v"));

    /** α[i] = 0.3·sin(salt + i + 1), β likewise or zero: nonzero, different per adapter. */
    static void coefficients(Map<String, NolaAdapter> adapters, boolean betaToo) {
        int salt = 0;
        for (NolaAdapter a : adapters.values()) {
            float[] alpha = new float[NOLA.basisA()];
            float[] beta = new float[NOLA.basisB()];
            for (int i = 0; i < alpha.length; i++) {
                alpha[i] = (float) (0.3 * Math.sin(salt + i + 1));
            }
            for (int i = 0; betaToo && i < beta.length; i++) {
                beta[i] = (float) (0.3 * Math.cos(salt + i + 1));
            }
            a.setCoefficients(alpha, beta);
            salt += 17;
        }
    }

    /**
     * With α ≠ 0 and β = 0, B = 0 so ΔW = 0 and the model is PyTorch's; ∂L/∂α = 0 exactly, and
     * ∂L/∂β_j = ⟨B_j, ∂L/∂B⟩ with ∂L/∂B = s·G·Aᵀ, G [out, in] the transpose of q's (or v's) columns of
     * PyTorch's c_attn gradient. The prediction is formed in double from the fixture's G and the
     * device's own A and basis, so the comparison measures the adapter backward and the model's dq, dv.
     */
    @TestFactory
    Stream<DynamicNode> nolaCoefficientGradientsMatchPyTorchsWeightGradient() {
        return onEveryDevice("NOLA coefficient gradients at ΔW = 0 against PyTorch's c_attn gradient", d -> {
            DeviceWeights w = DeviceWeights.upload(d, spec.model().weights(), ckpt.tensors());
            Map<String, NolaAdapter> adapters = Adapters.nola(d, NOLA, spec.model());
            try (CausalLm m = new CausalLm(d, spec, w, false, adapters)) {
                m.labelSmoothing(smoothing);
                coefficients(adapters, false);
                Worst worst = new Worst(d, "gpt2-fixture");
                m.zeroGradients();
                double loss = m.forward(ids, targets, b, t);
                worst.check("loss (ΔW = 0)", f.f("loss"), new float[] {(float) loss});
                m.backward();
                int c = spec.model().width();
                for (Map.Entry<String, NolaAdapter> e : adapters.entrySet()) {
                    NolaAdapter a = e.getValue();
                    int layer = Integer.parseInt(e.getKey().split("\\.")[1]);
                    int column0 = e.getKey().endsWith(".q") ? 0 : 2 * c;
                    float[] g = f.f("grad.h." + layer + ".attn.c_attn.weight");
                    float[] grads = a.gradients();
                    int k = NOLA.basisA();
                    for (int i = 0; i < k; i++) {
                        assertEquals(0f, grads[i], e.getKey() + ": ∂L/∂α[" + i + "] with B = 0");
                    }
                    int r = a.rank();
                    float[] factorA = d.read(a.factorA());
                    double[] dB = new double[c * r];
                    for (int o = 0; o < c; o++) {
                        for (int j = 0; j < r; j++) {
                            double s = 0;
                            for (int i = 0; i < c; i++) {
                                s += (double) g[i * 3 * c + column0 + o] * factorA[j * c + i];
                            }
                            dB[o * r + j] = a.scale() * s;
                        }
                    }
                    float[] alpha = a.alpha();
                    float[] want = new float[NOLA.basisB()];
                    for (int j = 0; j < want.length; j++) {
                        float[] unit = new float[want.length];
                        unit[j] = 1;
                        a.setCoefficients(alpha, unit); // B = B_j: the basis matrix itself
                        float[] basis = d.read(a.factorB());
                        double s = 0;
                        for (int x = 0; x < basis.length; x++) {
                            s += basis[x] * dB[x];
                        }
                        want[j] = (float) s;
                    }
                    a.setCoefficients(alpha, new float[want.length]);
                    float[] got = java.util.Arrays.copyOfRange(grads, k, grads.length);
                    worst.check(e.getKey() + " ∂L/∂β", want, got);
                }
                worst.print();
            } finally {
                adapters.values().forEach(NolaAdapter::close);
                w.close();
            }
        });
    }

    /** Logits, loss and every coefficient gradient of the model with NOLA on q and v (α, β ≠ 0) on one device. */
    record AdaptedRun(float[] logits, float loss, Map<String, float[]> gradients) {

        static AdaptedRun on(Device d) {
            DeviceWeights w = DeviceWeights.upload(d, spec.model().weights(), ckpt.tensors());
            Map<String, NolaAdapter> adapters = Adapters.nola(d, NOLA, spec.model());
            try (CausalLm m = new CausalLm(d, spec, w, false, adapters)) {
                m.labelSmoothing(smoothing);
                coefficients(adapters, true);
                m.zeroGradients();
                m.forward(ids, b, t);
                float[] logits = d.read(m.logits());
                float loss = (float) m.forward(ids, targets, b, t);
                m.backward();
                Map<String, float[]> g = new LinkedHashMap<>();
                adapters.forEach((name, a) -> g.put(name, a.gradients()));
                return new AdaptedRun(logits, loss, g);
            } finally {
                adapters.values().forEach(NolaAdapter::close);
                w.close();
            }
        }
    }

    /**
     * With α, β ≠ 0 (ΔW ≠ 0, so PyTorch has no answer) cpu and opencl give the reference's logits, loss
     * and coefficient gradients. The same {@link #TOL}: the reference keeps float32 tensors and
     * accumulates in double, so both sides carry float32 rounding of ~1e-6 of a tensor's scale; the
     * coefficient gradients are sums over r·C = 24 basis terms of ∂L/∂A or ∂L/∂B, which adds nothing of
     * that order.
     */
    @TestFactory
    Stream<DynamicNode> nolaCoefficientGradientsAgreeAcrossDevices() {
        AdaptedRun want;
        try (Device ref = Backends.open("reference")) {
            want = AdaptedRun.on(ref);
        }
        boolean nonzero = false;
        for (float[] g : want.gradients().values()) {
            for (float x : g) {
                nonzero |= Math.abs(x) > 1e-4;
            }
        }
        assertTrue(nonzero, "the reference's coefficient gradients are large enough to compare");
        return onEveryDevice("NOLA on q, v (α, β ≠ 0): logits, loss, coefficient gradients against reference", d -> {
            AdaptedRun got = AdaptedRun.on(d);
            Worst worst = new Worst(d, "gpt2-fixture");
            worst.check("logits", want.logits(), got.logits());
            worst.check("loss", new float[] {want.loss()}, new float[] {got.loss()});
            want.gradients().forEach((name, g) -> worst.check(name + " coefficient gradients", g, got.gradients().get(name)));
            worst.print();
        });
    }

    /**
     * {@code activation_function: "gelu"} runs the exact (erf) GELU, {@code gelu_new} the tanh one. A
     * plain double-precision forward on the host (written below from GPT-2's definition) is first shown
     * to be PyTorch's with tanh (the fixture's logits); the same host forward with erf is then the answer
     * for the "gelu" model. The two GELUs differ by at most ≈ 2e-4 of their input, so the check asks the
     * device to be 20 times closer to the host's erf logits than the two answers are to each other.
     */
    @Test
    void activationGeluRunsTheErfForm() {
        int c = f.config("C");
        Gpt2Config tanh = (Gpt2Config) ckpt.config();
        Gpt2Config erf = new Gpt2Config(c, f.config("NH"), f.config("L"), f.config("P"), f.config("V"),
                tanh.layerNormEpsilon(), "gelu");
        float[] hostTanh = hostLogits(false);
        float[] hostErf = hostLogits(true);
        try (Device d = Backends.open("reference")) {
            new Worst(d, "gpt2-fixture").check("host forward (tanh) against PyTorch", f.f("logits"), hostTanh);
            float[] devTanh;
            float[] devErf;
            try (DeviceWeights w = DeviceWeights.upload(d, tanh.spec().model().weights(), ckpt.tensors());
                 CausalLm m = new CausalLm(d, tanh.spec(), w, false, Map.of())) {
                m.forward(ids, b, t);
                devTanh = d.read(m.logits());
            }
            try (DeviceWeights w = DeviceWeights.upload(d, erf.spec().model().weights(), ckpt.tensors());
                 CausalLm m = new CausalLm(d, erf.spec(), w, false, Map.of())) {
                m.forward(ids, b, t);
                devErf = d.read(m.logits());
            }
            double apart = maxDiff(hostErf, hostTanh);
            assertTrue(apart > 1e-5, "the two GELUs give different logits: " + apart);
            assertTrue(maxDiff(devErf, hostErf) < apart / 20, "gelu runs erf: " + maxDiff(devErf, hostErf) + " vs " + apart);
            assertTrue(maxDiff(devTanh, hostTanh) < apart / 20, "gelu_new runs tanh: " + maxDiff(devTanh, hostTanh));
            assertTrue(maxDiff(devErf, devTanh) > apart / 2, "the device's logits differ between the two");
        }
    }

    static double maxDiff(float[] x, float[] y) {
        assertEquals(x.length, y.length);
        double m = 0;
        for (int i = 0; i < x.length; i++) {
            m = Math.max(m, Math.abs((double) x[i] - y[i]));
        }
        return m;
    }

    /** GPT-2's logits of the fixture's ids from the checkpoint's weights, in double, no device involved. */
    static float[] hostLogits(boolean erf) {
        int v = f.config("V");
        int c = f.config("C");
        int nh = f.config("NH");
        int hs = c / nh;
        double eps = ((Gpt2Config) ckpt.config()).layerNormEpsilon();
        Map<String, float[]> w = ckpt.tensors();
        int n = b * t;
        double[][] x = new double[n][c];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < c; j++) {
                x[r][j] = w.get("wte.weight")[ids[r] * c + j] + (double) w.get("wpe.weight")[(r % t) * c + j];
            }
        }
        for (int l = 0; l < f.config("L"); l++) {
            String h = "h." + l + ".";
            double[][] qkv = conv1d(layerNorm(x, w.get(h + "ln_1.weight"), w.get(h + "ln_1.bias"), eps),
                    w.get(h + "attn.c_attn.weight"), w.get(h + "attn.c_attn.bias"));
            double[][] y = new double[n][c];
            for (int bb = 0; bb < b; bb++) {
                for (int head = 0; head < nh; head++) {
                    for (int t1 = 0; t1 < t; t1++) {
                        double[] p = new double[t1 + 1];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int t2 = 0; t2 <= t1; t2++) {
                            double dot = 0;
                            for (int k = 0; k < hs; k++) {
                                dot += qkv[bb * t + t1][head * hs + k] * qkv[bb * t + t2][c + head * hs + k];
                            }
                            p[t2] = dot / Math.sqrt(hs);
                            max = Math.max(max, p[t2]);
                        }
                        double sum = 0;
                        for (int t2 = 0; t2 <= t1; t2++) {
                            p[t2] = Math.exp(p[t2] - max);
                            sum += p[t2];
                        }
                        for (int t2 = 0; t2 <= t1; t2++) {
                            for (int k = 0; k < hs; k++) {
                                y[bb * t + t1][head * hs + k] += p[t2] / sum * qkv[bb * t + t2][2 * c + head * hs + k];
                            }
                        }
                    }
                }
            }
            add(x, conv1d(y, w.get(h + "attn.c_proj.weight"), w.get(h + "attn.c_proj.bias")));
            double[][] fc = conv1d(layerNorm(x, w.get(h + "ln_2.weight"), w.get(h + "ln_2.bias"), eps),
                    w.get(h + "mlp.c_fc.weight"), w.get(h + "mlp.c_fc.bias"));
            for (double[] row : fc) {
                for (int j = 0; j < row.length; j++) {
                    double z = row[j];
                    row[j] = erf ? 0.5 * z * (1 + erf(z / Math.sqrt(2)))
                            : 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
                }
            }
            add(x, conv1d(fc, w.get(h + "mlp.c_proj.weight"), w.get(h + "mlp.c_proj.bias")));
        }
        double[][] xf = layerNorm(x, w.get("ln_f.weight"), w.get("ln_f.bias"), eps);
        float[] logits = new float[n * v];
        for (int r = 0; r < n; r++) {
            for (int k = 0; k < v; k++) {
                double s = 0;
                for (int j = 0; j < c; j++) {
                    s += xf[r][j] * w.get("wte.weight")[k * c + j];
                }
                logits[r * v + k] = (float) s;
            }
        }
        return logits;
    }

    static double[][] layerNorm(double[][] x, float[] g, float[] beta, double eps) {
        double[][] out = new double[x.length][];
        for (int r = 0; r < x.length; r++) {
            double mean = 0;
            for (double z : x[r]) {
                mean += z;
            }
            mean /= x[r].length;
            double var = 0;
            for (double z : x[r]) {
                var += (z - mean) * (z - mean);
            }
            var /= x[r].length;
            out[r] = new double[x[r].length];
            for (int j = 0; j < x[r].length; j++) {
                out[r][j] = (x[r][j] - mean) / Math.sqrt(var + eps) * g[j] + beta[j];
            }
        }
        return out;
    }

    /** y = a·W + bias with W in the Conv1D layout [in, out], out = bias.length. */
    static double[][] conv1d(double[][] a, float[] weight, float[] bias) {
        int out = bias.length;
        double[][] y = new double[a.length][out];
        for (int r = 0; r < a.length; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int i = 0; i < a[r].length; i++) {
                    s += a[r][i] * weight[i * out + o];
                }
                y[r][o] = s;
            }
        }
        return y;
    }

    static void add(double[][] x, double[][] y) {
        for (int r = 0; r < x.length; r++) {
            for (int j = 0; j < x[r].length; j++) {
                x[r][j] += y[r][j];
            }
        }
    }

    /** erf(z) = 2/√π ∫₀^z e^(−s²) ds by Simpson's rule on 4000 intervals (error far below 1e-10 here). */
    static double erf(double z) {
        int m = 4000;
        double h = z / m;
        double s = 1 + Math.exp(-z * z);
        for (int i = 1; i < m; i++) {
            double u = i * h;
            s += (i % 2 == 1 ? 4 : 2) * Math.exp(-u * u);
        }
        return 2 / Math.sqrt(Math.PI) * s * h / 3;
    }

}
