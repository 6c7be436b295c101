package dev.nola.models.experiments;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.LoraAdapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.PeftLoraExport;
import dev.nola.kernels.Device;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.bases.VitWeightsFile;
import dev.nola.models.image.ImageSet;
import dev.nola.models.text.TextDataset;
import dev.nola.models.text.TokenWindows;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.Trainer;
import dev.nola.models.train.TrainerSettings;
import dev.nola.models.train.TrainingListener;
import dev.nola.models.vit.VitModel;
import dev.nola.models.vit.VitConfig;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.CausalLmTask;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.transformer.Adapters;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.vit.VitTask;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The paper's claim on this project's small bases and real data: NOLA against LoRA at rank 1 and 4
 * with the same training budget, over several seeds. Each row has the trainable numbers, the adapter's
 * bytes on disk (the files the project writes: a NOLA adapter directory, or a PEFT LoRA export) and the
 * metric per seed.
 */
public final class PaperClaim {

    private PaperClaim() {
    }

    /** How a layer is adapted. */
    public enum Method {
        /** No training (the base as it is). */
        BASE,
        /** Only the classification head (ViT). */
        HEAD_ONLY,
        NOLA,
        LORA_R1,
        LORA_R4
    }

    /**
     * One method's results.
     *
     * @param method       what was trained
     * @param trainable    trainable numbers of the adapters (the ViT head is counted apart)
     * @param headNumbers  the ViT head's numbers (0 for GPT-2)
     * @param adapterBytes the adapter's files on disk, bytes
     * @param metric       the metric per seed (accuracy for the ViT, perplexity for GPT-2)
     */
    public record Row(Method method, long trainable, long headNumbers, long adapterBytes, double[] metric) {
        public double mean() {
            return Arrays.stream(metric).average().orElse(Double.NaN);
        }

        /** Sample standard deviation (0 for one seed). */
        public double std() {
            if (metric.length < 2) {
                return 0;
            }
            double m = mean();
            return Math.sqrt(Arrays.stream(metric).map(x -> (x - m) * (x - m)).sum() / (metric.length - 1));
        }
    }

    /** The adapters of a method on the given modules of every layer, by site name (none for BASE and HEAD_ONLY). */
    static Map<String, Adapter> adapters(Device d, Method method, ModelSpec spec, List<String> modules, NolaConfig nola,
                                         long seed) {
        return Adapters.create(spec, modules, (site, index) -> switch (method) {
            case NOLA -> NolaAdapter.create(d, nola, site.in(), site.out(), site.layer(), site.module());
            case LORA_R1 -> new LoraAdapter(d, site.in(), site.out(), 1, 2f, seed, site.layer() * 16 + index);
            case LORA_R4 -> new LoraAdapter(d, site.in(), site.out(), 4, 8f, seed, site.layer() * 16 + index);
            default -> null;
        });
    }

