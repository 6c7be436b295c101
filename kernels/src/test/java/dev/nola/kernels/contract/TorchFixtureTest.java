package dev.nola.kernels.contract;

import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nola.kernels.Availability;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.NnOps.Gelu;
import dev.nola.kernels.NnOps.Pool;
import dev.nola.kernels.OpFamily;
import dev.nola.kernels.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/**
 * A 2-layer GPT-2 stack and a 2-layer ViT stack built from the nn and linalg ops, forward and
 * backward, against PyTorch (the fixtures of {@code kernels/src/test/python/gpt2_block_fixture.py}),
 * as llm.c's test_gpt2.c checks its C: logits, loss, every activation kept and every gradient, on
 * every device that has the nn family.
 *
 * <p>Tolerance: |got − want| ≤ {@link #TOL}·(|want| + max|want| of the tensor). The fixture is the
 * float64 answer rounded once to float32, so the error is only the float32 arithmetic of ~40 ops
 * in a chain (each within a few ulp of its terms, C = 12 and 4C = 48 terms per sum, activations of
 * order one): about 1e-6 of each tensor's scale. llm.c allowed 1e-2 for logits and 2e-2 per
 * gradient element because its PyTorch side ran in float32 (and TF32) too; with a float64 truth
 * 1e-4 leaves two orders of magnitude for a backend's float32 kernels and still catches a wrong
 * term, which moves a tensor by a good fraction of its scale.
 */
class TorchFixtureTest {

    static final double TOL = 1e-4;

    /** A fixture file: tensors by name (float32 or int32, flattened), their shapes, and the metadata. */
    record Fixture(String name, Map<String, float[]> floats, Map<String, int[]> ints, Map<String, int[]> shapes,
                   Map<String, String> meta) {

        static final String FORMAT = "nola-torch-fixture";
        static final String VERSION = "1";
        private static final Pattern ENTRY = Pattern.compile(
                "\"([^\"]+)\":\\{\"dtype\":\"(F32|I32)\",\"shape\":\\[([0-9,]*)],\"data_offsets\":\\[(\\d+),(\\d+)]}");
        private static final Pattern META = Pattern.compile("\"([^\"]+)\":\"((?:[^\"\\\\]|\\\\.)*)\"");

        /**
         * Reads a safetensors file as the script writes it (entries {dtype, shape, data_offsets} in that
         * order, string metadata), refusing another format version with the command that regenerates it.
         */
        static Fixture load(String name) {
            byte[] all;
            try (InputStream in = TorchFixtureTest.class.getResourceAsStream("/fixtures/" + name + ".safetensors")) {
                if (in == null) {
                    throw new AssertionError("fixture " + name + " is missing; regenerate it with /usr/bin/python3 "
                            + "kernels/src/test/python/gpt2_block_fixture.py");
                }
                all = in.readAllBytes();
            } catch (IOException e) {
                throw new AssertionError("cannot read fixture " + name, e);
            }
            ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            int headerLength = (int) buf.getLong(0);
            String header = new String(all, 8, headerLength, StandardCharsets.UTF_8);
            Map<String, String> meta = new TreeMap<>();
            int metaStart = header.indexOf("\"__metadata__\":{");
            if (metaStart >= 0) {
                String block = header.substring(metaStart + 16, header.indexOf('}', metaStart));
                Matcher m = META.matcher(block);
                while (m.find()) {
                    meta.put(m.group(1), m.group(2));
                }
            }
            if (!FORMAT.equals(meta.get("format")) || !VERSION.equals(meta.get("format_version"))) {
                throw new AssertionError("fixture " + name + " has format " + meta.get("format") + " version "
                        + meta.get("format_version") + ", this test reads " + FORMAT + " version " + VERSION
                        + "; regenerate it with " + meta.getOrDefault("regenerate", "/usr/bin/python3 kernels/src/test/python/gpt2_block_fixture.py"));
            }
            Map<String, float[]> floats = new TreeMap<>();
            Map<String, int[]> ints = new TreeMap<>();
            Map<String, int[]> shapes = new TreeMap<>();
            Matcher e = ENTRY.matcher(header);
            while (e.find()) {
                int[] shape = e.group(3).isEmpty() ? new int[0]
                        : Stream.of(e.group(3).split(",")).mapToInt(Integer::parseInt).toArray();
                int from = 8 + headerLength + Integer.parseInt(e.group(4));
                int count = (Integer.parseInt(e.group(5)) - Integer.parseInt(e.group(4))) / 4;
                shapes.put(e.group(1), shape);
                if (e.group(2).equals("F32")) {
                    float[] a = new float[count];
                    buf.position(from).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a);
                    floats.put(e.group(1), a);
                } else {
                    int[] a = new int[count];
                    buf.position(from).slice().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(a);
                    ints.put(e.group(1), a);
                }
            }
            return new Fixture(name, floats, ints, shapes, meta);
        }

