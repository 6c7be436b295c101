package dev.nola.models.gpt2;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.transformer.BlockWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fresh GPT-2 weights as GPT-2 initialises them: linear and embedding weights N(0, 0.02) (the
 * residual projections c_proj scaled by 1/√(2L)), biases 0, layernorm weights 1. Seeded, so a run is
 * repeatable; used to pretrain the project's small bases and for benchmarks on random weights.
 */
public final class Gpt2Init {

    private Gpt2Init() {
    }

    /** New weights on the device (the caller closes them with {@link #close}). */
    public static Gpt2Model.Weights random(Device d, Gpt2Model.Dims dims, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int c = dims.width();
        double std = 0.02;
        double projStd = 0.02 / Math.sqrt(2.0 * dims.layers());
        Tensor wte = gaussian(d, r, std, dims.vocab(), c);
        Tensor wpe = gaussian(d, r, std * 0.5, dims.positions(), c);
        List<BlockWeights> blocks = new ArrayList<>();
        for (int i = 0; i < dims.layers(); i++) {
            blocks.add(new BlockWeights(ones(d, c), d.allocate(c), gaussian(d, r, std, c, 3 * c), d.allocate(3 * c),
                    gaussian(d, r, projStd, c, c), d.allocate(c), ones(d, c), d.allocate(c),
                    gaussian(d, r, std, c, 4 * c), d.allocate(4 * c), gaussian(d, r, projStd, 4 * c, c), d.allocate(c)));
        }
        return new Gpt2Model.Weights(wte, wpe, blocks, ones(d, c), d.allocate(c));
    }

    /** Closes every tensor of a set of weights. */
    public static void close(Gpt2Model.Weights w) {
        w.wte().close();
        w.wpe().close();
        w.blocks().forEach(BlockWeights::close);
        w.lnfWeight().close();
        w.lnfBias().close();
    }

    private static Tensor gaussian(Device d, SplittableRandom r, double std, int rows, int cols) {
        float[] v = new float[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < v.length; i += 2) {
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            double m = Math.sqrt(-2 * Math.log(u1)) * std;
            v[i] = (float) (m * Math.cos(2 * Math.PI * u2));
            if (i + 1 < v.length) {
                v[i + 1] = (float) (m * Math.sin(2 * Math.PI * u2));
            }
        }
        return d.upload(v, rows, cols);
    }

    private static Tensor ones(Device d, int n) {
        Tensor t = d.allocate(n);
        d.linalg().fill(t, 1f);
        return t;
    }
}
