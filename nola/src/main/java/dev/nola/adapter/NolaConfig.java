package dev.nola.adapter;

import java.util.List;

/**
 * The settings of a NOLA adapter set (see nola-spec.md §1 and design.md "nola: adapters").
 *
 * <p>Each adapted linear layer {@code W [out, in]} gets a low-rank update {@code ΔW = s·B·A} with
 * {@code A [r, in] = A₀ + Σ_{i<k} α_i·A_i} and {@code B [out, r] = Σ_{j<l} β_j·B_j}; the basis
 * matrices A_i, B_j are regenerated from {@link #seed} with the Philox generator, and only α [k] and
 * β [l] are trained.
 *
 * @param rank              r, the rank of the mixed factors, &gt; 0
 * @param basisA            k, the number of basis matrices (and coefficients) of A, &gt; 0
 * @param basisB            l, the number of basis matrices (and coefficients) of B, &gt; 0
 * @param alpha             the LoRA-style alpha; the scale is s = alpha / r under {@link InitScheme#OFFSET}.
 *                          Ignored by {@link InitScheme#PAPER}, whose scale is 1 / r. Finite, &gt; 0
 * @param init              the initialisation scheme
 * @param basisMode         whether bases are kept on the device or regenerated at every use
 * @param sharedBases       true: every layer uses the same bases (the layer part of the stream id is
 *                          0, as the GPT-2 reference code does); false: each layer has its own
 * @param seed              the 64-bit seed of every basis and offset
 * @param targetModules     names of the adapted modules (e.g. {@code ["q", "v"]}), non-empty, distinct
 * @param coefficientBits   32 for float coefficients, or 2..8 to quantize them per vector (max-abs)
 * @param quantizationAware when coefficientBits &lt; 32: whether the forward pass uses the quantized
 *                          coefficients during training (straight-through estimator); when false,
 *                          quantization happens only when the adapter is saved (post-training)
 */
public record NolaConfig(int rank, int basisA, int basisB, float alpha, InitScheme init, BasisMode basisMode,
                         boolean sharedBases, long seed, List<String> targetModules, int coefficientBits,
                         boolean quantizationAware) {

    /** Full-precision coefficients. */
    public static final int FLOAT_BITS = 32;
    /** The largest number of modules a stream id can name. */
    public static final int MAX_MODULES = StreamId.MAX_MODULE + 1;

    /** How the factors start (nola-spec.md §1.2 and §8). */
    public enum InitScheme {
        /**
         * The released ICLR scripts: a frozen offset A₀ = kaiming-uniform U(±1/√in) regenerated from
         * the seed, B₀ = 0, α = β = 0, bases U(−1, 1)/√k (A) and /√l (B), s = alpha / r. ΔW = 0 at step 0.
         */
        OFFSET,
        /**
         * The paper / v1 code: no offset, α = 1/k, β = 1/l, kaiming-uniform bases U(±1/√(rows·cols)),
         * s = 1 / r.
         */
        PAPER
    }

    /** Where bases live. */
    public enum BasisMode {
        /** Generated once, kept on the device ([k, r·in] and [l, out·r]); mixing is a GEMV. */
        MATERIALIZED,
        /** Regenerated inside the fused mix and gradient ops; memory O(r·(in + out)) per adapter. */
        ON_THE_FLY
    }

    public NolaConfig {
        if (rank <= 0) {
            throw new IllegalArgumentException("rank must be > 0, got " + rank);
        }
        if (basisA <= 0) {
            throw new IllegalArgumentException("basisA (k) must be > 0, got " + basisA);
        }
        if (basisB <= 0) {
            throw new IllegalArgumentException("basisB (l) must be > 0, got " + basisB);
        }
        if (!Float.isFinite(alpha) || alpha <= 0) {
            throw new IllegalArgumentException("alpha must be finite and > 0, got " + alpha);
        }
        if (init == null) {
            throw new IllegalArgumentException("init is null; expected OFFSET or PAPER");
        }
        if (basisMode == null) {
            throw new IllegalArgumentException("basisMode is null; expected MATERIALIZED or ON_THE_FLY");
        }
        if (targetModules == null || targetModules.isEmpty()) {
            throw new IllegalArgumentException("targetModules must name at least one module, got " + targetModules);
        }
        if (targetModules.size() > MAX_MODULES) {
            throw new IllegalArgumentException("targetModules has " + targetModules.size() + " names, at most "
                    + MAX_MODULES + " fit a stream id");
        }
        for (String m : targetModules) {
            if (m == null || m.isBlank()) {
                throw new IllegalArgumentException("targetModules contains an empty name: " + targetModules);
            }
        }
        if (targetModules.stream().distinct().count() != targetModules.size()) {
            throw new IllegalArgumentException("targetModules has duplicates: " + targetModules);
        }
        targetModules = List.copyOf(targetModules);
        if (coefficientBits != FLOAT_BITS && (coefficientBits < 2 || coefficientBits > 8)) {
            throw new IllegalArgumentException("coefficientBits must be 32 (float) or 2..8, got " + coefficientBits);
        }
        if (quantizationAware && coefficientBits == FLOAT_BITS) {
            throw new IllegalArgumentException("quantizationAware needs coefficientBits in 2..8, got " + coefficientBits);
        }
    }

    /**
     * The ICLR-script defaults: OFFSET init, on-the-fly bases shared across layers, float coefficients.
     */
    public static NolaConfig offset(int rank, int k, int l, float alpha, long seed, List<String> targetModules) {
        return new NolaConfig(rank, k, l, alpha, InitScheme.OFFSET, BasisMode.ON_THE_FLY, true, seed, targetModules,
                FLOAT_BITS, false);
    }

    /** The paper's scheme: PAPER init (alpha = 1, so s = 1/r), on-the-fly shared bases, float coefficients. */
    public static NolaConfig paper(int rank, int k, int l, long seed, List<String> targetModules) {
        return new NolaConfig(rank, k, l, 1f, InitScheme.PAPER, BasisMode.ON_THE_FLY, true, seed, targetModules,
                FLOAT_BITS, false);
    }

    /** The same settings with another basis mode. */
    public NolaConfig withBasisMode(BasisMode mode) {
        return new NolaConfig(rank, basisA, basisB, alpha, init, mode, sharedBases, seed, targetModules,
                coefficientBits, quantizationAware);
    }

    /** The same settings with other coefficient quantization. */
    public NolaConfig withQuantization(int bits, boolean aware) {
        return new NolaConfig(rank, basisA, basisB, alpha, init, basisMode, sharedBases, seed, targetModules, bits, aware);
    }

    /** The same settings with bases shared across layers or not. */
    public NolaConfig withSharedBases(boolean shared) {
        return new NolaConfig(rank, basisA, basisB, alpha, init, basisMode, shared, seed, targetModules,
                coefficientBits, quantizationAware);
    }

    /** s: alpha / r under OFFSET, 1 / r under PAPER. */
    public float scale() {
        return init == InitScheme.OFFSET ? alpha / rank : 1f / rank;
    }

    /** Trainable numbers per adapted layer: k + l. */
    public int parametersPerLayer() {
        return basisA + basisB;
    }

    /** The index of a target module in {@link #targetModules}, or an exception naming the known ones. */
    public int moduleIndex(String module) {
        int i = targetModules.indexOf(module);
        if (i < 0) {
            throw new IllegalArgumentException("module '" + module + "' is not a target module; targets are " + targetModules);
        }
        return i;
    }
}
