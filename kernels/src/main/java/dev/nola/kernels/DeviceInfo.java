package dev.nola.kernels;

/**
 * What a backend knows about one of its devices.
 *
 * @param id               the device string that opens it, e.g. {@code cpu} or {@code opencl:0:1}
 * @param name             the device's name as its driver reports it
 * @param vendor           the vendor as reported
 * @param type             the kind of device
 * @param version          the API version the device supports (e.g. "OpenCL 3.0 PoCL"), or the JVM's
 * @param computeUnits     compute units (cores for a CPU)
 * @param globalMemBytes   global memory in bytes
 * @param localMemBytes    local (shared) memory per work-group in bytes, 0 where the notion does not apply
 * @param maxWorkGroupSize the largest work-group, 1 where the notion does not apply
 * @param maxAllocBytes    the largest single buffer in bytes
 */
public record DeviceInfo(String id, String name, String vendor, Type type, String version, int computeUnits,
                         long globalMemBytes, long localMemBytes, long maxWorkGroupSize, long maxAllocBytes) {

    /** The kind of device. */
    public enum Type { CPU, GPU, ACCELERATOR, OTHER }

    /** One line for listings: the id first, then the rest. */
    public String describe() {
        return String.format("%-14s %s | %s | %s | %s | %d CU | %d MiB global | %d KiB local | wg %d | max alloc %d MiB",
                id, type, name, vendor, version, computeUnits, globalMemBytes >> 20, localMemBytes >> 10,
                maxWorkGroupSize, maxAllocBytes >> 20);
    }
}
