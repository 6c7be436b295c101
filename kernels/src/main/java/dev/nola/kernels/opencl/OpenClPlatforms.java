package dev.nola.kernels.opencl;

import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_LOCAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_COMPUTE_UNITS;
import static org.jocl.CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_TYPE;
import static org.jocl.CL.CL_DEVICE_TYPE_ACCELERATOR;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_TYPE_CPU;
import static org.jocl.CL.CL_DEVICE_TYPE_GPU;
import static org.jocl.CL.CL_DEVICE_VENDOR;
import static org.jocl.CL.CL_DEVICE_VERSION;
import static org.jocl.CL.CL_PLATFORM_NAME;

import dev.nola.kernels.DeviceInfo;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * Discovery of every OpenCL platform and device through JOCL, done once per process.
 *
 * <p>Device {@code opencl:P:D} is device D of platform P, with P in {@code clGetPlatformIDs} order
 * and D in {@code clGetDeviceIDs(CL_DEVICE_TYPE_ALL)} order. Discovery never throws: a missing
 * native library, ICD loader or platform becomes an {@link #unavailableReason() unavailable reason}.
 */
final class OpenClPlatforms {

    /** One discovered device: its handles and description. */
    record Found(cl_platform_id platform, cl_device_id device, DeviceInfo info, int platformIndex, int deviceIndex) {
    }

    private static volatile OpenClPlatforms instance;

    private final List<Found> devices;
    private final String unavailableReason;

    private OpenClPlatforms(List<Found> devices, String unavailableReason) {
        this.devices = List.copyOf(devices);
        this.unavailableReason = unavailableReason;
    }

    /** The process-wide discovery result (computed on first use). */
    static OpenClPlatforms get() {
        OpenClPlatforms p = instance;
        if (p == null) {
            synchronized (OpenClPlatforms.class) {
                p = instance;
                if (p == null) {
                    p = discover();
                    instance = p;
                }
            }
        }
        return p;
    }

    /** Every device of every platform; empty when unavailable. */
    List<Found> devices() {
        return devices;
    }

    /** Why there is no usable device, or null when there is one. */
    String unavailableReason() {
        return unavailableReason;
    }

    private static OpenClPlatforms discover() {
        try {
            CL.setExceptionsEnabled(true);
            int[] count = new int[1];
            try {
                CL.clGetPlatformIDs(0, null, count);
            } catch (CLException e) {
                // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR (-1001) when no vendor ICD is registered.
                return none("no OpenCL platform found (clGetPlatformIDs: " + e.getMessage()
                        + "); install an OpenCL driver (an ICD such as pocl-opencl-icd, or a GPU vendor's driver)");
            }
            if (count[0] == 0) {
                return none("no OpenCL platform found (clGetPlatformIDs reports 0); install an OpenCL driver "
                        + "(an ICD such as pocl-opencl-icd, or a GPU vendor's driver)");
            }
            cl_platform_id[] platforms = new cl_platform_id[count[0]];
            CL.clGetPlatformIDs(platforms.length, platforms, null);
            List<Found> found = new ArrayList<>();
            List<String> problems = new ArrayList<>();
            for (int p = 0; p < platforms.length; p++) {
                cl_device_id[] ids;
                try {
                    int[] n = new int[1];
                    CL.clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, null, n);
                    ids = new cl_device_id[n[0]];
                    CL.clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, ids.length, ids, null);
                } catch (CLException e) {
                    // CL_DEVICE_NOT_FOUND: a platform with no device; keep the index order of the others.
                    problems.add("platform " + p + " (" + platformString(platforms[p], CL_PLATFORM_NAME) + "): " + e.getMessage());
                    continue;
                }
                for (int d = 0; d < ids.length; d++) {
                    found.add(new Found(platforms[p], ids[d], describe(ids[d], p, d), p, d));
                }
            }
            if (found.isEmpty()) {
                return none("OpenCL platforms found but no device: " + String.join("; ", problems));
            }
            return new OpenClPlatforms(found, null);
        } catch (UnsatisfiedLinkError e) {
            return none("the JOCL native library or the OpenCL ICD loader (libOpenCL.so) could not be loaded: " + e.getMessage());
        } catch (LinkageError e) {
            return none("JOCL could not be initialised: " + e);
        } catch (CLException e) {
            return none("OpenCL discovery failed: " + e.getMessage());
        } catch (RuntimeException e) {
            return none("OpenCL discovery failed: " + e);
        }
    }

    private static OpenClPlatforms none(String reason) {
        return new OpenClPlatforms(List.of(), reason);
    }

    private static DeviceInfo describe(cl_device_id d, int p, int i) {
        long type = deviceLong(d, CL_DEVICE_TYPE);
        DeviceInfo.Type t = (type & CL_DEVICE_TYPE_GPU) != 0 ? DeviceInfo.Type.GPU
                : (type & CL_DEVICE_TYPE_CPU) != 0 ? DeviceInfo.Type.CPU
                : (type & CL_DEVICE_TYPE_ACCELERATOR) != 0 ? DeviceInfo.Type.ACCELERATOR
                : DeviceInfo.Type.OTHER;
        return new DeviceInfo("opencl:" + p + ":" + i, deviceString(d, CL_DEVICE_NAME), deviceString(d, CL_DEVICE_VENDOR), t,
                deviceString(d, CL_DEVICE_VERSION), deviceInt(d, CL_DEVICE_MAX_COMPUTE_UNITS),
                deviceLong(d, CL_DEVICE_GLOBAL_MEM_SIZE), deviceLong(d, CL_DEVICE_LOCAL_MEM_SIZE),
                deviceSize(d, CL_DEVICE_MAX_WORK_GROUP_SIZE), deviceLong(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE));
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String platformString(cl_platform_id p, int param) {
        try {
            long[] size = new long[1];
            CL.clGetPlatformInfo(p, param, 0, null, size);
            byte[] buf = new byte[(int) size[0]];
            CL.clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null);
            return cString(buf);
        } catch (CLException e) {
            return "?";
        }
    }

    private static String cString(byte[] buf) {
        int n = buf.length;
        while (n > 0 && buf[n - 1] == 0) {
            n--;
        }
        return new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8).trim();
    }

    static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    static long deviceSize(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }
}
