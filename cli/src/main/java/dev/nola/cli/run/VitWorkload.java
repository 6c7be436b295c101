package dev.nola.cli.run;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.io.AtomicFiles;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.bases.VitWeightsFile;
import dev.nola.models.image.ImageSet;
import dev.nola.models.train.Evaluation;
import dev.nola.models.train.TrainingTask;
import dev.nola.models.transformer.DeviceWeights;
import dev.nola.models.vit.VitConfig;
import dev.nola.models.vit.VitModel;
import dev.nola.models.vit.VitTask;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * The project's ViT base with adapters on its blocks and a classification head (new and trained, or
 * read from a file), over IDX images standardized with the base's pixel statistics: accuracy.
 */
public final class VitWorkload implements Workload {

    private final Device device;
    private final DeviceWeights base;
    private final VitModel.Head head;
    private final Map<String, Adapter> adapters;
    private final VitModel model;
    private final VitTask task;
    private final String description;

    /**
     * @param adapters the adapters by saved name (owned by the workload from now on)
     * @param classes  the classes to classify (renumbered from 0), all when empty
     * @param shots    images per class to train on (0: every training image)
     * @param headFile a trained head to evaluate with, or null: a new head when the classes differ from
     *                 the base's, else the base's own head
     */
    public VitWorkload(Device d, Path baseDir, Map<String, Adapter> adapters, DataSpec data, int[] classes, int shots,
                       Path headFile, int batch, long seed) {
        this.device = d;
        this.adapters = adapters;
        VitConfig config = SmallBases.VIT_CONFIG;
        double[] st = SmallBases.vitFashionStats(baseDir);
        ImageSet.Stats stats = new ImageSet.Stats((float) st[0], (float) st[1]);
        DeviceWeights b = null;
        VitModel.Head h = null;
        VitModel m = null;
        try {
            ImageSet train = data.images(true, classes);
            ImageSet test = data.images(false, classes).standardized(stats);
            int k = train.classCounts().size();
            if (shots > 0) {
                train = train.kShot(shots, seed);
            }
            train = train.standardized(stats);
            b = VitWeightsFile.read(d, baseDir.resolve(ModelSource.VIT_WEIGHTS), config);
            VitConfig kc = config.withClasses(k);
            if (headFile != null) {
                h = readHead(d, headFile, config.width(), k);
            } else if (k != config.classes() || classes.length > 0 && classes[0] != 0) {
                h = VitModel.newHead(d, kc, seed);
            }
            DeviceWeights w = h == null ? b : b.with(kc.spec().weights(), h.tensors());
            m = new VitModel(d, kc, w, false, adapters);
            this.task = new VitTask(m, train, test, batch, seed, 0.1f);
            this.description = String.format("%s: %d classes, %,d training images%s, %,d test images",
                    data.path(), k, train.size(), shots > 0 ? " (" + shots + " per class)" : "", test.size());
        } catch (RuntimeException e) {
            if (m != null) {
                m.close();
            }
            if (h != null) {
                h.close();
            }
            if (b != null) {
                b.close();
            }
            adapters.values().forEach(Adapter::close);
            throw e;
        }
        this.base = b;
        this.head = h;
        this.model = m;
    }

    /** A head saved by {@link #saveHead}, checked to be [width, k] before it is read. */
    private static VitModel.Head readHead(Device d, Path headFile, int width, int k) {
        try (SafeTensorsReader r = SafeTensorsReader.open(headFile)) {
            int[] s = r.tensor("head.weight").shape();
            if (s.length != 2 || s[0] != width || s[1] != k) {
                throw new IllegalArgumentException(headFile + ": head.weight is " + Arrays.toString(s) + "; this data has "
                        + k + " classes, so expected [" + width + ", " + k + "]");
            }
            Tensor w = d.upload(r.readFloats("head.weight"), s);
            try {
                return new VitModel.Head(w, d.upload(r.readFloats("head.bias"), k));
            } catch (RuntimeException e) {
                w.close();
                throw e;
            }
        }
    }

    @Override
    public TrainingTask task() {
        return task;
    }

    @Override
    public String metricName() {
        return "accuracy";
    }

    @Override
    public double metric(Evaluation e) {
        return e.accuracy();
    }

    @Override
    public Map<String, Adapter> adapters() {
        return adapters;
    }

    @Override
    public long headNumbers() {
        return model.head().count();
    }

    @Override
    public void saveHead(Path file) {
        Tensor w = head != null ? head.weight() : base.get("head.weight");
        Tensor b = head != null ? head.bias() : base.get("head.bias");
        SafeTensorsWriter out = new SafeTensorsWriter();
        out.f32("head.weight", w.shape(), device.read(w));
        out.f32("head.bias", b.shape(), device.read(b));
        AtomicFiles.write(file, out.toBytes(Map.of("format", "nola-vit-head-1")));
    }

    @Override
    public WeightMemory weightMemory() {
        long bytes = dev.nola.models.transformer.WeightPrecision.deviceBytes(base.table(), java.util.Set.of());
        return new WeightMemory("f32", bytes, bytes);
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        model.close();
        if (head != null) {
            head.close();
        }
        base.close();
        adapters.values().forEach(Adapter::close);
    }
}
