package dev.nola.models.lm;

import dev.nola.models.DeviceComparison;
import dev.nola.models.DeviceComparison.Worst;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.io.DType;
import dev.nola.adapter.optim.Parameter;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.DeviceWeights;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LLaMA family against an independent PyTorch implementation: {@code llama_fixture.safetensors}
 * (written by {@code models/src/test/python/llama_fixture.py}) holds, for a Llama case (GQA, head_dim ≠
 * hidden/heads, Llama 3 rope scaling, untied head) and a Qwen2 case (q/k/v biases, one KV head, tied
 * head, BF16), a Llama 3 style case (GQA, llama3 scaling, BF16 in two shards with an index) and a
 * Llama 2 style case (MHA, F16), the parameters under Hugging Face names (already rounded to the stored
 * dtype), a batch, and PyTorch's logits, loss and gradients computed in float64 from those values. The
 * test writes each case as a real checkpoint directory in its dtype and layout (config.json and
 * model.safetensors, or model-0000i-of-00002.safetensors and model.safetensors.index.json), checks the
 * files say so, loads it through {@link HfCheckpoint}, and runs {@link CausalLm} on every device: logits,
 * loss and dL/d(embedding) with the base frozen, and every weight gradient with it trained.
 *
 * <p>Tolerance: 1e-4 of each tensor's max|value|, as for GPT-2 (the fixture is the float64 answer
 * rounded once; what is left is float32 arithmetic over two layers, and the rotary table, whose float32
 * inverse frequencies may differ from PyTorch's pow by one ulp).
 */
class LlamaTorchFixtureTest {

    static final double TOL = 1e-4;
    /** The fixture's format_version this test reads. */
    static final String VERSION = "2";

    @TempDir
    static Path tmp;

    record Fixture(Map<String, float[]> floats, Map<String, int[]> ints, Map<String, String> meta) {

        static Fixture load() {
            byte[] all;
            try (InputStream in = LlamaTorchFixtureTest.class.getResourceAsStream("/fixtures/llama_fixture.safetensors")) {
                if (in == null) {
                    throw new AssertionError("llama_fixture.safetensors is not on the test class path (models/src/test/resources/fixtures)");
                }
                all = in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Map<String, float[]> floats = new TreeMap<>();
            Map<String, int[]> ints = new TreeMap<>();
            try (SafeTensorsReader r = SafeTensorsReader.fromBytes(all, "llama_fixture.safetensors")) {
                Map<String, String> meta = Map.copyOf(r.metadata());
                if (!"nola-llama-fixture".equals(meta.get("format")) || !VERSION.equals(meta.get("format_version"))) {
                    throw new AssertionError("fixture has format " + meta.get("format") + " version " + meta.get("format_version")
                            + "; this test reads nola-llama-fixture version " + VERSION + "; regenerate it with " + meta.get("regenerate"));
                }
                r.tensors().forEach((name, info) -> {
                    switch (info.dtype()) {
                        case F32 -> floats.put(name, r.readFloats(name));
                        case I32 -> {
                            int[] v = new int[(int) info.elements()];
                            ByteBuffer.wrap(r.readBytes(name)).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(v);
                            ints.put(name, v);
                        }
                        default -> throw new AssertionError(name + ": unexpected dtype " + info.dtype());
                    }
                });
                return new Fixture(floats, ints, meta);
            }
        }

        float[] f(String key) {
            float[] a = floats.get(key);
            if (a == null) {
                throw new AssertionError("the fixture has no float32 tensor " + key);
            }
            return a;
        }
    }

    /**
     * Writes a case as a checkpoint directory the way its release is stored: config.json from the
     * fixture, the parameters in the case's dtype (F32, BF16 or F16), in one model.safetensors or in the
     * case's number of shards with model.safetensors.index.json.
     */
    static Path writeCheckpoint(Fixture f, String c) throws IOException {
        Path dir = tmp.resolve(c);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(HfCheckpoint.CONFIG_FILE), f.meta().get(c + ".config"), StandardCharsets.UTF_8);
        HfConfig config = Architectures.read(dir.resolve(HfCheckpoint.CONFIG_FILE));
        Map<String, float[]> params = new TreeMap<>();
        String prefix = c + ".param.";
        for (String name : config.spec().model().weights().shapes().keySet()) {
            params.put(name, f.f(prefix + name));
        }
        HfCheckpoint.of(config, params).as(DType.valueOf(f.meta().get(c + ".dtype")))
                .write(dir, Integer.parseInt(f.meta().get(c + ".shards")));
        return dir;
    }

