package dev.nola.kernels.reference;

import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.floats;

import dev.nola.kernels.AbstractNolaOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/** The oracle of the nola family: scalar loops, gradients accumulated in double. */
public final class ReferenceNolaOps extends AbstractNolaOps {

    public ReferenceNolaOps(Device device) {
        super(device);
    }

    /** Element e of matrix i of a materialised basis, or of the stream when basis is null. */
    private interface Basis {
        float at(int i, long e);
    }

    private static void mix(Tensor coefficients, Basis basis, Tensor offset, Tensor out, int k, long n) {
        float[] c = floats(coefficients);
        int c0 = at(coefficients);
        float[] off = offset == null ? null : floats(offset);
        int off0 = offset == null ? 0 : at(offset);
        float[] o = floats(out);
        int o0 = at(out);
        for (int e = 0; e < n; e++) {
            float acc = off == null ? 0f : off[off0 + e];
            for (int i = 0; i < k; i++) {
                acc = Math.fma(c[c0 + i], basis.at(i, e), acc);
            }
            o[o0 + e] = acc;
        }
    }

    private static void gradient(Basis basis, Tensor grad, Tensor out, int k, long n) {
        float[] g = floats(grad);
        int g0 = at(grad);
        float[] o = floats(out);
        int o0 = at(out);
        for (int i = 0; i < k; i++) {
            double acc = 0;
            for (int e = 0; e < n; e++) {
                acc += (double) basis.at(i, e) * g[g0 + e];
            }
            o[o0 + i] = (float) acc;
        }
    }

    private static Basis materialised(Tensor basis, long n) {
        float[] b = floats(basis);
        int b0 = at(basis);
        return (i, e) -> b[(int) (b0 + i * n + e)];
    }

    @Override
    protected void doMix(Tensor coefficients, Tensor basis, Tensor offset, Tensor out, int k, long n) {
        mix(coefficients, materialised(basis, n), offset, out, k, n);
    }

    @Override
    protected void doMixGenerated(Tensor coefficients, BasisStream s, Tensor offset, Tensor out, int k, long n) {
        mix(coefficients, s::element, offset, out, k, n);
    }

    @Override
    protected void doCoefficientGradient(Tensor basis, Tensor grad, Tensor out, int k, long n) {
        gradient(materialised(basis, n), grad, out, k, n);
    }

    @Override
    protected void doCoefficientGradientGenerated(BasisStream s, Tensor grad, Tensor out, int k, long n) {
        gradient(s::element, grad, out, k, n);
    }
}
