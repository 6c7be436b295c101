package dev.nola.config;

import java.util.Locale;

/**
 * A parsed device string: which backend, and which of its devices.
 *
 * <p>The grammar is generic, so that any backend found at run time can be named: {@code NAME} (the
 * backend's default device) or {@code NAME:P:D} (platform or sub-backend P, device D, both
 * zero-based), where NAME is the backend's name as it calls itself (lower case letters, digits, '-'
 * or '_', starting with a letter: {@code reference}, {@code cpu}, {@code opencl}, {@code tornado}, …),
 * and {@code auto} (the best available device: a GPU, else {@code cpu}). Whether a backend of that
 * name exists, and whether it has device P:D, is for the backend to say when it is opened.
 *
 * @param backend  the backend name, lower case, or {@code auto}
 * @param platform the platform (OpenCL) or backend (TornadoVM) index, or -1 for "choose"
 * @param device   the device index within the platform, or -1 for "choose"
 */
public record DeviceSpec(String backend, int platform, int device) {

    /** A backend name (initialised before AUTO, which the constructor checks against it). */
    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[a-z][a-z0-9_-]*");

    /** The spec that picks the best available device. */
    public static final DeviceSpec AUTO = new DeviceSpec("auto", -1, -1);

    public DeviceSpec {
        if (backend == null || !NAME.matcher(backend).matches()) {
            throw new IllegalArgumentException("device backend '" + backend + "' is not a backend name; expected lower-case"
                    + " letters, digits, '-' or '_', starting with a letter (reference, cpu, opencl, tornado, auto, ...)");
        }
        if (platform < -1 || device < -1) {
            throw new IllegalArgumentException("device indices must be >= 0, got platform=" + platform + " device=" + device);
        }
        if ((platform < 0) != (device < 0)) {
            throw new IllegalArgumentException("device indices must be given together, got platform=" + platform + " device=" + device);
        }
        if (backend.equals("auto") && platform >= 0) {
            throw new IllegalArgumentException("device 'auto' takes no indices");
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
        String expected = "; expected NAME or NAME:P:D (a backend name such as reference, cpu, opencl or tornado;"
                + " P and D non-negative integers) or auto";
        if (text == null) {
            throw new IllegalArgumentException("device is null" + expected);
        }
        String t = text.trim().toLowerCase(Locale.ROOT);
        String[] parts = t.split(":", -1);
        if (!NAME.matcher(parts[0]).matches() || parts.length != 1 && parts.length != 3
                || parts[0].equals("auto") && parts.length != 1) {
            throw new IllegalArgumentException("device '" + text + "' is not a device string" + expected);
        }
        if (parts.length == 1) {
            return parts[0].equals("auto") ? AUTO : new DeviceSpec(parts[0], -1, -1);
        }
        try {
            int p = Integer.parseInt(parts[1]);
            int d = Integer.parseInt(parts[2]);
            if (p >= 0 && d >= 0) {
                return new DeviceSpec(parts[0], p, d);
            }
        } catch (NumberFormatException ignored) {
            // falls through to the error below
        }
        throw new IllegalArgumentException("device '" + text + "' is not a device string" + expected);
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
