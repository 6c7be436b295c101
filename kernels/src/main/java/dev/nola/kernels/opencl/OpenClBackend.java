package dev.nola.kernels.opencl;

import dev.nola.kernels.Availability;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.config.RuntimeSettings;
import java.util.List;

/**
 * The {@code opencl} backend: every device of every OpenCL platform, through JOCL, running the op
 * contract as OpenCL C 1.2 kernels ({@code kernels/src/main/resources/opencl/}).
 *
 * <p>Device strings are {@code opencl:P:D} (see {@link OpenClPlatforms}); {@code opencl} alone opens
 * the first GPU, else the first device. Kernels are built with {@link RuntimeSettings#openclOptions()}
 * as resolved by the entry point ({@code NOLA_OPENCL_OPTIONS}, the config file, default
 * {@link RuntimeSettings#DEFAULT_OPENCL_OPTIONS}), never with fast-math flags. When no OpenCL
 * library, ICD loader or platform is present the backend still loads and reports why it is
 * unavailable.
 */
public final class OpenClBackend implements Backend {

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public Availability availability() {
        String why = OpenClPlatforms.get().unavailableReason();
        return why == null ? Availability.yes() : Availability.no(why);
    }

    @Override
    public List<DeviceInfo> devices() {
        return OpenClPlatforms.get().devices().stream().map(OpenClPlatforms.Found::info).toList();
    }

    @Override
    public Device open(int platform, int device, RuntimeSettings settings) {
        OpenClPlatforms p = OpenClPlatforms.get();
        if (p.unavailableReason() != null) {
            throw new IllegalStateException("backend opencl is unavailable: " + p.unavailableReason());
        }
        List<OpenClPlatforms.Found> all = p.devices();
        OpenClPlatforms.Found chosen;
        if (platform < 0 && device < 0) {
            chosen = all.stream().filter(f -> f.info().type() == DeviceInfo.Type.GPU).findFirst().orElse(all.get(0));
        } else {
            chosen = all.stream().filter(f -> f.platformIndex() == platform && f.deviceIndex() == device).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no OpenCL device opencl:" + platform + ":" + device
                            + "; present: " + all.stream().map(f -> f.info().id() + " (" + f.info().name() + ")").toList()));
        }
        return new OpenClDevice(chosen, Checks.notNull("settings", settings).openclOptions());
    }

    /** Above {@code cpu} (10) so that OpenCL GPUs come first; {@code auto} only takes GPUs from here. */
    @Override
    public int priority() {
        return 20;
    }
}
