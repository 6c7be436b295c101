package dev.nola.config;

import java.util.Locale;

/**
 * A parsed device string: which backend, and which of its devices.
 *
 * <p>Accepted forms: {@code reference}, {@code cpu}, {@code opencl} (the first OpenCL device, GPUs
 * preferred), {@code opencl:P:D} (platform P, device D, both zero-based), {@code tornado} and
 * {@code tornado:B:D} (TornadoVM backend B, device D), and {@code auto} (the best available device:
 * a GPU through OpenCL, else the {@code cpu} backend).
 *
 * @param backend  the backend name, lower case ({@code reference}, {@code cpu}, {@code opencl},
 *                 {@code tornado}) or {@code auto}
 * @param platform the platform (OpenCL) or backend (TornadoVM) index, or -1 for "choose"
 * @param device   the device index within the platform, or -1 for "choose"
 */
public record DeviceSpec(String backend, int platform, int device) {

    /** The spec that picks the best available device. */
    public static final DeviceSpec AUTO = new DeviceSpec("auto", -1, -1);

    public DeviceSpec {
        if (backend == null || backend.isBlank()) {
            throw new IllegalArgumentException("device backend is empty; expected one of reference, cpu, opencl, tornado, auto");
        }
        if (platform < -1 || device < -1) {
            throw new IllegalArgumentException("device indices must be >= 0, got platform=" + platform + " device=" + device);
        }
        if ((platform < 0) != (device < 0)) {
            throw new IllegalArgumentException("device indices must be given together, got platform=" + platform + " device=" + device);
        }
    }

    /**
     * Parses a device string.
     *
     * @param text the device string, e.g. {@code opencl:0:1}
     * @return the spec
     * @throws IllegalArgumentException naming the string and the accepted forms when it does not parse
     */
    public static DeviceSpec parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("device is null; expected reference, cpu, opencl[:P:D], tornado[:B:D] or auto");
        }
        String t = text.trim().toLowerCase(Locale.ROOT);
        String[] parts = t.split(":", -1);
        String b = parts[0];
        boolean indexed = b.equals("opencl") || b.equals("tornado");
        boolean plain = b.equals("reference") || b.equals("cpu") || b.equals("auto");
        if (plain && parts.length == 1) {
            return b.equals("auto") ? AUTO : new DeviceSpec(b, -1, -1);
        }
        if (indexed && parts.length == 1) {
            return new DeviceSpec(b, -1, -1);
        }
        if (indexed && parts.length == 3) {
            try {
                int p = Integer.parseInt(parts[1]);
                int d = Integer.parseInt(parts[2]);
                if (p >= 0 && d >= 0) {
                    return new DeviceSpec(b, p, d);
                }
            } catch (NumberFormatException ignored) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException("device '" + text
                + "' is not a device string; expected reference, cpu, opencl, opencl:P:D, tornado, tornado:B:D or auto"
                + " (P, B, D non-negative integers)");
    }

    /** Whether this spec names one device exactly rather than asking for a choice. */
    public boolean isExact() {
        return !backend.equals("auto") && (platform >= 0 || backend.equals("cpu") || backend.equals("reference"));
    }

    @Override
    public String toString() {
        return platform >= 0 ? backend + ":" + platform + ":" + device : backend;
    }
}
