package dev.nola.adapter;

import dev.nola.adapter.optim.Parameter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * The LoRA baseline on one linear layer: A [r, in] and B [out, r] are trained directly
 * (parameters laid out as A row-major, then B row-major; both and their gradients on the device),
 * {@code ΔW = (alpha/r)·B·A}.
 *
 * <p>Initialisation as in HF PEFT: A kaiming-uniform U(±1/√in), B = 0, so ΔW = 0 at step 0. A is drawn
 * from the Philox generator (matrix 0 of {@code seed}, {@code stream}, domain
 * {@link BasisStream#DOMAIN_OFFSET}, the same draw as a NOLA offset A₀ of that stream), so it is
 * reproducible on every backend.
 */
public final class LoraAdapter extends LowRankAdapter {

    private final float loraAlpha;
    private final Tensor gradA;
    private final Tensor gradB;
    private final ParameterSet parameters;

    /**
     * @param rank      r, &gt; 0
     * @param loraAlpha alpha, finite and &gt; 0; s = alpha / r
     * @param seed      the seed of A's initialisation
     * @param stream    the stream id of A's initialisation (e.g. {@link StreamId#packed()})
     */
    public LoraAdapter(Device device, int in, int out, int rank, float loraAlpha, long seed, int stream) {
        super(device, in, out, rank, checkAlpha(loraAlpha) / rank);
        this.loraAlpha = loraAlpha;
        long total = (long) rank * in + (long) out * rank;
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("LoRA with r=" + rank + ", in=" + in + ", out=" + out
                    + " has " + total + " parameters, more than a Java array holds");
        }
        try {
            gradA = own(device.allocate(rank, in));
            gradB = own(device.allocate(out, rank));
            device.random().basis(new BasisStream(seed, stream, BasisStream.DOMAIN_OFFSET, (float) (1.0 / Math.sqrt(in))),
                    0, 1, a);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        parameters = new ParameterSet(device)
                .add(new Parameter("lora_A", a, gradA))
                .add(new Parameter("lora_B", b, gradB));
    }

    private static float checkAlpha(float loraAlpha) {
        if (!Float.isFinite(loraAlpha) || loraAlpha <= 0) {
            throw new IllegalArgumentException("loraAlpha must be finite and > 0, got " + loraAlpha);
        }
        return loraAlpha;
    }

    /** The LoRA alpha (s = alpha / r). */
    public float loraAlpha() {
        return loraAlpha;
    }

    @Override
    public ParameterSet parameterSet() {
        return parameters;
    }

    /** The factors are the parameters themselves: nothing to compute. */
    @Override
    protected void refreshFactors() {
    }

    @Override
    protected void accumulateGradients(Tensor da, Tensor db) {
        device.linalg().axpy(1f, da, gradA);
        device.linalg().axpy(1f, db, gradB);
    }
}
