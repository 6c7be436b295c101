package dev.nola.kernels.opencl;

import dev.nola.kernels.AbstractAdapterOps;

/** The adapter family on OpenCL: the default composition of this device's matmuls. */
final class OpenClAdapterOps extends AbstractAdapterOps {

    OpenClAdapterOps(OpenClDevice device) {
        super(device);
    }
}
