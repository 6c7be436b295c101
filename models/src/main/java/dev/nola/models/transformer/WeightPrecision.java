package dev.nola.models.transformer;

import dev.nola.kernels.DType;
import dev.nola.models.spec.BlockSpec;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.spec.LinearSpec;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.spec.WeightTable;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * How a causal LM's frozen base weights are held on the device ({@code --weights}): {@link #F32}, or
 * {@link #BF16} — the weight matrices of every linear layer, the token embedding and the output head
 * stored as bfloat16 (half the memory and the bandwidth), read only where the op contract accepts it
 * (matmul's B, which the forward and the input gradient both use, and the embedding gather), with
 * float32 sums. Norm gains, biases and learned positions are small and stay float32, as does every
 * weight that trains ({@link WeightSpec.Training#ALWAYS}, or all of them when the base trains).
 */
public enum WeightPrecision {
    /** Every weight float32. */
    F32,
    /** The frozen matrices bfloat16, the rest float32. */
    BF16;

    /** The option's value, lower case: {@code f32}, {@code bf16}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The precision a command-line value names ({@code f32} or {@code bf16}, any case).
     *
     * @param option the option's name, for the message ({@code --weights})
     * @throws IllegalArgumentException naming the option, the value and what is expected
     */
    public static WeightPrecision parse(String option, String value) {
        if (value != null) {
            for (WeightPrecision p : values()) {
                if (p.label().equalsIgnoreCase(value.strip())) {
                    return p;
                }
            }
        }
        throw new IllegalArgumentException(option + " is '" + value + "'; expected f32 or bf16");
    }

    /**
     * The tensors of a causal LM held as bfloat16 under this precision (none for F32): the frozen
     * weight matrices of the blocks' linear layers, the token embedding and the untied head.
     *
     * @param trainBase whether the base trains (pretraining): then nothing is bfloat16, since an
     *                  optimizer updates those weights in float32
     */
    public Set<String> halfWeights(CausalLmSpec spec, boolean trainBase) {
        Set<String> out = new LinkedHashSet<>();
        if (this == F32 || trainBase) {
            return out;
        }
        WeightTable table = spec.model().weights();
        for (BlockSpec b : spec.model().blocks()) {
            for (LinearSpec l : b.linears()) {
                out.add(l.weight());
            }
        }
        out.add(spec.tokenEmbedding());
        out.add(spec.headWeight());
        out.removeIf(name -> table.get(name).training() != WeightSpec.Training.BASE);
        return out;
    }

    /** The bytes a table's tensors take on the device with these names held as bfloat16. */
    public static long deviceBytes(WeightTable table, Set<String> half) {
        long n = 0;
        for (WeightSpec w : table.list()) {
            n += (long) w.elements() * (half.contains(w.name()) ? DType.BF16.bytes() : DType.FLOAT32.bytes());
        }
        return n;
    }

    /** The dtype of one tensor under a set of bfloat16 names. */
    static DType dtypeOf(String name, Set<String> half) {
        return half.contains(name) ? DType.BF16 : DType.FLOAT32;
    }
}
