package dev.nola.cli.run;

import dev.nola.io.Echo;
import dev.nola.adapter.Adapter;
import dev.nola.kernels.Device;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.image.ImageSet;
import dev.nola.models.lm.Architectures;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.lm.HfConfig;
import dev.nola.models.lm.Tokenizers;
import dev.nola.models.spec.AttentionSpec;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.transformer.WeightPrecision;
import dev.nola.models.text.Tokenizer;
import dev.nola.models.train.TrainingListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What {@code --model} names: one of the project's small bases ({@code gpt2-fortunes},
 * {@code llama-fortunes}, {@code vit-fashion}; built and cached on first use) or a directory — a Hugging Face causal language
 * model ({@link CausalLmDir}: {@code config.json} of any architecture {@link Architectures} reads, and
 * {@code model.safetensors} or a sharded index) or a ViT base as the project saves it ({@link VitBase}:
 * {@code vit.safetensors} + {@code manifest.json}). Each tells its {@link ModelSpec} (the adapter sites
 * {@code --targets} chooses among) and builds its {@link Workload}, so no command switches on the kind.
 */
public sealed interface ModelSource permits ModelSource.CausalLmDir, ModelSource.VitBase {

    /** The name of the project's GPT-2 base. */
    String GPT2_FORTUNES = "gpt2-fortunes";
    /** The name of the project's LLaMA base. */
    String LLAMA_FORTUNES = "llama-fortunes";
    /** The name of the project's ViT base. */
    String VIT_FASHION = "vit-fashion";
    /** Where Debian's {@code fortunes} package puts its files. */
    Path DEBIAN_FORTUNES = Path.of("/usr/share/games/fortunes");
    /** The ViT base's weights file. */
    String VIT_WEIGHTS = "vit.safetensors";

    /** The directory holding the weights. */
    Path dir();

    /** How the report names the model. */
    String name();

    /** What messages call this kind of model ("GPT-2", "ViT"). */
    String displayName();

    /** The model's blocks and adapter sites. */
    ModelSpec spec();

    /** The modules adapted when {@code --targets} is not given. */
    List<String> defaultTargets();

    /** Whether the model classifies images (else it reads text). */
    boolean readsImages();

    /**
     * The model on the device with these adapters and data, ready to train or evaluate.
     *
     * @param adapters by saved name; owned by the workload from now on (closed with it, or on failure)
     */
    Workload workload(Device d, Map<String, Adapter> adapters, DataSpec data, Setup setup);

    /**
     * This source as a causal language model, for the commands that need one; else a one-line error
     * naming {@code --model} and what {@code command} expected.
     */
    default CausalLmDir languageModel(String command) {
        if (this instanceof CausalLmDir lm) {
            return lm;
        }
        throw new IllegalArgumentException("--model " + Echo.quote(name()) + " is a " + displayName() + "; " + command
                + " needs a causal language model (" + GPT2_FORTUNES + ", " + LLAMA_FORTUNES
                + " or a Hugging Face checkpoint directory)");
    }

    /**
     * How a workload runs.
     *
     * @param batch    sequences or images per step
     * @param seed     the batches' (and a new head's) seed
     * @param classes  images: the classes to classify (renumbered from 0), all when empty
     * @param shots    images: per class to train on (0: every training image)
     * @param headFile images: a trained head to evaluate with, or null
     * @param weights  how a language model's frozen base is held on the device ({@code --weights}); the ViT takes f32 only
     */
    record Setup(int batch, long seed, int[] classes, int shots, Path headFile, WeightPrecision weights) {

        /** A setup with float32 weights. */
        public Setup(int batch, long seed, int[] classes, int shots, Path headFile) {
            this(batch, seed, classes, shots, headFile, WeightPrecision.F32);
        }

        /** A text workload's setup (no classes, shots or head), float32 weights. */
        public static Setup text(int batch, long seed) {
            return new Setup(batch, seed, new int[0], 0, null);
        }
    }

    /**
     * A Hugging Face causal language model directory: {@code config.json} and its weights.
     *
     * @param dir  the directory
     * @param name how the report names it
     */
    record CausalLmDir(Path dir, String name) implements ModelSource {

        /** The directory's {@code config.json}, read and validated. */
        public HfConfig config() {
            return HfCheckpoint.readConfig(dir);
        }

        /**
         * The tokenizer of this model's text: the one the directory's {@code manifest.json} names (the
         * project's bases write {@code "tokenizer": "gpt2-r50k"}), else GPT-2's, which every checkpoint
         * nola read so far used ({@link Tokenizers#forModel}). The one place a model's tokenizer
         * is chosen: data, evaluation and generation all ask here.
         */
        public Tokenizer tokenizer() {
            return Tokenizers.forModel(dir, config());
        }

        /** The whole checkpoint, read and validated. */
        public HfCheckpoint checkpoint() {
            return HfCheckpoint.load(dir);
        }

        @Override
        public String displayName() {
            return config().displayName();
        }

        @Override
        public ModelSpec spec() {
            return config().spec().model();
        }

