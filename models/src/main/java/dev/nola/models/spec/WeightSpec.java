package dev.nola.models.spec;

import java.util.Arrays;

/**
 * One tensor of a model.
 *
 * @param name     its name in the checkpoint (Hugging Face's, without a prefix such as {@code transformer.})
 * @param shape    row-major extents, each ≥ 1
 * @param init     how a fresh model fills it
 * @param training when it trains: {@link Training#BASE} only when the base itself is trained
 *                 (pretraining), {@link Training#ALWAYS} in fine-tuning too (a new classification head)
 */
public record WeightSpec(String name, int[] shape, Init init, Training training) {

    /** When a weight trains. */
    public enum Training {
        /** A base weight: frozen in fine-tuning, trained in pretraining. */
        BASE,
        /** Trained whenever the model trains (the ViT's new head). */
        ALWAYS
    }

    public WeightSpec {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("weight name is empty; expected a tensor name");
        }
        shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException("weight " + name + " has shape " + Arrays.toString(shape)
                        + "; expected every extent ≥ 1");
            }
            n *= d;
        }
        if (shape.length == 0 || n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("weight " + name + " has shape " + Arrays.toString(shape)
                    + "; expected rank ≥ 1 and at most " + (Integer.MAX_VALUE - 8) + " elements (one Java array)");
        }
        if (init == null || training == null) {
            throw new IllegalArgumentException("weight " + name + " lacks its init or training rule");
        }
    }

    /** A base weight. */
    public static WeightSpec base(String name, Init init, int... shape) {
        return new WeightSpec(name, shape, init, Training.BASE);
    }

    /** The shape (a copy). */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** The number of elements. */
    public int elements() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WeightSpec w && w.name.equals(name) && Arrays.equals(w.shape, shape) && w.init.equals(init)
                && w.training == training;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
