package dev.nola.kernels.cpu;

import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Availability;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.host.HostDevice;
import dev.nola.kernels.reference.ReferenceBackend;
import java.lang.management.ManagementFactory;
import java.util.List;

/** The {@code cpu} backend: one device, {@code cpu}, running the cpu families (Vector API, fork-join). */
public final class CpuBackend implements Backend {

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Availability availability() {
        return Availability.yes();
    }

    @Override
    public List<DeviceInfo> devices() {
        // Tensors are in native memory, so the device's memory is the machine's, not the heap's.
        long physical = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        DeviceInfo heap = ReferenceBackend.hostInfo("cpu", "Java Vector API, " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize()
                + "-bit vectors, " + Runtime.getRuntime().availableProcessors() + " threads, tensors in native memory");
        return List.of(new DeviceInfo(heap.id(), heap.name(), heap.vendor(), heap.type(), heap.version(), heap.computeUnits(),
                physical, heap.localMemBytes(), heap.maxWorkGroupSize(), Math.min(physical, HostDevice.MAX_ELEMENTS * 4)));
    }

    @Override
    public Device open(int platform, int device, RuntimeSettings settings) {
        if (platform > 0 || device > 0) {
            throw new IllegalArgumentException("backend cpu has one device; got platform=" + platform + " device=" + device);
        }
        return new HostDevice(devices().get(0), HostDevice.Memory.NATIVE, d -> List.of(new CpuRandomOps(d), new CpuNolaOps(d),
                new CpuLinalgOps(d), new CpuAdapterOps(d), new CpuOptimOps(d), new CpuNnOps(d)));
    }

    @Override
    public int priority() {
        return 10;
    }
}
