package dev.nola.kernels;

import java.util.Arrays;

/**
 * An allocation that the device's memory limit ({@code device.memory} / {@code NOLA_DEVICE_MEMORY}, see
 * {@code RuntimeSettings}) does not allow: one line naming the device, the tensor (its shape and type, and
 * its name once a caller that knows it adds it with {@link #named}), the bytes it needs and what is in use.
 * Thrown before anything is allocated, so the device and everything on it stay usable.
 */
public final class DeviceMemoryExhausted extends IllegalStateException {

    private final String device;
    private final String tensor;
    private final long bytes;
    private final long inUse;
    private final long limit;

    public DeviceMemoryExhausted(String device, String tensor, long bytes, long inUse, long limit) {
        super(message(device, tensor, bytes, inUse, limit));
        this.device = device;
        this.tensor = tensor;
        this.bytes = bytes;
        this.inUse = inUse;
        this.limit = limit;
    }

    static DeviceMemoryExhausted of(String device, DType dtype, int[] shape, long bytes, long inUse, long limit) {
        return new DeviceMemoryExhausted(device, Arrays.toString(shape) + " " + dtype.name().toLowerCase(), bytes, inUse, limit);
    }

    /** The same refusal with the tensor's name (a weight, an optimizer state) in front of its shape. */
    public DeviceMemoryExhausted named(String name) {
        DeviceMemoryExhausted e = new DeviceMemoryExhausted(device, "'" + name + "' " + tensor, bytes, inUse, limit);
        e.initCause(this);
        return e;
    }

    /** The bytes the refused tensor needs. */
    public long bytes() {
        return bytes;
    }

    private static String message(String device, String tensor, long bytes, long inUse, long limit) {
        return "device " + device + ": tensor " + tensor + " needs " + bytes + " bytes, but " + inUse + " of its " + limit
                + " bytes (the device.memory limit, NOLA_DEVICE_MEMORY) are in use; " + (inUse + bytes)
                + " bytes would be needed: raise the limit or use a smaller model, batch or rank";
    }
}
