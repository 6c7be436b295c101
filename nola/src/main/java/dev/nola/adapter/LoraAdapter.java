package dev.nola.adapter;

import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/**
 * The LoRA baseline on one linear layer: A [r, in] and B [out, r] are trained directly
 * (parameters laid out as A row-major, then B row-major), {@code ΔW = (alpha/r)·B·A}.
 *
 * <p>Initialisation as in HF PEFT: A kaiming-uniform U(±1/√in), B = 0, so ΔW = 0 at step 0. A is drawn
 * from the Philox generator (matrix 0 of {@code seed}, {@code stream}, domain
 * {@link BasisStream#DOMAIN_OFFSET}, the same draw as a NOLA offset A₀ of that stream), so it is
 * reproducible on every backend.
 */
public final class LoraAdapter extends LowRankAdapter {

    private final float loraAlpha;
    private final float[] params;
    private final float[] grad;

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
        params = new float[(int) total];
        grad = new float[(int) total];
        try {
            ops.basis(new BasisStream(seed, stream, BasisStream.DOMAIN_OFFSET, (float) (1.0 / Math.sqrt(in))), 0, 1, a);
            device.read(a, 0, params, 0, rank * in);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
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
    public int parameterCount() {
        return params.length;
    }

    @Override
    public float[] parameters() {
        return params.clone();
    }

    @Override
    public void setParameters(float[] values) {
        open();
        checkParameters(values);
        System.arraycopy(values, 0, params, 0, params.length);
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
        int na = rank * in;
        device.write(a, 0, params, 0, na);
        device.write(b, 0, params, na, out * rank);
    }

    @Override
    protected void accumulateGradients(Tensor da, Tensor db) {
        Checks.notNull("da", da);
        float[] ga = device.read(da);
        float[] gb = device.read(db);
        for (int i = 0; i < ga.length; i++) {
            grad[i] += ga[i];
        }
        for (int j = 0; j < gb.length; j++) {
            grad[ga.length + j] += gb[j];
        }
    }
}
