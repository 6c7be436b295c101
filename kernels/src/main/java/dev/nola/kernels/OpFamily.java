package dev.nola.kernels;

/**
 * The op families of the contract, each an interface reached from the {@link Device}. A backend may
 * lack a family; it then says why ({@link Device#supports}), and the contract suite reports that
 * family as skipped with the reason.
 */
public enum OpFamily {
    /** {@link RandomOps}: the seeded Philox basis. */
    RANDOM(RandomOps.class),
    /** {@link NolaOps}: mixing and coefficient gradients, materialised or fused with generation. */
    NOLA(NolaOps.class),
    /** {@link LinalgOps}: matmul, strided batched matmul, axpy, scale, fill. */
    LINALG(LinalgOps.class),
    /** {@link AdapterOps}: the LoRA-style forward and backward of a low-rank update. */
    ADAPTER(AdapterOps.class),
    /** {@link NnOps}: the transformer ops, forward and backward. */
    NN(NnOps.class),
    /** {@link OptimOps}: AdamW, gradient norm and clipping, coefficient fake quantization. */
    OPTIM(OptimOps.class);

    private final Class<?> type;

    OpFamily(Class<?> type) {
        this.type = type;
    }

    /** The family's interface. */
    public Class<?> type() {
        return type;
    }

    /** The lower-case name used in messages and in the contract log ({@code random}, {@code nola}, …). */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