    /** The files hold every tensor in the case's dtype; a sharded case has its shards and a real index. */
    static void checkStorage(Fixture f, String c, Path dir, HfCheckpoint ckpt) throws IOException {
        DType dtype = DType.valueOf(f.meta().get(c + ".dtype"));
        int shards = Integer.parseInt(f.meta().get(c + ".shards"));
        List<Path> files = HfCheckpoint.shards(dir);
        assertEquals(shards, files.size(), c + ": weight files " + files);
        if (shards > 1) {
            assertFalse(Files.exists(dir.resolve(HfCheckpoint.WEIGHTS_FILE)), c + ": sharded, no model.safetensors");
            var index = dev.nola.io.UntrustedJson.MAPPER.readTree(dir.resolve(HfCheckpoint.INDEX_FILE).toFile());
            long total = 0;
            int tensors = 0;
            for (Path p : files) {
                assertTrue(p.getFileName().toString().matches("model-0000[1-9]-of-0000" + shards + "\\.safetensors"), p.toString());
                try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
                    for (var info : r.tensors().values()) {
                        assertEquals(p.getFileName().toString(), index.get("weight_map").get(info.name()).asText(), info.name());
                        total += info.elements() * info.dtype().bytes();
                        tensors++;
                    }
                }
            }
            assertEquals(total, index.get("metadata").get("total_size").asLong(), c + ": total_size is the data bytes");
            assertEquals(tensors, index.get("weight_map").size(), c + ": every tensor in the weight map once");
        }
        for (Path p : files) {
            try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
                r.tensors().values().forEach(info -> assertEquals(dtype, info.dtype(), c + " " + info.name()));
            }
        }
        for (String name : ckpt.table().shapes().keySet()) {
            assertEquals(dtype, ckpt.dtype(name), c + " " + name);
            float[] want = f.f(c + ".param." + name);
            float[] got = ckpt.tensor(name);
            for (int i = 0; i < want.length; i++) {
                assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), c + " " + name + "[" + i + "] read back exactly");
            }
        }
    }

    @TestFactory
    Stream<DynamicNode> llamaFamilyMatchesPyTorch() throws IOException {
        Fixture f = Fixture.load();
        int b = Integer.parseInt(f.meta().get("B"));
        int t = Integer.parseInt(f.meta().get("T"));
        List<DynamicNode> nodes = new ArrayList<>();
        for (String c : f.meta().get("cases").split(",")) {
            Path dir = writeCheckpoint(f, c);
            HfCheckpoint ckpt = HfCheckpoint.load(dir);
            checkStorage(f, c, dir, ckpt);
            CausalLmSpec spec = ckpt.config().spec();
            if (c.equals("qwen2")) {
                assertNull(spec.head(), "Qwen2 case: the head is tied to the embedding");
            }
            int[] ids = f.ints().get(c + ".ids");
            int[] targets = f.ints().get(c + ".targets");
            nodes.addAll(DeviceComparison.onEveryDevice(c, d -> {
                Worst worst = new Worst(d, "llama-fixture " + c);
                try (DeviceWeights w = DeviceWeights.upload(d, ckpt.table(), ckpt.tensors())) {
                    try (CausalLm m = new CausalLm(d, spec, w, false, Map.of())) {
                        m.forward(ids, b, t);
                        worst.check("logits", f.f(c + ".logits"), d.read(m.logits()));
                        double loss = m.forward(ids, targets, b, t);
                        worst.check("loss", f.f(c + ".loss"), new float[] {(float) loss});
                        m.backward();
                        worst.check("dL/d(embedding)", f.f(c + ".grad.embed"), d.read(m.inputGradient()));
                    }
                    try (CausalLm m = new CausalLm(d, spec, w, true, Map.of())) {
                        m.headBlockRows(3); // head and loss in blocks that do not divide B·T
                        m.zeroGradients();
                        m.forward(ids, targets, b, t);
                        m.backward();
                        int checked = 0;
                        for (Parameter p : m.trainable().list()) {
                            worst.check("grad " + p.name(), f.f(c + ".grad." + p.name()), d.read(p.grad()));
                            checked++;
                        }
                        assertEquals(ckpt.table().size(), checked, "every weight has a gradient");
                    }
                }
                worst.print();
            }).toList());
        }
        return nodes.stream();
    }

}
