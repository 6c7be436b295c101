package dev.nola.adapter;

import dev.nola.kernels.AdapterOps;
import dev.nola.kernels.Availability;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.LinalgOps;
import dev.nola.kernels.NnOps;
import dev.nola.kernels.NolaOps;
import dev.nola.kernels.OpFamily;
import dev.nola.kernels.OptimOps;
import dev.nola.kernels.RandomOps;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A device decorator that records the shape of every allocation and counts the bytes moved between
 * host and device ({@link #write} and {@link #read}; device-side copies and ops are not transfers).
 */
final class CountingDevice implements Device {

    final Device inner;
    final List<int[]> allocations = new ArrayList<>();
    long bytesToDevice;
    long bytesToHost;
    long transfers;

    CountingDevice(Device inner) {
        this.inner = inner;
    }

    long largestAllocation() {
        long max = 0;
        for (int[] s : allocations) {
            long n = 1;
            for (int d : s) {
                n *= d;
            }
            max = Math.max(max, n);
        }
        return max;
    }

    /** Forgets the transfers counted so far. */
    void resetTransfers() {
        bytesToDevice = 0;
        bytesToHost = 0;
        transfers = 0;
    }

    @Override public DeviceInfo info() { return inner.info(); }
    @Override public Tensor allocate(DType dtype, int... shape) { allocations.add(shape.clone()); return inner.allocate(dtype, shape); }
    @Override public Tensor view(Tensor parent, long offset, int... shape) { return inner.view(parent, offset, shape); }
    @Override public void write(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        bytesToDevice += 4L * length;
        transfers++;
        inner.write(dst, dstOffset, src, srcOffset, length);
    }
    @Override public void write(Tensor dst, long dstOffset, int[] src, int srcOffset, int length) {
        bytesToDevice += 4L * length;
        transfers++;
        inner.write(dst, dstOffset, src, srcOffset, length);
    }
    @Override public void read(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        bytesToHost += 4L * length;
        transfers++;
        inner.read(src, srcOffset, dst, dstOffset, length);
    }
    @Override public void read(Tensor src, long srcOffset, int[] dst, int dstOffset, int length) {
        bytesToHost += 4L * length;
        transfers++;
        inner.read(src, srcOffset, dst, dstOffset, length);
    }
    @Override public void copy(Tensor src, Tensor dst) { inner.copy(src, dst); }
    @Override public Availability supports(OpFamily family) { return inner.supports(family); }
    @Override public RandomOps random() { return inner.random(); }
    @Override public NolaOps nola() { return inner.nola(); }
    @Override public LinalgOps linalg() { return inner.linalg(); }
    @Override public AdapterOps adapter() { return inner.adapter(); }
    @Override public NnOps nn() { return inner.nn(); }
    @Override public OptimOps optim() { return inner.optim(); }
    @Override public void synchronize() { inner.synchronize(); }
    @Override public void capture(Runnable work) { inner.capture(work); }
    @Override public boolean isClosed() { return inner.isClosed(); }
    @Override public void close() { inner.close(); }
}
