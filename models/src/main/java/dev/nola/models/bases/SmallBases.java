package dev.nola.models.bases;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.io.AtomicFiles;
import dev.nola.io.Echo;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.gpt2.Gpt2Tokenizer;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.CausalLmTask;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.lm.Tokenizers;
import dev.nola.models.lm.HfConfig;
import dev.nola.models.lm.LlamaConfig;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.vit.VitConfig;
import dev.nola.models.image.ImageSet;
import dev.nola.models.text.TextDataset;
import dev.nola.models.text.Tokenizer;
import dev.nola.models.text.TokenWindows;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.Trainer;
import dev.nola.models.train.TrainerSettings;
import dev.nola.models.train.TrainingListener;
import dev.nola.models.vit.VitModel;
import dev.nola.models.vit.VitTask;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The project's own small pretrained bases, since no weights can be downloaded: a small GPT-2 and a
 * small LLaMA (RMSNorm, rotary GQA attention, SwiGLU, tied head), both with GPT-2's 50,257-token
 * byte-level BPE and pretrained on English text from Debian's {@code fortunes}, and a small ViT
 * pretrained on Fashion-MNIST classes 0–4. Each is built once, with the same code users
 * fine-tune with, and cached under {@code $NOLA_CACHE} (default {@code ~/.cache/nola}) in a directory
 * whose name carries the recipe's version, beside a {@code manifest.json} (recipe, data, final
 * held-out metrics, time). The cache entry is written atomically, so an interrupted build is rebuilt.
 * The language-model bases are Hugging Face checkpoint directories ({@code config.json} +
 * {@code model.safetensors}) whose manifest names their tokenizer ({@link #TOKENIZER_KEY}; see
 * {@link #tokenizer(Path)}).
 */
public final class SmallBases {

    /** The GPT-2 base's shape: V = 50,257, 64 positions, 2 layers, 4 heads, C = 128. */
    public static final Gpt2Config GPT2_CONFIG = new Gpt2Config(128, 4, 2, 64, 50257, 1e-5f, "gelu_new");
    /**
     * The LLaMA base's shape, about the GPT-2 base's: V = 50,257 (GPT-2's tokenizer), 64 positions, 2
     * layers, C = 128, 4 query heads sharing 2 key/value heads (GQA) of width 32, rotary θ = 10,000,
     * SwiGLU of width 344 (8/3·C rounded up to a multiple of 8), RMSNorm ε = 1e-5, head tied to the
     * embedding, no biases.
     */
    public static final LlamaConfig LLAMA_CONFIG = new LlamaConfig("llama", 128, 344, 2, 4, 2, 32, 64, 50257, 1e-5f,
            10000.0, null, true, false, false, 0);
    /** The ViT base's shape: 28×28 images in 7×7 patches (T = 17), 4 layers, 4 heads, C = 64, 5 classes. */
    public static final VitConfig VIT_CONFIG = new VitConfig(28, 7, 4, 4, 64, 5, 1e-6f);
    /** Pretraining steps of the GPT-2 base (16 × 64 tokens each). */
    public static final long GPT2_STEPS = 400;
    /** Pretraining steps of the LLaMA base (16 × 64 tokens each, the GPT-2 base's recipe). */
    public static final long LLAMA_STEPS = 400;
    /** Pretraining steps of the ViT base (64 images each). */
    public static final long VIT_STEPS = 1500;
    /** Bumped whenever a recipe changes, so an old cache entry is not reused. */
    public static final int RECIPE = 1;

    /** The manifest field naming a language-model base's tokenizer ({@link Tokenizers}). */
    public static final String TOKENIZER_KEY = Tokenizers.MANIFEST_KEY;
    /** The tokenizer name of GPT-2's byte-level BPE ({@code r50k_base}, {@link Gpt2Tokenizer}). */
    public static final String GPT2_TOKENIZER = Tokenizers.GPT2_BPE;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private SmallBases() {
    }

    /** {@code $NOLA_CACHE}, else {@code ~/.cache/nola}. */
    public static Path cacheDir() {
        String env = System.getenv("NOLA_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "nola");
    }

    /** What a cached base is. */
    public record Built(Path dir, JsonNode manifest, boolean fromCache) {
    }

    /**
     * The fortunes GPT-2: from the cache, or pretrained now (about 400 steps of 16 × 64 tokens).
     *
     * @param fortunes the fortunes directory ({@code /usr/share/games/fortunes})
     */
    public static Built gpt2Fortunes(Device d, Path cache, Path fortunes, TrainingListener listener) {
        return gpt2Fortunes(d, cache, fortunes, GPT2_STEPS, listener);
    }

    /**
     * The fortunes GPT-2 pretrained for {@code steps} steps instead of {@link #GPT2_STEPS} (a smaller,
     * weaker base for tests and slow devices), cached apart from the default one.
     */
    public static Built gpt2Fortunes(Device d, Path cache, Path fortunes, long steps, TrainingListener listener) {
        return fortunesBase(d, cache, fortunes, "gpt2-fortunes", GPT2_CONFIG, steps, GPT2_STEPS, listener);
    }

    /**
     * The fortunes LLaMA ({@link #LLAMA_CONFIG}): from the cache, or pretrained now with the GPT-2
     * base's recipe (400 steps of 16 × 64 tokens, the same data split, learning rate and schedule).
     *
     * @param fortunes the fortunes directory ({@code /usr/share/games/fortunes})
     */
    public static Built llamaFortunes(Device d, Path cache, Path fortunes, TrainingListener listener) {
        return llamaFortunes(d, cache, fortunes, LLAMA_STEPS, listener);
    }

    /**
     * The fortunes LLaMA pretrained for {@code steps} steps instead of {@link #LLAMA_STEPS} (a smaller,
     * weaker base for tests and slow devices), cached apart from the default one.
     */
    public static Built llamaFortunes(Device d, Path cache, Path fortunes, long steps, TrainingListener listener) {
        return fortunesBase(d, cache, fortunes, "llama-fortunes", LLAMA_CONFIG, steps, LLAMA_STEPS, listener);
    }

    /**
     * A causal LM of {@code config} pretrained on the fortunes with GPT-2's tokenizer (seed 1 for the
     * weights and the batches, 2% held out), written as a Hugging Face checkpoint directory with its
     * manifest; or the cached one.
     */
    private static Built fortunesBase(Device d, Path cache, Path fortunes, String kind, HfConfig config, long steps,
                                      long defaultSteps, TrainingListener listener) {
        Path dir = cache.resolve("bases").resolve(cacheName(kind, steps, defaultSteps));
        if (Files.isRegularFile(dir.resolve("manifest.json")) && Files.isRegularFile(dir.resolve(HfCheckpoint.WEIGHTS_FILE))) {
            return new Built(dir, manifest(dir), true);
        }
        Checks.notNull("fortunes", fortunes);
        if (!Files.isDirectory(fortunes)) {
            throw new IllegalArgumentException("fortunes directory " + fortunes + " is missing; install it with: "
                    + "apt-get install fortunes");
        }
        long start = System.nanoTime();
        CausalLmSpec spec = config.spec();
        TokenWindows all = TextDataset.fortunes(fortunes, Gpt2Tokenizer.get()).packedWindows(spec.positions());
        TokenWindows.Split split = all.split(0.02, 1);
        DeviceWeights w = CausalLm.randomWeights(d, spec, 1);
        try (CausalLm m = new CausalLm(d, spec, w, true, Map.of())) {
            CausalLmTask task = new CausalLmTask(m, split.train(), split.heldOut(), 16, 1);
            Trainer.Result r = Trainer.run(task, new TrainerSettings(steps, 3e-3, Math.min(20, steps / 20), true, 1.0, 0.0, 0, 0, 0.95), null,
                    false, listener);
            HfCheckpoint ckpt = HfCheckpoint.of(config, w.download(d));
            ObjectNode man = recipe(kind, r, start);
            man.put(TOKENIZER_KEY, GPT2_TOKENIZER);
            man.put("train_windows", split.train().size());
            man.put("held_out_windows", split.heldOut().size());
            man.put("data", fortunes.toString());
            Map<String, byte[]> files = new LinkedHashMap<>(ckpt.files(dir.toString()));
            try {
                files.put("manifest.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(man));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            AtomicFiles.writeDirectory(dir, files);
        } finally {
            w.close();
        }
        return new Built(dir, manifest(dir), false);
    }

    /**
     * The Fashion-MNIST ViT: from the cache, or pretrained now on classes 0–4 (30,000 images).
     *
     * @param fashion the directory of the IDX files ({@link ImageSet#DEBIAN_FASHION_MNIST})
     */
    public static Built vitFashion(Device d, Path cache, Path fashion, TrainingListener listener) {
        return vitFashion(d, cache, fashion, VIT_STEPS, listener);
    }

    /**
     * The Fashion-MNIST ViT pretrained for {@code steps} steps instead of {@link #VIT_STEPS}, cached
     * apart from the default one.
     */
    public static Built vitFashion(Device d, Path cache, Path fashion, long steps, TrainingListener listener) {
        Path dir = cache.resolve("bases").resolve(cacheName("vit-fashion", steps, VIT_STEPS));
        if (Files.isRegularFile(dir.resolve("manifest.json")) && Files.isRegularFile(dir.resolve("vit.safetensors"))) {
            return new Built(dir, manifest(dir), true);
        }
        if (!Files.isDirectory(fashion)) {
            throw new IllegalArgumentException("Fashion-MNIST directory " + fashion + " is missing; install it with: "
                    + "apt-get install dataset-fashion-mnist");
        }
        long start = System.nanoTime();
        ImageSet train = ImageSet.fashionMnist(fashion, true).filterClasses(0, 1, 2, 3, 4);
        ImageSet test = ImageSet.fashionMnist(fashion, false).filterClasses(0, 1, 2, 3, 4);
        ImageSet.Stats stats = train.stats();
        DeviceWeights w = VitModel.randomWeights(d, VIT_CONFIG, 1);
        try (VitModel m = new VitModel(d, VIT_CONFIG, w, true, Map.of())) {
            VitTask task = new VitTask(m, train.standardized(stats), test.standardized(stats), 64, 1, 0f);
            Trainer.Result r = Trainer.run(task, new TrainerSettings(steps, 2e-3, Math.min(50, steps / 20), true, 1.0, 0.0, 0, 0, 0.99), null,
                    false, listener);
            ObjectNode man = recipe("vit-fashion", r, start);
            man.put("classes", "0-4");
            man.put("pixel_mean", stats.mean());
            man.put("pixel_std", stats.std());
            Map<String, byte[]> files = new LinkedHashMap<>();
            files.put("vit.safetensors", VitWeightsFile.bytes(d, w));
            try {
                files.put("manifest.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(man));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            AtomicFiles.writeDirectory(dir, files);
        } finally {
            w.close();
        }
        return new Built(dir, manifest(dir), false);
    }

    /** The cache entry's name: the recipe, and the steps when they are not the default. */
    static String cacheName(String kind, long steps, long defaultSteps) {
        if (steps <= 0) {
            throw new IllegalArgumentException("pretraining steps must be > 0, got " + steps);
        }
        return kind + "-r" + RECIPE + (steps == defaultSteps ? "" : "-" + steps + "steps");
    }

    /** The pixel mean and standard deviation the cached ViT base was trained with (from its manifest). */
    public static double[] vitFashionStats(Path baseDir) {
        // a ViT base directory may be the user's: its manifest is untrusted input (bounded, strict JSON, each field
        // checked and named), and neither file may be a link out of the directory
        Path f = baseDir.resolve("manifest.json");
        HfCheckpoint.requireInside(baseDir, f);
        HfCheckpoint.requireInside(baseDir, baseDir.resolve("vit.safetensors"));
        JsonNode m = dev.nola.io.UntrustedJson.parse(dev.nola.io.InputFiles.readAll(f, 1 << 20,
                dev.nola.io.UntrustedJson.HEAP_PER_BYTE), f.toString());
        if (!m.isObject()) {
            throw new dev.nola.io.InvalidFileException(f + ": the top level is a JSON " + m.getNodeType().name().toLowerCase()
                    + "; expected an object");
        }
        return new double[] {pixelStat(m, f, "pixel_mean", 0, 1, false), pixelStat(m, f, "pixel_std", 0, 1, false)};
    }

    /** A pixel statistic of pixels / 255: a number in [lo, hi] (lo itself only when {@code withLo}). */
    private static double pixelStat(JsonNode m, Path f, String name, double lo, double hi, boolean withLo) {
        JsonNode v = m.get(name);
        double d = v != null && v.isNumber() ? v.doubleValue() : Double.NaN;
        if (!(withLo ? d >= lo : d > lo) || !(d <= hi)) {
            throw new dev.nola.io.InvalidFileException(f + ": field '" + name + "' is " + (v == null ? "missing"
                    : dev.nola.io.Echo.value(dev.nola.io.UntrustedJson.written(v))) + "; expected a number in " + (withLo ? "[" : "(")
                    + lo + ", " + hi + "] (a statistic of pixels / 255)");
        }
        return d;
    }

    private static ObjectNode recipe(String kind, Trainer.Result r, long startNanos) {
        ObjectNode man = JSON.createObjectNode();
        man.put("kind", kind);
        man.put("recipe", RECIPE);
        Evaluation e = r.last();
        man.put("steps", r.losses().size());
        man.put("final_train_loss", r.losses().get(r.losses().size() - 1));
        man.put("held_out_loss", e.loss());
        if (!Double.isNaN(e.accuracy())) {
            man.put("held_out_accuracy", e.accuracy());
        }
        man.put("seconds", (System.nanoTime() - startNanos) / 1e9);
        return man;
    }

    private static JsonNode manifest(Path dir) {
        try {
            return JSON.readTree(Files.readAllBytes(dir.resolve("manifest.json")));
        } catch (IOException e) {
            throw new IllegalArgumentException("cached base " + dir + ": manifest.json cannot be read: " + e.getMessage()
                    + " (delete the directory to rebuild it)");
        }
    }
}
