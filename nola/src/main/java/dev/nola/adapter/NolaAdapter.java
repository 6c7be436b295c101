package dev.nola.adapter;

import dev.nola.adapter.quant.CoefficientQuantizer;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * A NOLA adapter on one linear layer: {@code A [r, in] = A₀ + Σ_{i<k} α_i·A_i},
 * {@code B [out, r] = Σ_{j<l} β_j·B_j}, {@code ΔW = s·B·A}; only α [k] and β [l] are trained
 * (parameters are laid out as α then β). The bases are Philox streams ({@link #streamA()},
 * {@link #streamB()}): MATERIALIZED keeps them on the device as [k, r·in] and [l, out·r];
 * ON_THE_FLY regenerates them inside the fused mix and gradient ops and never allocates them.
 *
 * <p>Scales (design notes, nola-spec.md §1.2): OFFSET bases are U(−1,1)/√k and U(−1,1)/√l with the
 * frozen offset A₀ = U(±1/√in) (domain {@link BasisStream#DOMAIN_OFFSET}, the A stream id), s =
 * alpha/r; PAPER bases are U(±1/√(r·in)) and U(±1/√(out·r)), no offset, s = 1/r.
 *
 * <p>Coefficient gradients are {@code ∂L/∂α_i = ⟨∂L/∂A, A_i⟩} and {@code ∂L/∂β_j = ⟨∂L/∂B, B_j⟩}.
 * Under quantization-aware training the factors are mixed from the fake-quantized coefficients and
 * the gradient passes straight through to the float ones.
 */
public final class NolaAdapter extends LowRankAdapter {

    private final NolaConfig config;
    private final StreamId idA;
    private final StreamId idB;
    private final BasisStream streamA;
    private final BasisStream streamB;
    private final BasisStream offsetStream;
    private final Tensor coefA;
    private final Tensor coefB;
    private final Tensor gradA;
    private final Tensor gradB;
    private final Tensor offset;
    private final Tensor basisA;
    private final Tensor basisB;
    private final float[] alpha;
    private final float[] beta;
    private final float[] grad;

    /**
     * An adapter whose streams are assigned by {@link StreamId#of} from its layer and module.
     *
     * @param layer  the layer index, ≥ 0
     * @param module the target module's name (one of {@link NolaConfig#targetModules()})
     */
    public static NolaAdapter create(Device device, NolaConfig config, int in, int out, int layer, String module) {
        return create(device, config, in, out, layer, module, null);
    }

    /**
     * As {@link #create(Device, NolaConfig, int, int, int, String)}, taking MATERIALIZED bases from a
     * {@link BasisBank} so adapters with the same streams (bases shared across layers) share one copy.
     *
     * @param bank the bank of the same device, or null for bases owned by this adapter alone
     */
    public static NolaAdapter create(Device device, NolaConfig config, int in, int out, int layer, String module,
                                     BasisBank bank) {
        Checks.notNull("config", config);
        int m = config.moduleIndex(module);
        return new NolaAdapter(device, config, in, out,
                StreamId.of(layer, config.sharedBases(), m, StreamId.FACTOR_A),
                StreamId.of(layer, config.sharedBases(), m, StreamId.FACTOR_B), bank);
    }

    /**
     * An adapter with explicit stream ids (as recorded in an adapter file), coefficients at the
     * scheme's initial values.
     */
    public NolaAdapter(Device device, NolaConfig config, int in, int out, StreamId idA, StreamId idB) {
        this(device, config, in, out, idA, idB, null);
    }

    /**
     * An adapter with explicit stream ids whose MATERIALIZED bases come from {@code bank} (shared with
     * every adapter of the same streams), or are its own when {@code bank} is null.
     */
    public NolaAdapter(Device device, NolaConfig config, int in, int out, StreamId idA, StreamId idB, BasisBank bank) {
        super(device, in, out, Checks.notNull("config", config).rank(), config.scale());
        this.config = config;
        this.idA = Checks.notNull("idA", idA);
        this.idB = Checks.notNull("idB", idB);
        int r = config.rank();
        int k = config.basisA();
        int l = config.basisB();
        long nA = (long) r * in;
        long nB = (long) out * r;
        if (nA > Integer.MAX_VALUE - 8 || nB > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("factor of " + Math.max(nA, nB) + " elements is too large (r=" + r
                    + ", in=" + in + ", out=" + out + ")");
        }
        boolean offsetScheme = config.init() == NolaConfig.InitScheme.OFFSET;
        float scaleA = offsetScheme ? invSqrt(k) : invSqrt(nA);
        float scaleB = offsetScheme ? invSqrt(l) : invSqrt(nB);
        this.streamA = new BasisStream(config.seed(), idA.packed(), BasisStream.DOMAIN_BASIS, scaleA);
        this.streamB = new BasisStream(config.seed(), idB.packed(), BasisStream.DOMAIN_BASIS, scaleB);
        this.offsetStream = offsetScheme
                ? new BasisStream(config.seed(), idA.packed(), BasisStream.DOMAIN_OFFSET, invSqrt(in)) : null;
        try {
            coefA = own(device.allocate(k));
            coefB = own(device.allocate(l));
            gradA = own(device.allocate(k));
            gradB = own(device.allocate(l));
            if (offsetStream != null) {
                offset = own(device.allocate(r, in));
                ops.basis(offsetStream, 0, 1, offset);
            } else {
                offset = null;
            }
            if (config.basisMode() == NolaConfig.BasisMode.MATERIALIZED && bank != null) {
                if (bank.device() != device) {
                    throw new IllegalArgumentException("bank belongs to device " + bank.device().id()
                            + ", expected device " + device.id());
                }
                Tensor ta = bank.acquire(streamA, k, (int) nA);
                onClose(() -> bank.release(ta));
                Tensor tb = bank.acquire(streamB, l, (int) nB);
                onClose(() -> bank.release(tb));
                basisA = ta;
                basisB = tb;
            } else if (config.basisMode() == NolaConfig.BasisMode.MATERIALIZED) {
                basisA = own(device.allocate(k, (int) nA));
                basisB = own(device.allocate(l, (int) nB));
                ops.basis(streamA, 0, k, basisA);
                ops.basis(streamB, 0, l, basisB);
            } else {
                basisA = null;
                basisB = null;
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        alpha = new float[k];
        beta = new float[l];
        if (!offsetScheme) {
            java.util.Arrays.fill(alpha, 1f / k);
            java.util.Arrays.fill(beta, 1f / l);
        }
        grad = new float[k + l];
    }

    private static float invSqrt(long n) {
        return (float) (1.0 / Math.sqrt(n));
    }

    /** The settings. */
    public NolaConfig config() {
        return config;
    }

    /** The stream id of A's bases (and of the offset A₀). */
    public StreamId streamIdA() {
        return idA;
    }

    /** The stream id of B's bases. */
    public StreamId streamIdB() {
        return idB;
    }

    /** The seeded stream of A's basis matrices (with their scale). */
    public BasisStream streamA() {
        return streamA;
    }

    /** The seeded stream of B's basis matrices (with their scale). */
    public BasisStream streamB() {
        return streamB;
    }

    /** The stream of the frozen offset A₀ (matrix 0), or null under PAPER. */
    public BasisStream offsetStream() {
        return offsetStream;
    }

    /** A copy of α [k] (float, before any quantization). */
    public float[] alpha() {
        return alpha.clone();
    }

    /** A copy of β [l] (float, before any quantization). */
    public float[] beta() {
        return beta.clone();
    }

    /** Sets α [k] and β [l] (finite). */
    public void setCoefficients(float[] newAlpha, float[] newBeta) {
        float[] all = new float[alpha.length + beta.length];
        Checks.notNull("alpha", newAlpha);
        Checks.notNull("beta", newBeta);
        if (newAlpha.length != alpha.length || newBeta.length != beta.length) {
            throw new IllegalArgumentException("coefficients have lengths " + newAlpha.length + " and " + newBeta.length
                    + ", expected k=" + alpha.length + " and l=" + beta.length);
        }
        System.arraycopy(newAlpha, 0, all, 0, alpha.length);
        System.arraycopy(newBeta, 0, all, alpha.length, beta.length);
        setParameters(all);
    }

    @Override
    public int parameterCount() {
        return alpha.length + beta.length;
    }

    @Override
    public float[] parameters() {
        float[] p = new float[parameterCount()];
        System.arraycopy(alpha, 0, p, 0, alpha.length);
        System.arraycopy(beta, 0, p, alpha.length, beta.length);
        return p;
    }

    @Override
    public void setParameters(float[] values) {
        open();
        checkParameters(values);
        System.arraycopy(values, 0, alpha, 0, alpha.length);
        System.arraycopy(values, alpha.length, beta, 0, beta.length);
        invalidate();
    }

    @Override
    public float[] gradients() {
        return grad.clone();
    }

    @Override
    public void zeroGradients() {
        java.util.Arrays.fill(grad, 0f);
    }

    @Override
    protected void refreshFactors() {
        boolean qat = config.quantizationAware();
        device.write(coefA, qat ? CoefficientQuantizer.fakeQuantize(alpha, config.coefficientBits()) : alpha);
        device.write(coefB, qat ? CoefficientQuantizer.fakeQuantize(beta, config.coefficientBits()) : beta);
        if (basisA != null) {
            ops.mix(coefA, basisA, offset, a);
            ops.mix(coefB, basisB, null, b);
        } else {
            ops.mixGenerated(coefA, streamA, offset, a);
            ops.mixGenerated(coefB, streamB, null, b);
        }
    }

    @Override
    protected void accumulateGradients(Tensor da, Tensor db) {
        if (basisA != null) {
            ops.coefficientGradient(basisA, da, gradA);
            ops.coefficientGradient(basisB, db, gradB);
        } else {
            ops.coefficientGradientGenerated(streamA, da, gradA);
            ops.coefficientGradientGenerated(streamB, db, gradB);
        }
        float[] ga = device.read(gradA);
        float[] gb = device.read(gradB);
        for (int i = 0; i < ga.length; i++) {
            grad[i] += ga[i];
        }
        for (int j = 0; j < gb.length; j++) {
            grad[ga.length + j] += gb[j];
        }
    }
}
