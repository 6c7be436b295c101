package dev.nola.kernels.contract;

import static dev.nola.kernels.contract.Asserts.assertBits;
import static dev.nola.kernels.contract.Asserts.expect;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.OpFamily;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.TransferCounts;
import dev.nola.kernels.contract.Contract.Check;
import java.util.List;
import java.util.function.Function;

/**
 * What every device does with memory, whatever families it runs: int32 tensors, views (write, read,
 * view of a view, reshape), {@link Device#copy} between views, rejection of overlapping copies and
 * bad ranges, and the closed state. Every oracle is host arithmetic, so these run on the reference
 * too.
 */
final class DeviceContract {

    private DeviceContract() {
    }

    static List<Check> checks() {
        return List.of(
                new Check("int32 tensors: upload, read, write, copy", true, DeviceContract::int32),
                HalfWeightsContract.storage(),
                new Check("views: write, read, view of a view, reshape", true, DeviceContract::views),
                new Check("copy between views, tensors and dtypes", true, DeviceContract::copy),
                new Check("bad ranges, shapes and overlapping copies are rejected", true, DeviceContract::badInput),
                new Check("families reported by supports() are reachable, others say why", true, DeviceContract::families),
                new Check("memory and transfer counters follow allocations, writes and reads", true, DeviceContract::counters),
                new Check("closed device, tensors and views are rejected", true, DeviceContract::closed));
    }

