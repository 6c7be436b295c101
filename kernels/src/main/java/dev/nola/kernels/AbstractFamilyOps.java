package dev.nola.kernels;

/**
 * The base of every family's checking layer ({@code Abstract…Ops}): the device whose tensors the ops
 * accept and the closed-device check. Each family's checking class validates every argument (sizes,
 * shapes, element types, finiteness, overlap, device ownership, closed state) before it calls the
 * backend's {@code do…} kernel, so bad input fails identically on every backend and no kernel sees an
 * index it could overrun. Kernels receive tensors that may be views: they address
 * {@code t.storage()} from element {@code t.offset()}.
 */
public abstract class AbstractFamilyOps {

    /** The device whose tensors these ops accept. */
    protected final Device device;

    protected AbstractFamilyOps(Device device) {
        this.device = Checks.notNull("device", device);
    }

    /** Throws {@link IllegalStateException} when the device is closed. */
    protected final void open() {
        if (device.isClosed()) {
            throw new IllegalStateException("device " + device.id() + " is closed");
        }
    }

    /** {@link Checks#on}: an open float32 tensor of this device. */
    protected final Tensor on(String name, Tensor t) {
        return Checks.on(device, name, t);
    }
}
