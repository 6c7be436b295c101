package dev.nola.kernels.reference;

import dev.nola.kernels.AbstractAdapterOps;
import dev.nola.kernels.Device;

/** The oracle of the adapter family: the default composition of reference matmuls. */
public final class ReferenceAdapterOps extends AbstractAdapterOps {

    public ReferenceAdapterOps(Device device) {
        super(device);
    }
}
