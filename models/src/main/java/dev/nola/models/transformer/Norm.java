package dev.nola.models.transformer;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.models.spec.NormSpec;

/**
 * A norm on the device (LayerNorm or RMSNorm) with its weights and, when the base trains, their
 * gradients.
 */
record Norm(NormSpec spec, Tensor weight, Tensor bias, Tensor dweight, Tensor dbias) {

    static Norm of(NormSpec spec, DeviceWeights w, DeviceWeights grads) {
        return new Norm(spec, w.get(spec.weight()), spec.bias() == null ? null : w.get(spec.bias()),
                grads == null ? null : grads.get(spec.weight()),
                grads == null || spec.bias() == null ? null : grads.get(spec.bias()));
    }

    /** out [N, C] = norm(x); mean [N] (LayerNorm only) and rstd [N] kept for the backward pass. */
    void forward(Device d, Tensor x, Tensor out, Tensor mean, Tensor rstd) {
        switch (spec.kind()) {
            case LAYER_NORM -> d.nn().layerNormForward(x, weight, bias, spec.eps(), out, mean, rstd);
            case RMS_NORM -> d.nn().rmsNormForward(x, weight, spec.eps(), out, rstd);
        }
    }

    /** dx [N, C] += ∂/∂x of the norm's output gradient dout; weight gradients accumulated when training. */
    void backward(Device d, Tensor dout, Tensor x, Tensor mean, Tensor rstd, Tensor dx) {
        switch (spec.kind()) {
            case LAYER_NORM -> d.nn().layerNormBackward(dout, x, weight, mean, rstd, dx, dweight, dbias);
            case RMS_NORM -> d.nn().rmsNormBackward(dout, x, weight, rstd, dx, dweight);
        }
    }
}
