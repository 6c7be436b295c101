package dev.nola.kernels.opencl;

/**
 * An OpenCL program failed to build: carries the device, the source file(s) and the compiler's log,
 * all of which are in the message.
 */
public final class KernelBuildException extends IllegalStateException {

    private final String device;
    private final String source;
    private final String log;

    KernelBuildException(String device, String source, String options, String log, Throwable cause) {
        super("OpenCL program " + source + " failed to build on device " + device + " with options '" + options
                + "':\n" + log, cause);
        this.device = device;
        this.source = source;
        this.log = log;
    }

    /** The device, as {@code opencl:P:D (name)}. */
    public String device() {
        return device;
    }

    /** The source file(s) the program was built from. */
    public String source() {
        return source;
    }

    /** The compiler's build log. */
    public String log() {
        return log;
    }
}
