package dev.nola.kernels.host;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Backends;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceMemoryExhausted;
import dev.nola.kernels.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The cpu device's tensors live in native memory: aligned, zeroed, counted, and freed on close. */
class NativeTensorTest {

    @Test
    void cpuTensorsAreNativeAlignedAndZeroed() {
        try (Device cpu = Backends.open("cpu"); Device ref = Backends.open("reference")) {
            for (int n : new int[] {1, 3, 17, 1 << 20}) {
                Tensor t = cpu.allocate(n);
                assertTrue(HostTensor.isNative(t));
                assertEquals(0, HostTensor.segment(t).address() % NativeMemory.ALIGNMENT, "address of a " + n + "-float tensor");
                assertEquals((long) n * Float.BYTES, HostTensor.segment(t).byteSize());
                assertArrayEquals(new float[n], cpu.read(t));
                t.close();
            }
            Tensor ints = cpu.allocate(DType.INT32, 5);
            assertEquals(5L * Integer.BYTES, HostTensor.segment(ints).byteSize());
            // the reference stays on the heap: its kernels are plain array loops
            Tensor h = ref.allocate(4);
            assertFalse(HostTensor.isNative(h));
            assertEquals(4, HostTensor.floats(h).length);
        }
    }

    @Test
    void aViewsSliceStartsAtItsOffset() {
        try (Device cpu = Backends.open("cpu")) {
            Tensor t = cpu.allocate(10);
            cpu.write(t, new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
            Tensor v = t.view(3, 4);
            MemorySegment s = HostTensor.slice(v);
            assertEquals(4L * Float.BYTES, s.byteSize());
            assertEquals(3f, s.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(6f, s.getAtIndex(ValueLayout.JAVA_FLOAT, 3));
        }
    }

    @Test
    void aClosedTensorRefusesItsMemoryAndTheDeviceFreesWhatIsLeft() {
        Device cpu = Backends.open("cpu");
        Tensor a = cpu.allocate(1000);
        Tensor b = cpu.allocate(DType.INT32, 10);
        assertEquals(1010L * 4, ((AbstractDevice) cpu).memoryBytes());
        a.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> HostTensor.segment(a));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertEquals(40, ((AbstractDevice) cpu).memoryBytes());
        cpu.close();
        assertTrue(b.isClosed());
        assertThrows(IllegalStateException.class, () -> HostTensor.segment(b));
    }

    @Test
    void nativeMemoryCountsAgainstTheDeviceLimit() {
        try (Device cpu = Backends.open("cpu")) {
            ((AbstractDevice) cpu).limitMemory(4096);
            Tensor t = cpu.allocate(1000);
            assertThrows(DeviceMemoryExhausted.class, () -> cpu.allocate(100));
            t.close();
            cpu.allocate(1024).close();
        }
    }

    @Test
    void theCpuDevicesMemoryIsTheMachinesNotTheHeaps() {
        long physical = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getTotalMemorySize();
        try (Device cpu = Backends.open("cpu")) {
            assertEquals(physical, cpu.info().globalMemBytes());
        }
    }
}