        float[] f(String key) {
            float[] a = floats.get(key);
            if (a == null) {
                throw new AssertionError(name + " has no float32 tensor " + key);
            }
            return a;
        }

        int config(String key) {
            return Integer.parseInt(meta.get(key));
        }

        float configFloat(String key) {
            return Float.parseFloat(meta.get(key));
        }

        /** The parameters: every float32 tensor with a gradient, apart from the input x. */
        List<String> parameters() {
            return floats.keySet().stream().filter(k -> floats.containsKey("grad." + k) && !k.startsWith("act.") && !k.equals("x"))
                    .toList();
        }
    }

    /** One test per device of every available backend; a device without the nn family is skipped with the reason. */
    static Stream<DynamicNode> onEveryDevice(String what, Consumer<Device> body) {
        List<DynamicNode> nodes = new ArrayList<>();
        for (Backend b : Backends.all()) {
            Availability a = b.availability();
            if (!a.available()) {
                nodes.add(dynamicTest(what + " on " + b.name() + " (skipped: " + a.reason() + ")", () -> Assumptions.abort(a.reason())));
                continue;
            }
            for (DeviceInfo d : b.devices()) {
                nodes.add(dynamicTest(what + " on " + d.id(), () -> {
                    try (Device dev = Backends.open(d.id())) {
                        Availability nn = dev.supports(OpFamily.NN);
                        Assumptions.assumeTrue(nn.available(), () -> d.id() + " lacks the nn family: " + nn.reason());
                        body.accept(dev);
                    }
                    System.out.println("[contract] " + d.id() + ": nn: " + what + ": passed");
                }));
            }
        }
        return nodes.stream();
    }

    @TestFactory
    Stream<DynamicNode> gpt2() {
        Fixture f = Fixture.load("gpt2_block_fixture");
        return onEveryDevice("GPT-2 stack against PyTorch", dev -> new Model(dev, f).gpt2());
    }

    @TestFactory
    Stream<DynamicNode> vit() {
        Fixture f = Fixture.load("vit_block_fixture");
        return onEveryDevice("ViT stack against PyTorch", dev -> new Model(dev, f).vit());
    }

    /** |got − want| ≤ TOL·(|want| + max|want|) for every element; returns the largest error over max|want|. */
    static double compare(String what, float[] want, float[] got) {
        if (want.length != got.length) {
            throw new AssertionError(what + ": " + got.length + " elements, PyTorch has " + want.length);
        }
        double scale = NnRuns.maxAbs(want);
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs((double) got[i] - want[i]);
            double tol = TOL * (Math.abs(want[i]) + scale);
            if (!(err <= tol)) {
                throw new AssertionError(what + ": element " + i + " is " + got[i] + ", PyTorch " + want[i] + " (error " + err
                        + " > tolerance " + tol + ")");
            }
            worst = Math.max(worst, err / Math.max(scale, 1e-30));
        }
        return worst;
    }

    /** The stacks on one device: parameters and their gradients as device tensors, named as in the fixture. */
    static final class Model {
        private final Device dev;
        private final NnOps nn;
        private final Fixture f;
        private final Map<String, Tensor> p = new TreeMap<>();
        private final Map<String, Tensor> g = new TreeMap<>();
        private final int b;
        private final int t;
        private final int c;
        private final int nh;
        private final int n;
        private final float eps;
        private double worst;

        Model(Device dev, Fixture f) {
            this.dev = dev;
            this.nn = dev.nn();
            this.f = f;
            b = f.config("B");
            t = f.config("T");
            c = f.config("C");
            nh = f.config("NH");
            n = b * t;
            eps = f.configFloat("eps");
            for (String k : f.parameters()) {
                p.put(k, dev.upload(f.f(k), f.shapes().get(k)));
                g.put(k, dev.allocate(f.shapes().get(k)));
            }
        }

        /** Every tensor here is freed when the device closes. */
        private Tensor zeros(int... shape) {
            return dev.allocate(shape);
        }

        private void check(String key, Tensor got) {
            worst = Math.max(worst, compare(f.name() + " " + key + " on " + dev.id(), f.f(key), dev.read(got)));
        }

        /** y [N, out] = x·W + b with W [in, out] (Conv1D) or x·Wᵀ + b with W [out, in] (nn.Linear). */
        private void linear(String w, boolean conv1d, Tensor x, Tensor y) {
            dev.linalg().matmul(false, !conv1d, 1f, x, p.get(w + ".weight"), 0f, y);
            nn.biasForward(y, p.get(w + ".bias"));
        }

        /** dW += xᵀ·dy (Conv1D) or dyᵀ·x (Linear), db += Σ dy, dx = dy·Wᵀ (Conv1D) or dy·W (Linear), written. */
        private void linearBackward(String w, boolean conv1d, Tensor x, Tensor dy, Tensor dx) {
            dev.linalg().matmul(true, false, 1f, conv1d ? x : dy, conv1d ? dy : x, 1f, g.get(w + ".weight"));
            nn.biasBackward(dy, g.get(w + ".bias"));
            dev.linalg().matmul(false, conv1d, 1f, dy, p.get(w + ".weight"), 0f, dx);
        }

        /**
         * y [N, C] = part j (q, k or v) of a fused [C, 3C] projection: x·W[:, jC .. jC + C − 1] + b[jC ..]
         * with W [C, 3C] (Conv1D: a column slice, read at ldb = 3C from an offset view of W), or
         * x·W[jC .. jC + C − 1, :]ᵀ + b[jC ..] with W [3C, C] (nn.Linear: a block of rows, itself a
         * contiguous [C, C] view).
         */
        private void linearPart(String w, boolean conv1d, int j, Tensor x, Tensor y) {
            int in = x.shape()[1];
            int out = y.shape()[1];
            Tensor weight = p.get(w + ".weight");
            if (conv1d) {
                int ld = weight.shape()[1];
                dev.linalg().matmulBatched(false, false, 1, n, out, in, 1f, x, in, 0, columns(weight, j, in, out), ld, 0, 0f,
                        y, out, 0);
            } else {
                dev.linalg().matmul(false, true, 1f, x, weight.view((long) j * out * in, out, in), 0f, y);
            }
            nn.biasForward(y, p.get(w + ".bias").view((long) j * out, out));
        }

        /**
         * Backward of {@link #linearPart}: dW's slice += xᵀ·dy (Conv1D, at ldc = 3C) or dyᵀ·x (Linear),
         * db's slice += Σ dy, and dx = dy·W_jᵀ (Conv1D) or dy·W_j (Linear), written for part 0 and
         * added for the others, so that dx sums the three paths.
         */
        private void linearPartBackward(String w, boolean conv1d, int j, Tensor x, Tensor dy, Tensor dx) {
            int in = x.shape()[1];
            int out = dy.shape()[1];
            Tensor weight = p.get(w + ".weight");
            Tensor dweight = g.get(w + ".weight");
            float beta = j == 0 ? 0f : 1f;
            if (conv1d) {
                int ld = weight.shape()[1];
                dev.linalg().matmulBatched(true, false, 1, in, out, n, 1f, x, in, 0, dy, out, 0, 1f, columns(dweight, j, in, out),
                        ld, 0);
                dev.linalg().matmulBatched(false, true, 1, n, in, out, 1f, dy, out, 0, columns(weight, j, in, out), ld, 0, beta,
                        dx, in, 0);
            } else {
                long at = (long) j * out * in;
                dev.linalg().matmul(true, false, 1f, dy, x, 1f, dweight.view(at, out, in));
                dev.linalg().matmul(false, false, 1f, dy, weight.view(at, out, in), beta, dx);
            }
            nn.biasBackward(dy, g.get(w + ".bias").view((long) j * out, out));
        }

        /** Columns jC .. jC + C − 1 of a [in, 3C] weight, as the flat view its matmuls read at ld = 3C. */
        private static Tensor columns(Tensor weight, int j, int in, int out) {
            int ld = weight.shape()[1];
            return weight.view((long) j * out, (in - 1) * ld + out);
        }

        /** Names of one block's parts: GPT-2's (Hugging Face) or the ViT's (timm). */
        private record Names(String ln1, String qkv, String proj, String ln2, String fc, String fcProj) {
            static Names of(boolean gpt2, int layer) {
                return gpt2 ? new Names("h." + layer + ".ln_1", "h." + layer + ".attn.c_attn", "h." + layer + ".attn.c_proj",
                        "h." + layer + ".ln_2", "h." + layer + ".mlp.c_fc", "h." + layer + ".mlp.c_proj")
                        : new Names("blocks." + layer + ".norm1", "blocks." + layer + ".attn.qkv", "blocks." + layer + ".attn.proj",
                        "blocks." + layer + ".norm2", "blocks." + layer + ".mlp.fc1", "blocks." + layer + ".mlp.fc2");
            }
        }

        /** One pre-LN block's activations: x → ln1 → qkv → attention → proj (+x) → x2 → ln2 → fc → gelu → fcProj (+x2) → out. */
        private final class Block {
            final Names names;
            final boolean gpt2;
            final Tensor x;
            /** q, k and v: the three [N, C] views of one planar [3, N, C] buffer, as a model allocates them. */
            final Tensor ln1 = zeros(n, c), mean1 = zeros(n), rstd1 = zeros(n), qkv = zeros(3, n, c), lse = zeros(b, nh, t);
            final Tensor y = zeros(n, c), proj = zeros(n, c), x2 = zeros(n, c), ln2 = zeros(n, c), mean2 = zeros(n), rstd2 = zeros(n);
            final Tensor fc = zeros(n, 4 * c), gelu = zeros(n, 4 * c), mlp = zeros(n, c), out = zeros(n, c);

            Block(Names names, boolean gpt2, Tensor x) {
                this.names = names;
                this.gpt2 = gpt2;
                this.x = x;
            }

            void forward() {
                nn.layerNormForward(x, p.get(names.ln1 + ".weight"), p.get(names.ln1 + ".bias"), eps, ln1, mean1, rstd1);
                for (int j = 0; j < 3; j++) {
                    linearPart(names.qkv, gpt2, j, ln1, part(qkv, j, n, c));
                }
                nn.fusedAttentionForward(part(qkv, 0, b, t, c), part(qkv, 1, b, t, c), part(qkv, 2, b, t, c), y.reshape(b, t, c),
                        lse, gpt2);
                linear(names.proj, gpt2, y, proj);
                nn.residualForward(x, proj, x2);
                nn.layerNormForward(x2, p.get(names.ln2 + ".weight"), p.get(names.ln2 + ".bias"), eps, ln2, mean2, rstd2);
                linear(names.fc, gpt2, ln2, fc);
                nn.geluForward(gpt2 ? Gelu.TANH : Gelu.ERF, fc, gelu);
                linear(names.fcProj, gpt2, gelu, mlp);
                nn.residualForward(x2, mlp, out);
            }

            /** dres holds dL/d(out) on entry and dL/dx on return: the residual paths add into it. */
            void backward(Tensor dres) {
                Tensor dgelu = zeros(n, 4 * c);
                Tensor dfc = zeros(n, 4 * c);
                Tensor dln = zeros(n, c);
                Tensor dy = zeros(n, c);
                Tensor dqkv = zeros(3, n, c);
                linearBackward(names.fcProj, gpt2, gelu, dres, dgelu);
                nn.geluBackward(gpt2 ? Gelu.TANH : Gelu.ERF, fc, dgelu, dfc);
                linearBackward(names.fc, gpt2, ln2, dfc, dln);
                nn.layerNormBackward(dln, x2, p.get(names.ln2 + ".weight"), mean2, rstd2, dres, g.get(names.ln2 + ".weight"),
                        g.get(names.ln2 + ".bias"));
                linearBackward(names.proj, gpt2, y, dres, dy);
                nn.fusedAttentionBackward(dy.reshape(b, t, c), part(qkv, 0, b, t, c), part(qkv, 1, b, t, c), part(qkv, 2, b, t, c),
                        y.reshape(b, t, c), lse, part(dqkv, 0, b, t, c), part(dqkv, 1, b, t, c), part(dqkv, 2, b, t, c), gpt2);
                for (int j = 0; j < 3; j++) {
                    linearPartBackward(names.qkv, gpt2, j, ln1, part(dqkv, j, n, c), dln);
                }
                nn.layerNormBackward(dln, x, p.get(names.ln1 + ".weight"), mean1, rstd1, dres, g.get(names.ln1 + ".weight"),
                        g.get(names.ln1 + ".bias"));
            }
        }

        /** Part j (q, k or v) of a planar [3, …] buffer, under the given shape. */
        private static Tensor part(Tensor planar, int j, int... shape) {
            long size = planar.size() / 3;
            return planar.view(j * size, shape);
        }

        /** The blocks over x, forward; returns them (the last one's out is the stack's output). */
        private List<Block> blocks(boolean gpt2, Tensor x) {
            List<Block> blocks = new ArrayList<>();
            for (int layer = 0; layer < f.config("L"); layer++) {
                Block blk = new Block(Names.of(gpt2, layer), gpt2, layer == 0 ? x : blocks.get(layer - 1).out);
                blk.forward();
                check("act." + (gpt2 ? "h." : "blocks.") + layer + ".lse", blk.lse);
                check("act." + (gpt2 ? "h." : "blocks.") + layer + ".out", blk.out);
                blocks.add(blk);
            }
            return blocks;
        }

        /** Σ losses / counted rows on the host, against PyTorch's mean loss (same tolerance, scale = the loss). */
        private float meanLoss(Tensor losses, int counted) {
            double sum = 0;
            for (float l : dev.read(losses)) {
                sum += l;
            }
            float loss = (float) (sum / counted);
            worst = Math.max(worst, compare(f.name() + " loss on " + dev.id(), f.f("loss"), new float[] {loss}));
            return loss;
        }

        private void checkGradients() {
            for (String k : g.keySet()) {
                check("grad." + k, g.get(k));
            }
        }

        void gpt2() {
            int v = f.config("V");
            float smoothing = f.configFloat("label_smoothing");
            int ignore = f.config("ignore_index");
            int[] targetValues = f.ints().get("targets");
            int counted = (int) java.util.Arrays.stream(targetValues).filter(x -> x != ignore).count();
            Tensor ids = dev.upload(f.ints().get("ids"), n);
            Tensor targets = dev.upload(targetValues, n);
            Tensor x0 = zeros(n, c);
            nn.encoderForward(ids, p.get("wte.weight"), p.get("wpe.weight"), x0, t);
            check("act.encoded", x0);
            List<Block> blocks = blocks(true, x0);
            Tensor last = blocks.get(blocks.size() - 1).out;
            Tensor lnf = zeros(n, c), mean = zeros(n), rstd = zeros(n), logits = zeros(n, v), losses = zeros(n);
            nn.layerNormForward(last, p.get("ln_f.weight"), p.get("ln_f.bias"), eps, lnf, mean, rstd);
            dev.linalg().matmul(false, true, 1f, lnf, p.get("wte.weight"), 0f, logits); // the head tied to wte
            check("logits", logits);
            nn.crossEntropyForward(logits, targets, losses, smoothing, ignore);
            meanLoss(losses, counted);
            Tensor dlogits = zeros(n, v), dlnf = zeros(n, c), dres = zeros(n, c);
            nn.crossEntropyBackward(logits, targets, dlogits, smoothing, ignore, 1f / counted);
            dev.linalg().matmul(true, false, 1f, dlogits, lnf, 1f, g.get("wte.weight"));
            dev.linalg().matmul(false, false, 1f, dlogits, p.get("wte.weight"), 0f, dlnf);
            nn.layerNormBackward(dlnf, last, p.get("ln_f.weight"), mean, rstd, dres, g.get("ln_f.weight"), g.get("ln_f.bias"));
            for (int i = blocks.size() - 1; i >= 0; i--) {
                blocks.get(i).backward(dres);
            }
            check("grad.act.encoded", dres);
            nn.encoderBackward(ids, dres, g.get("wte.weight"), g.get("wpe.weight"), t);
            checkGradients();
            System.out.printf("[fixture] %s: %s: largest error %.2e of a tensor's max|value| (tolerance %.0e)%n", dev.id(),
                    f.name(), worst, TOL);
        }

        void vit() {
            int k = f.config("K");
            float smoothing = f.configFloat("label_smoothing");
            Tensor x = dev.upload(f.f("x"), n, c);
            Tensor labels = dev.upload(f.ints().get("labels"), b);
            List<Block> blocks = blocks(false, x);
            Tensor last = blocks.get(blocks.size() - 1).out;
            Tensor lnf = zeros(n, c), mean = zeros(n), rstd = zeros(n), pooled = zeros(b, c), logits = zeros(b, k), losses = zeros(b);
            nn.layerNormForward(last, p.get("norm.weight"), p.get("norm.bias"), eps, lnf, mean, rstd);
            nn.poolForward(Pool.FIRST, lnf.reshape(b, t, c), pooled);
            linear("head", false, pooled, logits);
            check("logits", logits);
            nn.crossEntropyForward(logits, labels, losses, smoothing, -100);
            meanLoss(losses, b);
            Tensor dlogits = zeros(b, k), dpooled = zeros(b, c), dlnf = zeros(n, c), dres = zeros(n, c);
            nn.crossEntropyBackward(logits, labels, dlogits, smoothing, -100, 1f / b);
            linearBackward("head", false, pooled, dlogits, dpooled);
            nn.poolBackward(Pool.FIRST, dpooled, dlnf.reshape(b, t, c));
            nn.layerNormBackward(dlnf, last, p.get("norm.weight"), mean, rstd, dres, g.get("norm.weight"), g.get("norm.bias"));
            for (int i = blocks.size() - 1; i >= 0; i--) {
                blocks.get(i).backward(dres);
            }
            check("grad.x", dres);
            checkGradients();
            System.out.printf("[fixture] %s: %s: largest error %.2e of a tensor's max|value| (tolerance %.0e)%n", dev.id(),
                    f.name(), worst, TOL);
        }
    }
}
