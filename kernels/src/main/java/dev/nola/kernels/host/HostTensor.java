package dev.nola.kernels.host;

import dev.nola.kernels.AbstractTensor;
import dev.nola.kernels.LiveTensors;

/** A tensor in JVM heap memory, for the host backends ({@code reference}, {@code cpu}). */
public final class HostTensor extends AbstractTensor {

    private float[] data;

    HostTensor(HostDevice device, LiveTensors owner, int[] shape, int size) {
        super(device, owner, shape, size);
        this.data = new float[size];
    }

    /** The backing array; valid until the tensor is closed. Host kernels read and write it directly. */
    public float[] data() {
        requireOpen();
        return data;
    }

    @Override
    protected void release() {
        data = null;
    }
}
