package dev.nola.serve;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.cli.run.AdapterDirs;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.Generator;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.lm.Tokenizers;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.text.Tokenizer;
import dev.nola.models.transformer.Adapters;
import dev.nola.models.transformer.DeviceWeights;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A tiny GPT-2 directory (GPT-2's tokenizer, C = 16, 2 layers) with random weights, and NOLA adapter
 * directories whose random coefficients are large enough that each adapter continues a prompt
 * differently — so a response shows which adapter made it.
 */
final class TinyModel {

    static final Gpt2Config CONFIG = new Gpt2Config(16, 2, 2, 96, 50257, 1e-5f, "gelu_new");

    private TinyModel() {
    }

    /** Writes the model directory. */
    static Path model(Path dir) {
        Map<String, float[]> t = new LinkedHashMap<>();
        SplittableRandom r = new SplittableRandom(7);
        for (WeightSpec w : CONFIG.spec().model().weights().list()) {
            float[] v = new float[w.elements()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (r.nextGaussian() * 0.5);
            }
            t.put(w.name(), v);
        }
        HfCheckpoint.of(CONFIG, t).write(dir);
        return dir;
    }

    /** Writes a NOLA adapter on every site with coefficients drawn from {@code seed}. */
    static Path adapter(Path dir, long seed) {
        return adapter(dir, seed, false);
    }

    /**
     * As {@link #adapter(Path, long)}; with {@code lora} the same adapter's mixed factors are written
     * as a PEFT LoRA directory instead (the same update, so the same text).
     */
    static Path adapter(Path dir, long seed, boolean lora) {
        List<String> modules = CONFIG.spec().model().sites().values().stream().map(AdapterSite::module).distinct().toList();
        NolaConfig cfg = NolaConfig.offset(2, 8, 8, 16f, 3L, modules);
        try (Device d = Backends.open("cpu")) {
            Map<String, NolaAdapter> m = Adapters.nola(d, cfg, CONFIG.spec().model());
            SplittableRandom r = new SplittableRandom(seed);
            for (NolaAdapter a : m.values()) {
                float[] alpha = new float[cfg.basisA()];
                float[] beta = new float[cfg.basisB()];
                for (int i = 0; i < alpha.length; i++) {
                    alpha[i] = (float) (r.nextGaussian() * 4);
                }
                for (int i = 0; i < beta.length; i++) {
                    beta[i] = (float) (r.nextGaussian() * 4);
                }
                a.setCoefficients(alpha, beta);
            }
            if (lora) {
                dev.nola.adapter.io.PeftLoraExport.write(dir, m, modules, null);
            } else {
                NolaAdapterFiles.save(dir, m);
            }
            m.values().forEach(NolaAdapter::close);
        }
        return dir;
    }

    /** A server on a free loopback port for the model directory under "tiny" on a cpu device; closes both. */
    record Served(Device device, NolaServer server) implements AutoCloseable {
        static Served start(Path model, Path adapters, NolaServer.Settings settings) {
            Device d = Backends.open("cpu");
            HfCheckpoint ckpt = HfCheckpoint.load(model);
            return new Served(d, NolaServer.start(d, "tiny", ckpt, Tokenizers.forModel(model, ckpt.config()), adapters, settings));
        }

        int port() {
            return server.port();
        }

        @Override
        public void close() {
            server.close();
            device.close();
        }
    }

    /** What {@code nola generate} gives (greedy) for a prompt with an adapter directory (or none). */
    static String generate(Path model, Path adapter, String prompt, int n) {
        HfCheckpoint ckpt = HfCheckpoint.load(model);
        Tokenizer tok = Tokenizers.forModel(model, ckpt.config());
        try (Device d = Backends.open("cpu"); DeviceWeights w = DeviceWeights.upload(d, ckpt.table(), ckpt.tensors())) {
            Map<String, Adapter> ad = adapter == null ? Map.of() : AdapterDirs.load(adapter, d);
            try (CausalLm m = new CausalLm(d, CONFIG.spec(), w, false, ad)) {
                int[] ids = Generator.generate(m, tok.encode(prompt), new Generator.Settings(n, 0, 0, 1, 0, tok.endOfText()), true,
                        tok.vocabularySize());
                if (ids.length > 0 && ids[ids.length - 1] == tok.endOfText()) {
                    ids = java.util.Arrays.copyOf(ids, ids.length - 1);
                }
                return tok.decode(ids);
            } finally {
                ad.values().forEach(Adapter::close);
            }
        }
    }
}
