package dev.nola.kernels;

import dev.nola.config.DeviceSpec;
import dev.nola.config.RuntimeSettings;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Finds backends with {@link ServiceLoader} and opens devices by device string.
 *
 * <p>{@code auto} picks, in order: a GPU from any available backend (the one with the highest
 * {@link Backend#priority()}), else the {@code cpu} backend. Nothing is swapped silently: a device
 * string that names a backend or device that is not available fails with the reason.
 */
public final class Backends {

    private Backends() {
    }

    /** Every backend on the class path (or module path), available or not, by descending priority. */
    public static List<Backend> all() {
        List<Backend> list = new ArrayList<>();
        for (Backend b : ServiceLoader.load(Backend.class, Backends.class.getClassLoader())) {
            list.add(b);
        }
        list.sort(Comparator.comparingInt(Backend::priority).reversed().thenComparing(Backend::name));
        return list;
    }

    /** The backend named {@code name}, if present on the class path. */
    public static Optional<Backend> find(String name) {
        return all().stream().filter(b -> b.name().equals(name)).findFirst();
    }

    /**
     * Opens the device a string names (see {@link DeviceSpec#parse}), with the other runtime settings
     * (OpenCL build options) resolved once here from the environment and config file.
     */
    public static Device open(String device) {
        return open(RuntimeSettings.resolve(Checks.notNull("device", device)));
    }

    /** Opens the device a spec names, settings resolved as in {@link #open(String)}. */
    public static Device open(DeviceSpec spec) {
        return open(RuntimeSettings.resolve(Checks.notNull("device", spec).toString()));
    }

    /**
     * Opens the device that resolved settings name, handing the settings to the backend.
     *
     * @throws IllegalArgumentException when no backend of that name exists, or no such device
     * @throws IllegalStateException    when the backend is present but unavailable, with its reason
     */
    public static Device open(RuntimeSettings settings) {
        Checks.notNull("settings", settings);
        DeviceSpec spec = settings.device();
        if (spec.backend().equals("auto")) {
            return openAuto(settings);
        }
        Backend b = find(spec.backend()).orElseThrow(() -> new IllegalArgumentException("device '" + spec
                + "': no backend named '" + spec.backend() + "' is on the class path; present: "
                + all().stream().map(Backend::name).toList()));
        Availability a = b.availability();
        if (!a.available()) {
            throw new IllegalStateException("device '" + spec + "': backend " + b.name() + " is unavailable: " + a.reason());
        }
        Device d = b.open(spec.platform(), spec.device(), settings);
        if (settings.memoryLimit() > 0 && d instanceof AbstractDevice limited) {
            limited.limitMemory(settings.memoryLimit());
        }
        return d;
    }

    private static Device openAuto(RuntimeSettings settings) {
        for (Backend b : all()) {
            if (!b.availability().available()) {
                continue;
            }
            for (DeviceInfo d : b.devices()) {
                if (d.type() == DeviceInfo.Type.GPU) {
                    return open(new RuntimeSettings(DeviceSpec.parse(d.id()), settings.openclOptions(), settings.memoryLimit()));
                }
            }
        }
        return open(new RuntimeSettings(DeviceSpec.parse("cpu"), settings.openclOptions(), settings.memoryLimit()));
    }
}
