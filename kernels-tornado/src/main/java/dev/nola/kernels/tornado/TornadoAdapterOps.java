package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractAdapterOps;

/**
 * The adapter family on a TornadoVM device: the default composition of the device's matmuls
 * ({@link TornadoLinalgOps}), on views at any offset. No fused adapter kernels yet.
 */
final class TornadoAdapterOps extends AbstractAdapterOps {

    TornadoAdapterOps(TornadoVmDevice device) {
        super(device);
    }
}
