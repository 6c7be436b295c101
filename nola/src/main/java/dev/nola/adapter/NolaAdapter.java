package dev.nola.adapter;

import dev.nola.adapter.optim.Parameter;
import dev.nola.adapter.optim.ParameterSet;
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
 * α, β and their gradients are device tensors ({@link #parameterSet()}); mixing, gradients and
 * fake quantization all run on the device, so a training step moves no coefficient through the host.
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
    /** The raw coefficient gradients of one backward, before they are added to gradA / gradB. */
    private final Tensor stepA;
    private final Tensor stepB;
    /** The fake-quantized coefficients the factors are mixed from under QAT; null otherwise. */
    private final Tensor quantA;
    private final Tensor quantB;
    private final Tensor offset;
    private final Tensor basisA;
    private final Tensor basisB;
    private final ParameterSet parameters;

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
            stepA = own(device.allocate(k));
            stepB = own(device.allocate(l));
            boolean qat = config.quantizationAware();
            quantA = qat ? own(device.allocate(k)) : null;
            quantB = qat ? own(device.allocate(l)) : null;
            if (!offsetScheme) {
                device.linalg().fill(coefA, 1f / k);
                device.linalg().fill(coefB, 1f / l);
            }
            if (offsetStream != null) {
                offset = own(device.allocate(r, in));
                device.random().basis(offsetStream, 0, 1, offset);
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
                device.random().basis(streamA, 0, k, basisA);
                device.random().basis(streamB, 0, l, basisB);
            } else {
                basisA = null;
                basisB = null;
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        String name = "stream " + idA;
        parameters = new ParameterSet(device)
                .add(new Parameter(name + " alpha", coefA, gradA))
                .add(new Parameter(name + " beta", coefB, gradB));
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

    /** A copy of α [k] read from the device (float, before any quantization). */
    public float[] alpha() {
        open();
        return device.read(coefA);
    }

    /** A copy of β [l] read from the device (float, before any quantization). */
    public float[] beta() {
        open();
        return device.read(coefB);
    }

    /** Sets α [k] and β [l] (finite). */
    public void setCoefficients(float[] newAlpha, float[] newBeta) {
        int k = (int) coefA.size();
        int l = (int) coefB.size();
        Checks.notNull("alpha", newAlpha);
        Checks.notNull("beta", newBeta);
        if (newAlpha.length != k || newBeta.length != l) {
            throw new IllegalArgumentException("coefficients have lengths " + newAlpha.length + " and " + newBeta.length
                    + ", expected k=" + k + " and l=" + l);
        }
        float[] all = new float[k + l];
        System.arraycopy(newAlpha, 0, all, 0, k);
        System.arraycopy(newBeta, 0, all, k, l);
        setParameters(all);
    }

    @Override
    public ParameterSet parameterSet() {
        return parameters;
    }

    @Override
    protected void refreshFactors() {
        Tensor ca = coefA;
        Tensor cb = coefB;
        if (quantA != null) {
            device.optim().fakeQuantize(coefA, config.coefficientBits(), quantA);
            device.optim().fakeQuantize(coefB, config.coefficientBits(), quantB);
            ca = quantA;
            cb = quantB;
        }
        if (basisA != null) {
            device.nola().mix(ca, basisA, offset, a);
            device.nola().mix(cb, basisB, null, b);
        } else {
            device.nola().mixGenerated(ca, streamA, offset, a);
            device.nola().mixGenerated(cb, streamB, null, b);
        }
    }

    @Override
    protected void accumulateGradients(Tensor da, Tensor db) {
        if (basisA != null) {
            device.nola().coefficientGradient(basisA, da, stepA);
            device.nola().coefficientGradient(basisB, db, stepB);
        } else {
            device.nola().coefficientGradientGenerated(streamA, da, stepA);
            device.nola().coefficientGradientGenerated(streamB, db, stepB);
        }
        device.linalg().axpy(1f, stepA, gradA);
        device.linalg().axpy(1f, stepB, gradB);
    }
}