    static void int32(Device ref, Device dev) {
        int[] data = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 42, 0x7fc0_0001, -123456789};
        try (Tensor t = dev.upload(data, 2, 4); Tensor z = dev.allocate(DType.INT32, 3, 3);
             Tensor u = dev.allocate(DType.INT32, 8)) {
            assertEquals(DType.INT32, t.dtype());
            assertArrayEquals(new int[] {2, 4}, t.shape());
            // ints are not floats: a NaN bit pattern and the extremes come back exactly
            assertArrayEquals(data, dev.readInts(t));
            assertArrayEquals(new int[9], dev.readInts(z), "allocate zero-fills int32 tensors");
            dev.write(u, 3, new int[] {7, 8, 9, 10}, 1, 2);
            assertArrayEquals(new int[] {0, 0, 0, 8, 9, 0, 0, 0}, dev.readInts(u));
            int[] part = new int[5];
            dev.read(t, 2, part, 1, 3);
            assertArrayEquals(new int[] {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0}, part);
            dev.copy(t, u);
            assertArrayEquals(data, dev.readInts(u));
            try (Tensor v = t.view(5, 3)) {
                assertEquals(DType.INT32, v.dtype());
                assertArrayEquals(new int[] {42, 0x7fc0_0001, -123456789}, dev.readInts(v));
            }
            try (Tensor f = dev.allocate(8)) {
                expect(IllegalArgumentException.class, "src is an int32 tensor, expected float32", () -> dev.read(t));
                expect(IllegalArgumentException.class, "dst is an int32 tensor, expected float32",
                        () -> dev.write(t, new float[8]));
                expect(IllegalArgumentException.class, "dst is a float32 tensor, expected int32",
                        () -> dev.write(f, new int[8]));
                expect(IllegalArgumentException.class, "src is a float32 tensor, expected int32", () -> dev.readInts(f));
                expect(IllegalArgumentException.class, "same element type", () -> dev.copy(t, f));
            }
        }
    }

    static void views(Device ref, Device dev) {
        float[] base = new float[40];
        for (int i = 0; i < base.length; i++) {
            base[i] = i + 0.5f;
        }
        try (Tensor s = dev.upload(base, 40)) {
            assertFalse(s.isView());
            assertSame(s, s.storage());
            assertEquals(0, s.offset());
            Tensor v = s.view(7, 3, 4);
            assertTrue(v.isView());
            assertSame(s, v.storage());
            assertEquals(7, v.offset());
            assertArrayEquals(new int[] {3, 4}, v.shape());
            assertEquals(12, v.size());
            assertBits(java.util.Arrays.copyOfRange(base, 7, 19), dev.read(v), "read of a view");
            Tensor vv = v.view(5, 2, 3); // a view of a view addresses the same storage
            assertSame(s, vv.storage());
            assertEquals(12, vv.offset());
            assertBits(java.util.Arrays.copyOfRange(base, 12, 18), dev.read(vv), "read of a view of a view");
            dev.write(vv, new float[] {-1, -2, -3, -4, -5, -6});
            dev.write(v, 1, new float[] {100, 101, 102}, 1, 2); // elements 8, 9 of s
            float[] want = base.clone();
            want[8] = 101;
            want[9] = 102;
            for (int i = 0; i < 6; i++) {
                want[12 + i] = -1 - i;
            }
            assertBits(want, dev.read(s), "writes through views land at their offsets, nowhere else");
            float[] part = new float[2];
            dev.read(vv, 4, part, 0, 2);
            assertBits(new float[] {-5, -6}, part, "ranged read of a view");
            Tensor r = v.reshape(12);
            assertEquals(7, r.offset());
            assertArrayEquals(new int[] {12}, r.shape());
            assertBits(dev.read(v), dev.read(r), "reshape keeps the elements");
            v.close();
            assertTrue(v.isClosed());
            assertFalse(s.isClosed(), "closing a view leaves its storage open");
            assertEquals(40, dev.read(s).length);
            expect(IllegalArgumentException.class, "outside", () -> s.view(30, 11));
            expect(IllegalArgumentException.class, "outside", () -> s.view(-1, 2));
            expect(IllegalArgumentException.class, "shape", () -> s.view(0, 0));
            expect(IllegalArgumentException.class, "elements", () -> s.reshape(41));
        }
    }

    static void copy(Device ref, Device dev) {
        float[] base = new float[64];
        for (int i = 0; i < base.length; i++) {
            base[i] = i;
        }
        try (Tensor s = dev.upload(base, 64); Tensor other = dev.upload(new float[] {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, 10)) {
            // within one storage, forwards and backwards, views of different shapes
            dev.copy(s.view(3, 2, 5), s.view(40, 10));
            dev.copy(s.view(50, 5), s.view(1, 5));
            float[] want = base.clone();
            System.arraycopy(base, 3, want, 40, 10);
            System.arraycopy(want, 50, want, 1, 5);
            assertBits(want, dev.read(s), "copy between views of one tensor");
            // between storages, view to tensor and tensor to view
            dev.copy(other.view(2, 4), s.view(20, 4));
            dev.copy(s.view(60, 4), other.view(6, 2, 2));
            System.arraycopy(new float[] {7, 6, 5, 4}, 0, want, 20, 4);
            assertBits(want, dev.read(s), "copy from another tensor's view");
            assertBits(new float[] {9, 8, 7, 6, 5, 4, 60, 61, 62, 63}, dev.read(other), "copy into a view");
            dev.copy(s.view(5, 4), s.view(5, 2, 2)); // the same elements: nothing to do
            assertBits(want, dev.read(s), "copy onto itself");
            expect(IllegalArgumentException.class, "overlap", () -> dev.copy(s.view(0, 10), s.view(5, 10)));
            expect(IllegalArgumentException.class, "overlap", () -> dev.copy(s.view(5, 10), s.view(0, 10)));
            expect(IllegalArgumentException.class, "sizes must match", () -> dev.copy(s.view(0, 10), other.view(0, 9)));
            try (Tensor foreign = ref.allocate(10)) {
                expect(IllegalArgumentException.class, "belongs to device", () -> dev.copy(other, foreign));
            }
            assertBits(want, dev.read(s), "rejected copies change nothing");
        }
    }

    static void badInput(Device ref, Device dev) {
        expect(IllegalArgumentException.class, "shape", () -> dev.allocate(0));
        expect(IllegalArgumentException.class, "shape", () -> dev.allocate(3, -2));
        expect(IllegalArgumentException.class, "shape", () -> dev.allocate(DType.INT32, 2, 0));
        expect(IllegalArgumentException.class, "dtype", () -> dev.allocate((DType) null, 2));
        try (Tensor out = dev.allocate(10)) {
            expect(IllegalArgumentException.class, "src", () -> dev.write(out, new float[3]));
            expect(IllegalArgumentException.class, "dst", () -> dev.write(out, 8, new float[3], 0, 3));
            expect(IllegalArgumentException.class, "src", () -> dev.write(out, 0, new float[3], 2, 3));
            expect(IllegalArgumentException.class, "src range", () -> dev.read(out, 8, new float[3], 0, 3));
            expect(IllegalArgumentException.class, "dst range", () -> dev.read(out, 0, new float[3], 1, 3));
            Tensor v = out.view(4, 6);
            expect(IllegalArgumentException.class, "dst", () -> dev.write(v, 4, new float[3], 0, 3));
            expect(IllegalArgumentException.class, "src range", () -> dev.read(v, 5, new float[2], 0, 2));
            try (Tensor foreign = ref.allocate(10)) {
                expect(IllegalArgumentException.class, "belongs to device", () -> dev.read(foreign));
                expect(IllegalArgumentException.class, "belongs to device", () -> dev.view(foreign, 0, 2));
            }
        }
    }

    static void families(Device ref, Device dev) {
        List<Function<Device, Object>> accessors = List.of(Device::random, Device::nola, Device::linalg,
                Device::adapter, Device::nn, Device::optim);
        OpFamily[] order = {OpFamily.RANDOM, OpFamily.NOLA, OpFamily.LINALG, OpFamily.ADAPTER, OpFamily.NN,
                OpFamily.OPTIM};
        assertEquals(OpFamily.values().length, order.length, "every family has an accessor here");
        for (int i = 0; i < order.length; i++) {
            OpFamily f = order[i];
            Function<Device, Object> get = accessors.get(i);
            var a = dev.supports(f);
            if (a.available()) {
                Object ops = get.apply(dev);
                assertNotNull(ops, f.label());
                assertTrue(f.type().isInstance(ops), f.label() + " ops implement " + f.type().getSimpleName());
            } else {
                assertFalse(a.reason().isBlank(), "a missing family says why: " + f.label());
                expect(UnsupportedOperationException.class, a.reason(), () -> get.apply(dev));
            }
        }
        expect(IllegalArgumentException.class, "family", () -> dev.supports(null));
    }

    static void counters(Device ref, Device dev) {
        if (!(dev instanceof AbstractDevice d)) {
            throw new AssertionError(dev.id() + " is not an AbstractDevice; the counters are not kept");
        }
        long held = d.memoryBytes();
        TransferCounts before = d.transfers();
        d.resetPeakMemory();
        try (Tensor t = dev.upload(new float[] {1, 2, 3, 4, 5}, 5); Tensor i = dev.allocate(DType.INT32, 3)) {
            assertEquals(held + 5 * 4 + 3 * 4, d.memoryBytes(), "bytes of the open tensors");
            dev.write(i, new int[] {7, 8, 9});
            float[] back = dev.read(t.view(1, 3));
            assertArrayEquals(new float[] {2, 3, 4}, back);
            t.view(0, 2).close(); // a view holds no memory of its own
            assertEquals(held + 32, d.memoryBytes());
            TransferCounts moved = d.transfers().since(before);
            assertEquals(3, moved.calls(), "upload, write, read");
            assertEquals(5 * 4 + 3 * 4, moved.bytesToDevice());
            assertEquals(3 * 4, moved.bytesToHost());
            assertTrue(moved.nanos() > 0 && moved.seconds() == moved.nanos() * 1e-9, "transfer time " + moved);
            Tensor big = dev.allocate(1000);
            big.close();
        }
        assertEquals(held, d.memoryBytes(), "closed tensors give their bytes back");
        assertEquals(held + 32 + 4000, d.peakMemoryBytes(), "the peak since resetPeakMemory");
        d.resetPeakMemory();
        assertEquals(held, d.peakMemoryBytes());
    }

    static void closed(Device ref, Device dev) {
        Tensor t = dev.allocate(8);
        Tensor c = dev.allocate(2);
        Tensor i = dev.allocate(DType.INT32, 4);
        Tensor v = t.view(2, 3);
        c.close();
        assertTrue(c.isClosed());
        expect(IllegalStateException.class, "closed", () -> dev.read(c));
        expect(IllegalStateException.class, "closed", () -> dev.write(c, new float[2]));
        expect(IllegalStateException.class, "closed", () -> dev.copy(c, v.view(0, 2)));
        expect(IllegalStateException.class, "closed", () -> c.view(0, 1));
        Tensor w = t.view(0, 2);
        w.close();
        expect(IllegalStateException.class, "closed", () -> dev.read(w));
        assertFalse(t.isClosed(), "closing a view leaves the storage open");
        assertEquals(3, dev.read(v).length);
        try (Tensor s = dev.allocate(6)) {
            Tensor sv = s.view(1, 2);
            s.close();
            assertTrue(sv.isClosed(), "closing the storage closes its views");
            expect(IllegalStateException.class, "closed", () -> dev.read(sv));
        }
        dev.close();
        assertTrue(dev.isClosed());
        assertTrue(t.isClosed() && v.isClosed() && i.isClosed(), "closing the device closes its tensors and views");
        expect(IllegalStateException.class, "closed", () -> dev.allocate(4));
        expect(IllegalStateException.class, "closed", () -> dev.read(t));
        expect(IllegalStateException.class, "closed", () -> dev.readInts(i));
        expect(IllegalStateException.class, "closed", () -> dev.upload(new int[] {1}, 1));
        expect(IllegalStateException.class, "closed", dev::synchronize);
        for (OpFamily f : OpFamily.values()) {
            if (dev.supports(f).available()) {
                Function<Device, Object> get = switch (f) {
                    case RANDOM -> Device::random;
                    case NOLA -> Device::nola;
                    case LINALG -> Device::linalg;
                    case ADAPTER -> Device::adapter;
                    case NN -> Device::nn;
                    case OPTIM -> Device::optim;
                };
                expect(IllegalStateException.class, "closed", () -> get.apply(dev));
            }
        }
        dev.close(); // idempotent
    }
}