        /** The first block's query and value projections (q, v for GPT-2; q_proj, v_proj for LLaMA). */
        @Override
        public List<String> defaultTargets() {
            AttentionSpec a = spec().blocks().get(0).attention();
            return List.of(a.q().module(), a.v().module());
        }

        @Override
        public boolean readsImages() {
            return false;
        }

        @Override
        public Workload workload(Device d, Map<String, Adapter> adapters, DataSpec data, Setup setup) {
            HfConfig config;
            try {
                config = config();
            } catch (RuntimeException e) {
                adapters.values().forEach(Adapter::close);
                throw e;
            }
            // the weights go to the device tensor by tensor as they are read: no whole float32 copy on the heap
            return new CausalLmWorkload(d, config, each -> HfCheckpoint.stream(dir, each), this::tokenizer, adapters, data,
                    setup.batch(), setup.seed(), setup.weights());
        }
    }

    /**
     * The project's ViT base ({@link SmallBases#VIT_CONFIG}) as it saves it.
     *
     * @param dir  the directory of {@value #VIT_WEIGHTS} and {@code manifest.json}
     * @param name how the report names it
     */
    record VitBase(Path dir, String name) implements ModelSource {

        @Override
        public String displayName() {
            return "ViT";
        }

        @Override
        public ModelSpec spec() {
            return SmallBases.VIT_CONFIG.spec();
        }

        @Override
        public List<String> defaultTargets() {
            return List.of("fc", "fc2");
        }

        @Override
        public boolean readsImages() {
            return true;
        }

        @Override
        public Workload workload(Device d, Map<String, Adapter> adapters, DataSpec data, Setup setup) {
            if (setup.weights() != WeightPrecision.F32) {
                adapters.values().forEach(Adapter::close);
                throw new IllegalArgumentException("--weights is '" + setup.weights().label() + "'; the ViT holds its weights"
                        + " in f32 only (bf16 applies to causal language models): expected f32");
            }
            return new VitWorkload(d, dir, adapters, data, setup.classes(), setup.shots(), setup.headFile(), setup.batch(),
                    setup.seed());
        }
    }

    /** Whether {@code spec} names a small base rather than a directory. */
    static boolean isBaseName(String spec) {
        return spec.equals(GPT2_FORTUNES) || spec.equals(LLAMA_FORTUNES) || spec.equals(VIT_FASHION);
    }

    /**
     * Resolves a model option; a base name builds the base when it is not cached (progress through
     * {@code listener}), on {@code device}.
     *
     * @param baseSteps pretraining steps of a base built now (0 for the default)
     */
    static ModelSource resolve(String spec, Device device, long baseSteps, TrainingListener listener) {
        if (spec.equals(GPT2_FORTUNES)) {
            SmallBases.Built b = SmallBases.gpt2Fortunes(device, SmallBases.cacheDir(), DEBIAN_FORTUNES,
                    baseSteps > 0 ? baseSteps : SmallBases.GPT2_STEPS, listener);
            return new CausalLmDir(b.dir(), spec);
        }
        if (spec.equals(LLAMA_FORTUNES)) {
            SmallBases.Built b = SmallBases.llamaFortunes(device, SmallBases.cacheDir(), DEBIAN_FORTUNES,
                    baseSteps > 0 ? baseSteps : SmallBases.LLAMA_STEPS, listener);
            return new CausalLmDir(b.dir(), spec);
        }
        if (spec.equals(VIT_FASHION)) {
            SmallBases.Built b = SmallBases.vitFashion(device, SmallBases.cacheDir(), ImageSet.DEBIAN_FASHION_MNIST,
                    baseSteps > 0 ? baseSteps : SmallBases.VIT_STEPS, listener);
            return new VitBase(b.dir(), spec);
        }
        return directory(spec);
    }

    /** A model directory (no base names). */
    static ModelSource directory(String spec) {
        Path dir = Path.of(spec);
        String name = dir.getFileName() == null ? spec : dir.getFileName().toString();
        if (Files.isRegularFile(dir.resolve(HfCheckpoint.CONFIG_FILE))
                && (Files.isRegularFile(dir.resolve(HfCheckpoint.WEIGHTS_FILE)) || Files.isRegularFile(dir.resolve(HfCheckpoint.INDEX_FILE)))) {
            return new CausalLmDir(dir, name);
        }
        if (Files.isRegularFile(dir.resolve(VIT_WEIGHTS)) && Files.isRegularFile(dir.resolve("manifest.json"))) {
            return new VitBase(dir, name);
        }
        String what = Files.isDirectory(dir) ? "a directory without config.json + model.safetensors (a Hugging Face causal LM) or "
                + VIT_WEIGHTS + " + manifest.json (ViT)" : Files.exists(dir) ? "not a directory" : "missing";
        throw new IllegalArgumentException("--model " + Echo.quote(spec) + " is " + what + "; expected " + GPT2_FORTUNES
                + ", " + LLAMA_FORTUNES + ", " + VIT_FASHION + " or a model directory");
    }
}
