package dev.nola.models.vit;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.transformer.BlockWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Fresh ViT weights: projections N(0, 0.02), layernorm gains 1, biases 0, a new head N(0, 0.02). Seeded. */
public final class VitInit {

    private VitInit() {
    }

    /** New weights on the device (the caller closes them with {@link VitModel.Weights#close}). */
    public static VitModel.Weights random(Device d, VitModel.Dims dims, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int c = dims.width();
        List<BlockWeights> blocks = new ArrayList<>();
        for (int i = 0; i < dims.layers(); i++) {
            blocks.add(new BlockWeights(ones(d, c), d.allocate(c), gaussian(d, r, 0.02, c, 3 * c), d.allocate(3 * c),
                    gaussian(d, r, 0.02, c, c), d.allocate(c), ones(d, c), d.allocate(c),
                    gaussian(d, r, 0.02, c, 4 * c), d.allocate(4 * c), gaussian(d, r, 0.02, 4 * c, c), d.allocate(c)));
        }
        return new VitModel.Weights(gaussian(d, r, 0.02, dims.patchSize(), c), gaussian(d, r, 0.02, 2, c),
                gaussian(d, r, 0.02, dims.tokens(), c), blocks, ones(d, c), d.allocate(c),
                gaussian(d, r, 0.02, c, dims.classes()), d.allocate(dims.classes()));
    }

    /** A new head of {@code classes} outputs for the same base (the few-shot task replaces the head). */
    public static VitModel.Weights withNewHead(Device d, VitModel.Weights base, int classes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int c = base.lnfWeight().dim(0);
        return new VitModel.Weights(base.patchWeight(), base.tokenTable(), base.positions(), base.blocks(),
                base.lnfWeight(), base.lnfBias(), gaussian(d, r, 0.02, c, classes), d.allocate(classes));
    }

    static Tensor gaussian(Device d, SplittableRandom r, double std, int rows, int cols) {
        float[] v = new float[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < v.length; i++) {
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            v[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2) * std);
        }
        return d.upload(v, rows, cols);
    }

    private static Tensor ones(Device d, int n) {
        Tensor t = d.allocate(n);
        d.linalg().fill(t, 1f);
        return t;
    }
}
