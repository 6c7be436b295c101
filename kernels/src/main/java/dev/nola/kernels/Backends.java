package dev.nola.kernels;

import dev.nola.config.DeviceSpec;
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

    /** Opens the device a string names (see {@link DeviceSpec#parse}). */
    public static Device open(String device) {
        return open(DeviceSpec.parse(device));
    }

    /**
     * Opens the device a spec names.
     *
     * @throws IllegalArgumentException when no backend of that name exists, or no such device
     * @throws IllegalStateException    when the backend is present but unavailable, with its reason
     */
    public static Device open(DeviceSpec spec) {
        Checks.notNull("device", spec);
        if (spec.backend().equals("auto")) {
            return openAuto();
        }
        Backend b = find(spec.backend()).orElseThrow(() -> new IllegalArgumentException("device '" + spec
                + "': no backend named '" + spec.backend() + "' is on the class path; present: "
                + all().stream().map(Backend::name).toList()));
        Availability a = b.availability();
        if (!a.available()) {
            throw new IllegalStateException("device '" + spec + "': backend " + b.name() + " is unavailable: " + a.reason());
        }
        return b.open(spec.platform(), spec.device());
    }

    private static Device openAuto() {
        for (Backend b : all()) {
            if (!b.availability().available()) {
                continue;
            }
            for (DeviceInfo d : b.devices()) {
                if (d.type() == DeviceInfo.Type.GPU) {
                    return open(DeviceSpec.parse(d.id()));
                }
            }
        }
        return open(DeviceSpec.parse("cpu"));
    }
}
