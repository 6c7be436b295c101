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
import dev.nola.models.vit.VitInit;
import dev.nola.models.vit.VitModel;
import dev.nola.models.vit.VitTask;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The project's ViT base with adapters on its blocks and a classification head (new and trained, or
 * read from a file), over IDX images standardized with the base's pixel statistics: accuracy.
 */
public final class VitWorkload implements Workload {

    private final Device device;
    private final VitModel.Weights base;
    private final Tensor head;
    private final Tensor headBias;
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
        VitModel.Dims dims = SmallBases.VIT_DIMS;
        double[] st = SmallBases.vitFashionStats(baseDir);
        ImageSet.Stats stats = new ImageSet.Stats((float) st[0], (float) st[1]);
        VitModel.Weights b = null;
        Tensor h = null;
        Tensor hb = null;
        VitModel m = null;
        try {
            ImageSet train = data.images(true, classes);
            ImageSet test = data.images(false, classes).standardized(stats);
            int k = train.classCounts().size();
            if (shots > 0) {
                train = train.kShot(shots, seed);
            }
            train = train.standardized(stats);
            b = VitWeightsFile.read(d, baseDir.resolve(ModelSource.VIT_WEIGHTS), dims);
            if (headFile != null) {
                try (SafeTensorsReader r = SafeTensorsReader.open(headFile)) {
                    int[] s = r.tensor("head.weight").shape();
                    if (s.length != 2 || s[0] != dims.width() || s[1] != k) {
                        throw new IllegalArgumentException(headFile + ": head.weight is " + Arrays.toString(s) + "; this data has "
                                + k + " classes, so expected [" + dims.width() + ", " + k + "]");
                    }
                    h = d.upload(r.readFloats("head.weight"), s);
                    hb = d.upload(r.readFloats("head.bias"), k);
                }
            } else if (k != dims.classes() || classes.length > 0 && classes[0] != 0) {
                VitModel.Weights fresh = VitInit.withNewHead(d, b, k, seed);
                h = fresh.head();
                hb = fresh.headBias();
            }
            VitModel.Weights w = h == null ? b : new VitModel.Weights(b.patchWeight(), b.tokenTable(), b.positions(),
                    b.blocks(), b.lnfWeight(), b.lnfBias(), h, hb);
            Map<Integer, Map<String, Adapter>> byLayer = new HashMap<>();
            for (int i = 0; i < dims.layers(); i++) {
                byLayer.put(i, new HashMap<>());
            }
            Map<String, Adapter> left = new HashMap<>(adapters);
            for (int i = 0; i < dims.layers(); i++) {
                for (String module : dev.nola.models.gpt2.Gpt2Adapters.MODULES) {
                    Adapter a = left.remove(dev.nola.models.gpt2.Gpt2Adapters.name(i, module));
                    if (a != null) {
                        int[] s = dev.nola.models.gpt2.Gpt2Adapters.shape(module, dims.width());
                        if (a.inFeatures() != s[0] || a.outFeatures() != s[1]) {
                            throw new IllegalArgumentException("adapter " + dev.nola.models.gpt2.Gpt2Adapters.name(i, module)
                                    + " is [" + a.inFeatures() + " -> " + a.outFeatures() + "]; this ViT's " + module
                                    + " is [" + s[0] + " -> " + s[1] + "]");
                        }
                        byLayer.get(i).put(module, a);
                    }
                }
            }
            if (!left.isEmpty()) {
                throw new IllegalArgumentException("adapters " + left.keySet() + " name no layer of this " + dims.layers()
                        + "-layer ViT");
            }
            VitModel.Dims kd = new VitModel.Dims(dims.image(), dims.patch(), dims.layers(), dims.heads(), dims.width(), k,
                    dims.eps());
            m = new VitModel(d, kd, w, false, byLayer::get);
            this.task = new VitTask(m, train, test, batch, seed, 0.1f);
            this.description = String.format("%s: %d classes, %,d training images%s, %,d test images",
                    data.path(), k, train.size(), shots > 0 ? " (" + shots + " per class)" : "", test.size());
        } catch (RuntimeException e) {
            if (m != null) {
                m.close();
            }
            if (h != null) {
                h.close();
                hb.close();
            }
            if (b != null) {
                b.close();
            }
            adapters.values().forEach(Adapter::close);
            throw e;
        }
        this.base = b;
        this.head = h;
        this.headBias = hb;
        this.model = m;
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
        Tensor w = head != null ? head : base.head();
        Tensor b = head != null ? headBias : base.headBias();
        SafeTensorsWriter out = new SafeTensorsWriter();
        out.f32("head.weight", w.shape(), device.read(w));
        out.f32("head.bias", b.shape(), device.read(b));
        AtomicFiles.write(file, out.toBytes(Map.of("format", "nola-vit-head-1")));
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
            headBias.close();
        }
        base.close();
        adapters.values().forEach(Adapter::close);
    }
}