    /** Bytes of the adapter files the project writes for these adapters (written to a temporary directory). */
    static long adapterBytes(Method method, Map<String, Adapter> byName, List<String> modules) {
        if (byName.isEmpty()) {
            return 0;
        }
        try {
            Path tmp = Files.createTempDirectory("nola-bytes");
            Path dir = tmp.resolve("adapter");
            try {
                if (method == Method.NOLA) {
                    Map<String, NolaAdapter> n = new LinkedHashMap<>();
                    byName.forEach((k, v) -> n.put(k, (NolaAdapter) v));
                    NolaAdapterFiles.save(dir, n);
                } else {
                    PeftLoraExport.write(dir, byName, modules, "nola-small-base");
                }
                try (Stream<Path> files = Files.walk(dir)) {
                    return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
                }
            } finally {
                try (Stream<Path> files = Files.walk(tmp)) {
                    files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long count(Map<String, Adapter> m) {
        return m.values().stream().mapToLong(Adapter::parameterCount).sum();
    }

    /**
     * Few-shot ViT: the Fashion-MNIST base (classes 0–4) adapted to {@code shots} images of each of
     * classes 5–9, a new head in every run, test accuracy on the 5,000 test images of those classes.
     * NOLA and LoRA sit on the MLP (fc and fc2 of every block), as the paper's ViT runs.
     */
    public static List<Row> vitFewShot(Device d, Path baseDir, Path fashion, int shots, long[] seeds, long steps,
                                       TrainingListener listener) {
        VitConfig dims = SmallBases.VIT_CONFIG;
        double mean = SmallBases.vitFashionStats(baseDir)[0];
        double std = SmallBases.vitFashionStats(baseDir)[1];
        ImageSet.Stats stats = new ImageSet.Stats((float) mean, (float) std);
        ImageSet pool = ImageSet.fashionMnist(fashion, true).filterClasses(5, 6, 7, 8, 9).renumberClasses(5, 6, 7, 8, 9);
        ImageSet test = ImageSet.fashionMnist(fashion, false).filterClasses(5, 6, 7, 8, 9).renumberClasses(5, 6, 7, 8, 9)
                .standardized(stats);
        List<String> modules = List.of("fc", "fc2");
        // NOLA: k + l = 80 per matrix, 8 matrices = 640 numbers, a quarter of LoRA r = 1's 2,560
        NolaConfig nola = NolaConfig.offset(4, 40, 40, 4f, 7L, modules);
        VitConfig five = dims.withClasses(5);
        List<Row> rows = new ArrayList<>();
        for (Method method : new Method[] {Method.HEAD_ONLY, Method.NOLA, Method.LORA_R1, Method.LORA_R4}) {
            double[] acc = new double[seeds.length];
            long trainable = 0;
            long bytes = 0;
            long head = 0;
            for (int s = 0; s < seeds.length; s++) {
                long seed = seeds[s];
                ImageSet few = pool.kShot(shots, seed).standardized(stats);
                try (DeviceWeights base = VitWeightsFile.read(d, baseDir.resolve("vit.safetensors"), dims);
                     VitModel.Head newHead = VitModel.newHead(d, five, seed)) {
                    DeviceWeights w = base.with(five.spec().weights(), newHead.tensors());
                    Map<String, Adapter> all = adapters(d, method, five.spec(), modules, nola, seed);
                    try (VitModel m = new VitModel(d, five, w, false, all)) {
                        VitTask task = new VitTask(m, few, test, 25, seed, 0.1f);
                        double lr = method == Method.LORA_R1 || method == Method.LORA_R4 ? 5e-3 : 1e-2;
                        Trainer.Result r = Trainer.run(task, new TrainerSettings(steps, lr, steps / 10, true, 1.0, 0.0, 0, 0,
                                0.999), null, false, listener);
                        acc[s] = r.last().accuracy();
                        trainable = count(all);
                        head = m.head().count();
                        bytes = adapterBytes(method, all, modules);
                    } finally {
                        all.values().forEach(Adapter::close);
                    }
                }
            }
            rows.add(new Row(method, trainable, head, bytes, acc));
        }
        return rows;
    }

    /**
     * The NOLA of the domain-adaptation runs on {@code modules} of {@code spec}: rank 8, α = 8, basis
     * seed 11, offset init, and k = l = (LoRA r = 1's numbers on those sites) / (4 · sites), so NOLA
     * trains (at most) half of LoRA r = 1's numbers: k + l per matrix against LoRA r = 1's in + out.
     * The fortunes GPT-2 on q, v (4 matrices of 128 × 128; LoRA r = 1: 1,024) gets k = l = 64, 512
     * numbers; the fortunes LLaMA on q_proj (128 → 128) and v_proj (128 → 64; LoRA r = 1: 896) gets
     * k = l = 56, 448 numbers.
     */
    public static NolaConfig domainNola(ModelSpec spec, List<String> modules) {
        List<AdapterSite> sites = spec.sitesOf(modules);
        if (sites.isEmpty()) {
            throw new IllegalArgumentException("modules " + modules + " have no adapter site in " + spec.architecture()
                    + "; expected at least one of " + spec.modules());
        }
        long loraR1 = sites.stream().mapToLong(s -> (long) s.in() + s.out()).sum();
        int k = (int) Math.max(1, loraR1 / (4L * sites.size()));
        return NolaConfig.offset(8, k, k, 8f, 11L, modules);
    }

    /**
     * Domain adaptation of the fortunes GPT-2 to a text (the King James Bible):
     * {@link #causalLmDomain} on q and v.
     */
    public static List<Row> gpt2Domain(Device d, Path baseDir, TextDataset text, long[] seeds, long steps,
                                       int heldOutWindows, TrainingListener listener) {
        return causalLmDomain(d, baseDir, List.of("q", "v"), text, seeds, steps, heldOutWindows, listener);
    }

    /**
     * Domain adaptation of any causal LM checkpoint directory (the fortunes GPT-2 or LLaMA, a Hugging Face
     * model) to a text, tokenized by the caller with the base's tokenizer: held-out perplexity of the
     * base and of NOLA ({@link #domainNola}), LoRA r = 1 and r = 4 on {@code modules} of every layer
     * ({@code q, v} for GPT-2, {@code q_proj, v_proj} for LLaMA: the paper's setting), each trained
     * {@code steps} steps of 8 windows of the model's positions from the same seeds.
     */
    public static List<Row> causalLmDomain(Device d, Path baseDir, List<String> modules, TextDataset text, long[] seeds,
                                           long steps, int heldOutWindows, TrainingListener listener) {
        HfCheckpoint ckpt = HfCheckpoint.load(baseDir);
        CausalLmSpec spec = ckpt.config().spec();
        TokenWindows all = text.packedWindows(spec.positions());
        TokenWindows.Split split = all.split(0.05, 3);
        int[] idx = new int[Math.min(heldOutWindows, split.heldOut().size())];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        TokenWindows heldOut = split.heldOut().select(idx);
        NolaConfig nola = domainNola(spec.model(), modules);
        List<Row> rows = new ArrayList<>();
        try (DeviceWeights w = DeviceWeights.upload(d, ckpt.table(), ckpt.tensors())) {
            for (Method method : new Method[] {Method.BASE, Method.NOLA, Method.LORA_R1, Method.LORA_R4}) {
                double[] ppl = new double[method == Method.BASE ? 1 : seeds.length];
                long trainable = 0;
                long bytes = 0;
                for (int s = 0; s < ppl.length; s++) {
                    long seed = seeds[s];
                    Map<String, Adapter> named = adapters(d, method, spec.model(), modules, nola, seed);
                    try (CausalLm m = new CausalLm(d, spec, w, false, named)) {
                        CausalLmTask task = new CausalLmTask(m, split.train(), heldOut, 8, seed);
                        Evaluation e;
                        if (method == Method.BASE) {
                            e = task.evaluate();
                        } else {
                            double lr = method == Method.NOLA ? 2e-2 : 2e-3;
                            e = Trainer.run(task, new TrainerSettings(steps, lr, steps / 10, false, 1.0, 0.0, 0, 0, 0.999),
                                    null, false, listener).last();
                        }
                        ppl[s] = e.perplexity();
                        trainable = count(named);
                        bytes = adapterBytes(method, named, modules);
                    } finally {
                        named.values().forEach(Adapter::close);
                    }
                }
                rows.add(new Row(method, trainable, 0, bytes, ppl));
            }
        }
        return rows;
    }
}
