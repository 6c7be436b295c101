package dev.nola.kernels;

import dev.nola.config.RuntimeSettings;
import java.util.List;

/**
 * A family of devices that run the op contract: {@code reference}, {@code cpu}, {@code opencl},
 * {@code tornado}. Implementations are found with {@link java.util.ServiceLoader} (see
 * {@link Backends}); a backend whose runtime is missing still loads and reports itself unavailable
 * with the reason rather than failing.
 */
public interface Backend {

    /** The backend's name, the first part of its device strings. */
    String name();

    /** Whether it can run here; never throws. */
    Availability availability();

    /** Its devices; empty when unavailable. */
    List<DeviceInfo> devices();

    /**
     * Opens a device. A backend reads its settings from {@code settings} only, never from the
     * environment or a file itself (the entry point resolves them once, see {@link Backends}).
     *
     * @param platform the platform index (-1 for the backend's default choice)
     * @param device   the device index within the platform (-1 for the default choice)
     * @param settings the resolved runtime settings (OpenCL build options, …)
     * @throws IllegalArgumentException when no such device exists, naming the indices and what exists
     * @throws IllegalStateException    when the backend is unavailable, with the reason
     */
    Device open(int platform, int device, RuntimeSettings settings);

    /** Order among backends for {@code auto}: higher is preferred when a GPU is absent. */
    default int priority() {
        return 0;
    }
}
