package dev.nola.kernels.host;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/** A tensor in JVM heap memory, for the host backends ({@code reference}, {@code cpu}). */
public final class HostTensor implements Tensor {

    private final HostDevice device;
    private final int[] shape;
    private float[] data;

    HostTensor(HostDevice device, int[] shape, int size) {
        this.device = device;
        this.shape = shape.clone();
        this.data = new float[size];
    }

    /** The backing array; valid until the tensor is closed. Host kernels read and write it directly. */
    public float[] data() {
        float[] d = data;
        if (d == null) {
            throw new IllegalStateException("tensor is closed");
        }
        return d;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public int rank() {
        return shape.length;
    }

    @Override
    public int dim(int i) {
        return shape[i];
    }

    @Override
    public long size() {
        float[] d = data;
        if (d != null) {
            return d.length;
        }
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        return n;
    }

    @Override
    public boolean isClosed() {
        return data == null;
    }

    @Override
    public void close() {
        if (data != null) {
            data = null;
            device.forget(this);
        }
    }
}
