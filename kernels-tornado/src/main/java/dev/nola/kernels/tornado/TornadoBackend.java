package dev.nola.kernels.tornado;

import dev.nola.config.RuntimeSettings;
import dev.nola.kernels.Availability;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import java.util.List;

/**
 * The {@code tornado} backend: the op contract as Java kernels that TornadoVM compiles for its
 * backends (OpenCL, PTX, SPIR-V). Device strings are {@code tornado:B:D}, TornadoVM backend B,
 * device D; {@code tornado} alone opens {@code tornado:0:0}.
 *
 * <p>Found through {@link java.util.ServiceLoader}. On a JVM without TornadoVM (jars not on the
 * module path, or JVMCI not enabled) it still loads and reports itself unavailable with the reason;
 * it never throws from {@link #availability()}.
 */
public final class TornadoBackend implements Backend {

    private volatile Availability availability;
    private volatile List<DeviceInfo> devices;

    @Override
    public String name() {
        return "tornado";
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            a = probe();
            availability = a;
        }
        return a;
    }

    private Availability probe() {
        // before TornadoVM and PoCL start their threads
        if (TornadoOptions.fromSystemProperties().tuneNativeHeap()) {
            HostMemory.tuneNativeHeap();
        }
        try {
            List<DeviceInfo> found = TornadoRuntimeAccess.devices();
            if (found.isEmpty()) {
                return Availability.no("TornadoVM runs but reports no devices");
            }
            devices = List.copyOf(found);
            return Availability.yes();
        } catch (Throwable t) {
            // NoClassDefFoundError without TornadoVM's modules, runtime errors without JVMCI or drivers
            String why = t.getClass().getSimpleName() + ": " + t.getMessage();
            return Availability.no("TornadoVM is not usable in this JVM (" + why + "); run with TornadoVM's JVM flags"
                    + " (java -cp nola-tornado-config.jar dev.nola.config.TornadoSettings prints them)");
        }
    }

    @Override
    public List<DeviceInfo> devices() {
        return availability().available() ? devices : List.of();
    }

    /**
     * Opens {@code tornado:B:D}. The plans build with the fixed {@link TornadoPlans#OPENCL_FLAGS}, not
     * {@code settings.openclOptions()}: the bit-identical mix depends on them, as before.
     */
    @Override
    public Device open(int platform, int device, RuntimeSettings settings) {
        Checks.notNull("settings", settings);
        Availability a = availability();
        if (!a.available()) {
            throw new IllegalStateException("backend tornado is unavailable: " + a.reason());
        }
        int b = platform < 0 ? 0 : platform;
        int d = device < 0 ? 0 : device;
        String id = "tornado:" + b + ":" + d;
        DeviceInfo info = devices.stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("device '" + id + "' does not exist; TornadoVM devices: "
                        + devices.stream().map(DeviceInfo::id).toList()));
        return new TornadoVmDevice(info, TornadoRuntimeAccess.device(b, d));
    }

    /** Below {@code cpu}: PoCL-class devices are slower than the Vector API path; a GPU is picked first anyway. */
    @Override
    public int priority() {
        return 5;
    }
}
