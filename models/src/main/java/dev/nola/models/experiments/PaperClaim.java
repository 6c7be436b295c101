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
import dev.nola.models.gpt2.Gpt2Checkpoint;
import dev.nola.models.gpt2.Gpt2Init;
import dev.nola.models.gpt2.Gpt2Model;
import dev.nola.models.gpt2.Gpt2Task;
import dev.nola.models.gpt2.Gpt2Weights;
import dev.nola.models.image.ImageSet;
import dev.nola.models.text.TextDataset;
import dev.nola.models.text.TokenWindows;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.Trainer;
import dev.nola.models.train.TrainerSettings;
import dev.nola.models.train.TrainingListener;
import dev.nola.models.transformer.TransformerBlock;
import dev.nola.models.vit.VitInit;
import dev.nola.models.vit.VitModel;
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

    /** Adapters for the given modules of every layer. */
    static Map<String, Adapter> adapters(Device d, Method method, int layer, Map<String, int[]> modules, NolaConfig nola,
                                         long seed) {
        Map<String, Adapter> m = new HashMap<>();
        int index = 0;
        for (Map.Entry<String, int[]> e : modules.entrySet()) {
            int in = e.getValue()[0];
            int out = e.getValue()[1];
            Adapter a = switch (method) {
                case NOLA -> NolaAdapter.create(d, nola, in, out, layer, e.getKey());
                case LORA_R1 -> new LoraAdapter(d, in, out, 1, 2f, seed, layer * 16 + index);
                case LORA_R4 -> new LoraAdapter(d, in, out, 4, 8f, seed, layer * 16 + index);
                default -> null;
            };
            if (a != null) {
                m.put(e.getKey(), a);
            }
            index++;
        }
        return m;
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
        VitModel.Dims dims = SmallBases.VIT_DIMS;
        int c = dims.width();
        double mean = SmallBases.vitFashionStats(baseDir)[0];
        double std = SmallBases.vitFashionStats(baseDir)[1];
        ImageSet.Stats stats = new ImageSet.Stats((float) mean, (float) std);
        ImageSet pool = ImageSet.fashionMnist(fashion, true).filterClasses(5, 6, 7, 8, 9).renumberClasses(5, 6, 7, 8, 9);
        ImageSet test = ImageSet.fashionMnist(fashion, false).filterClasses(5, 6, 7, 8, 9).renumberClasses(5, 6, 7, 8, 9)
                .standardized(stats);
        Map<String, int[]> modules = new LinkedHashMap<>();
        modules.put(TransformerBlock.FC, new int[] {c, 4 * c});
        modules.put(TransformerBlock.FC2, new int[] {4 * c, c});
        // NOLA: k + l = 80 per matrix, 8 matrices = 640 numbers, a quarter of LoRA r = 1's 2,560
        NolaConfig nola = NolaConfig.offset(4, 40, 40, 4f, 7L, List.of(TransformerBlock.FC, TransformerBlock.FC2));
        List<Row> rows = new ArrayList<>();
        for (Method method : new Method[] {Method.HEAD_ONLY, Method.NOLA, Method.LORA_R1, Method.LORA_R4}) {
            double[] acc = new double[seeds.length];
            long trainable = 0;
            long bytes = 0;
            long head = 0;
            for (int s = 0; s < seeds.length; s++) {
                long seed = seeds[s];
                ImageSet few = pool.kShot(shots, seed).standardized(stats);
                VitModel.Weights base = VitWeightsFile.read(d, baseDir.resolve("vit.safetensors"),
                        new VitModel.Dims(dims.image(), dims.patch(), dims.layers(), dims.heads(), c, dims.classes(), dims.eps()));
                VitModel.Weights w = VitInit.withNewHead(d, base, 5, seed);
                List<Map<String, Adapter>> made = new ArrayList<>();
                try (VitModel m = new VitModel(d, new VitModel.Dims(dims.image(), dims.patch(), dims.layers(), dims.heads(), c,
                        5, dims.eps()), w, false, i -> {
                            Map<String, Adapter> a = adapters(d, method, i, modules, nola, seed);
                            made.add(a);
                            return a;
                        })) {
                    VitTask task = new VitTask(m, few, test, 25, seed, 0.1f);
                    double lr = method == Method.LORA_R1 || method == Method.LORA_R4 ? 5e-3 : 1e-2;
                    Trainer.Result r = Trainer.run(task, new TrainerSettings(steps, lr, steps / 10, true, 1.0, 0.0, 0, 0,
                            0.999), null, false, listener);
                    acc[s] = r.last().accuracy();
                    Map<String, Adapter> all = new LinkedHashMap<>();
                    for (int i = 0; i < made.size(); i++) {
                        for (Map.Entry<String, Adapter> e : made.get(i).entrySet()) {
                            all.put("h." + i + ".mlp." + e.getKey(), e.getValue());
                        }
                    }
                    trainable = count(all);
                    head = m.head().count();
                    bytes = adapterBytes(method, all, List.of(TransformerBlock.FC, TransformerBlock.FC2));
                } finally {
                    made.forEach(a -> a.values().forEach(Adapter::close));
                    w.head().close();
                    w.headBias().close();
                    base.close();
                }
            }
            rows.add(new Row(method, trainable, head, bytes, acc));
        }
        return rows;
    }

    /**
     * Domain adaptation of the fortunes GPT-2 to a text (the King James Bible): held-out perplexity of
     * the base and of NOLA, LoRA r = 1 and r = 4 on q and v, each trained {@code steps} steps of 8 × 64
     * tokens from the same seeds.
     */
    public static List<Row> gpt2Domain(Device d, Path baseDir, TextDataset text, long[] seeds, long steps,
                                       int heldOutWindows, TrainingListener listener) {
        Gpt2Checkpoint ckpt = Gpt2Checkpoint.load(baseDir);
        Gpt2Model.Dims dims = Gpt2Weights.dims(ckpt.config());
        TokenWindows all = text.packedWindows(dims.positions());
        TokenWindows.Split split = all.split(0.05, 3);
        int[] idx = new int[Math.min(heldOutWindows, split.heldOut().size())];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        TokenWindows heldOut = split.heldOut().select(idx);
        int c = dims.width();
        Map<String, int[]> modules = new LinkedHashMap<>();
        modules.put(TransformerBlock.Q, new int[] {c, c});
        modules.put(TransformerBlock.V, new int[] {c, c});
        // NOLA: k + l = 128 per matrix, half of LoRA r = 1's 2·C = 256
        NolaConfig nola = NolaConfig.offset(8, 64, 64, 8f, 11L, List.of(TransformerBlock.Q, TransformerBlock.V));
        List<Row> rows = new ArrayList<>();
        Gpt2Model.Weights w = Gpt2Weights.upload(d, ckpt);
        try {
            for (Method method : new Method[] {Method.BASE, Method.NOLA, Method.LORA_R1, Method.LORA_R4}) {
                double[] ppl = new double[method == Method.BASE ? 1 : seeds.length];
                long trainable = 0;
                long bytes = 0;
                for (int s = 0; s < ppl.length; s++) {
                    long seed = seeds[s];
                    List<Map<String, Adapter>> made = new ArrayList<>();
                    try (Gpt2Model m = new Gpt2Model(d, dims, w, false, i -> {
                        Map<String, Adapter> a = adapters(d, method, i, modules, nola, seed);
                        made.add(a);
                        return a;
                    })) {
                        Gpt2Task task = new Gpt2Task(m, split.train(), heldOut, 8, seed);
                        Evaluation e;
                        if (method == Method.BASE) {
                            e = task.evaluate();
                        } else {
                            double lr = method == Method.NOLA ? 2e-2 : 2e-3;
                            e = Trainer.run(task, new TrainerSettings(steps, lr, steps / 10, false, 1.0, 0.0, 0, 0, 0.999),
                                    null, false, listener).last();
                        }
                        ppl[s] = e.perplexity();
                        Map<String, Adapter> named = new LinkedHashMap<>();
                        for (int i = 0; i < made.size(); i++) {
                            for (Map.Entry<String, Adapter> en : made.get(i).entrySet()) {
                                named.put("h." + i + ".attn." + en.getKey(), en.getValue());
                            }
                        }
                        trainable = count(named);
                        bytes = adapterBytes(method, named, List.of(TransformerBlock.Q, TransformerBlock.V));
                    } finally {
                        made.forEach(a -> a.values().forEach(Adapter::close));
                    }
                }
                rows.add(new Row(method, trainable, 0, bytes, ppl));
            }
        } finally {
            Gpt2Init.close(w);
        }
        return rows;
    }
}
