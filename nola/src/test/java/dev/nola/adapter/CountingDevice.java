package dev.nola.adapter;

import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.Ops;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;

/** A device decorator that records the shape of every allocation. */
final class CountingDevice implements Device {

    final Device inner;
    final List<int[]> allocations = new ArrayList<>();

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

    @Override public DeviceInfo info() { return inner.info(); }
    @Override public Tensor allocate(int... shape) { allocations.add(shape.clone()); return inner.allocate(shape); }
    @Override public void write(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) { inner.write(dst, dstOffset, src, srcOffset, length); }
    @Override public void read(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) { inner.read(src, srcOffset, dst, dstOffset, length); }
    @Override public void copy(Tensor src, Tensor dst) { inner.copy(src, dst); }
    @Override public Ops ops() { return inner.ops(); }
    @Override public void synchronize() { inner.synchronize(); }
    @Override public boolean isClosed() { return inner.isClosed(); }
    @Override public void close() { inner.close(); }
}
