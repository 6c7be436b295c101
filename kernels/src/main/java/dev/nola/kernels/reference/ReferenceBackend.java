package dev.nola.kernels.reference;

import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Availability;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.host.HostDevice;
import java.util.List;

/** The {@code reference} backend: one device, {@code reference}, running the reference families (the oracle of every op). */
public final class ReferenceBackend implements Backend {

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public Availability availability() {
        return Availability.yes();
    }

    /** A description of the host as a device. */
    public static DeviceInfo hostInfo(String id, String what) {
        Runtime rt = Runtime.getRuntime();
        return new DeviceInfo(id, what, System.getProperty("java.vm.vendor", "?"), DeviceInfo.Type.CPU,
                "Java " + Runtime.version(), rt.availableProcessors(), rt.maxMemory(), 0, 1,
                Math.min(rt.maxMemory(), HostDevice.MAX_ELEMENTS * 4));
    }

    @Override
    public List<DeviceInfo> devices() {
        return List.of(hostInfo("reference", "scalar Java reference (oracle, not optimised)"));
    }

    @Override
    public Device open(int platform, int device, RuntimeSettings settings) {
        if (platform > 0 || device > 0) {
            throw new IllegalArgumentException("backend reference has one device; got platform=" + platform + " device=" + device);
        }
        return new HostDevice(devices().get(0), d -> List.of(new ReferenceRandomOps(d), new ReferenceNolaOps(d),
                new ReferenceLinalgOps(d), new ReferenceAdapterOps(d), new ReferenceNnOps(d), new ReferenceOptimOps(d)));
    }

    @Override
    public int priority() {
        return -100;
    }
}
