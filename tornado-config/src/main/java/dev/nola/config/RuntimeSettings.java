package dev.nola.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The accelerator settings every entry point shares, resolved once from (in order of precedence)
 * an explicit value, the environment, and an optional properties file.
 *
 * <ul>
 *   <li>device: {@code --device}, else {@code NOLA_DEVICE}, else {@code device=} in the config
 *       file, else {@code auto};</li>
 *   <li>a device memory limit: {@code NOLA_DEVICE_MEMORY}, else {@code device.memory=} (bytes, or with k, m,
 *       g); none by default. The device refuses an allocation past it, naming the tensor and the bytes;</li>
 *   <li>OpenCL build options: {@code NOLA_OPENCL_OPTIONS}, else {@code opencl.options=}, else
 *       {@link #DEFAULT_OPENCL_OPTIONS} (no fast-math flags, so results are exact and portable);</li>
 *   <li>the config file: {@code NOLA_CONFIG}, else {@code ~/.config/nola/nola.properties} if it
 *       exists.</li>
 * </ul>
 *
 * <p>Nothing here is read in a static initialiser: callers build a {@code RuntimeSettings} when
 * they start, so tests can pass their own environment.
 *
 * @param device         the chosen device
 * @param openclOptions  options passed to {@code clBuildProgram}
 */
public record RuntimeSettings(DeviceSpec device, String openclOptions, long memoryLimit) {

    /** Settings without a memory limit. */
    public RuntimeSettings(DeviceSpec device, String openclOptions) {
        this(device, openclOptions, 0);
    }

    /**
     * OpenCL C build options: version 1.2 and nothing that relaxes IEEE semantics. Fast-math flags
     * reorder sums and flush denormals, which would break the bit-identical basis and mix.
     */
    public static final String DEFAULT_OPENCL_OPTIONS = "-cl-std=CL1.2";

    public RuntimeSettings {
        if (device == null) {
            throw new IllegalArgumentException("device is null");
        }
        if (openclOptions == null) {
            throw new IllegalArgumentException("openclOptions is null");
        }
        if (memoryLimit < 0) {
            throw new IllegalArgumentException("memoryLimit is " + memoryLimit + "; expected >= 0 (0 for none)");
        }
    }

    /**
     * A memory size as {@code NOLA_DEVICE_MEMORY} or {@code device.memory=} give it: bytes, or a number with a
     * suffix k, m, g (powers of 1024); 0 for no limit.
     */
    public static long parseBytes(String where, String value) {
        String v = value.trim().toLowerCase();
        long unit = 1;
        if (!v.isEmpty() && "kmg".indexOf(v.charAt(v.length() - 1)) >= 0) {
            unit = 1L << (10 * ("kmg".indexOf(v.charAt(v.length() - 1)) + 1));
            v = v.substring(0, v.length() - 1);
        }
        try {
            long n = Long.parseLong(v);
            if (n < 0 || n > Long.MAX_VALUE / unit) {
                throw new NumberFormatException();
            }
            return n * unit;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + " is '" + value + "'; expected a byte count such as 536870912, 512m or 2g"
                    + " (0 for no limit)");
        }
    }

    /** Settings resolved from the process environment. */
    public static RuntimeSettings resolve(String explicitDevice) {
        return resolve(explicitDevice, System.getenv());
    }

    /**
     * Settings resolved from an explicit device (may be null) and an environment map.
     *
     * @throws IllegalArgumentException when a device string does not parse or the config file named
     *                                  by {@code NOLA_CONFIG} cannot be read
     */
    public static RuntimeSettings resolve(String explicitDevice, Map<String, String> env) {
        Properties file = loadConfig(env);
        String device = firstNonBlank(explicitDevice, env.get("NOLA_DEVICE"), file.getProperty("device"), "auto");
        String options = firstNonBlank(env.get("NOLA_OPENCL_OPTIONS"), file.getProperty("opencl.options"),
                DEFAULT_OPENCL_OPTIONS);
        // (the same precedence as resolveOpenclOptions(env), read from the one file load above)
        String env0 = env.get("NOLA_DEVICE_MEMORY");
        long limit = env0 != null && !env0.isBlank() ? parseBytes("NOLA_DEVICE_MEMORY", env0)
                : file.getProperty("device.memory") != null ? parseBytes("device.memory", file.getProperty("device.memory")) : 0;
        return new RuntimeSettings(DeviceSpec.parse(device), options, limit);
    }

    /**
     * Only the OpenCL build options, from the process environment and config file: a backend that is
     * opened with an explicit device string must not fail on an unrelated bad {@code NOLA_DEVICE}.
     */
    public static String resolveOpenclOptions() {
        return resolveOpenclOptions(System.getenv());
    }

    /** The OpenCL build options from an environment map (see {@link #resolveOpenclOptions()}). */
    public static String resolveOpenclOptions(Map<String, String> env) {
        return firstNonBlank(env.get("NOLA_OPENCL_OPTIONS"), loadConfig(env).getProperty("opencl.options"),
                DEFAULT_OPENCL_OPTIONS);
    }

    private static Properties loadConfig(Map<String, String> env) {
        Properties p = new Properties();
        Optional<Path> path = Optional.ofNullable(env.get("NOLA_CONFIG")).filter(s -> !s.isBlank()).map(Path::of);
        boolean explicit = path.isPresent();
        if (!explicit) {
            String home = env.getOrDefault("HOME", System.getProperty("user.home", ""));
            path = Optional.of(Path.of(home, ".config", "nola", "nola.properties"));
        }
        Path f = path.get();
        if (!Files.isRegularFile(f)) {
            if (explicit) {
                throw new IllegalArgumentException("NOLA_CONFIG '" + f + "' is not a readable file");
            }
            return p;
        }
        try (InputStream in = Files.newInputStream(f)) {
            p.load(in);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("config file '" + f + "' cannot be read: " + e.getMessage(), e);
        }
        return p;
    }

    private static String firstNonBlank(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v.trim();
            }
        }
        throw new AssertionError("the last value is a non-blank default");
    }
}
