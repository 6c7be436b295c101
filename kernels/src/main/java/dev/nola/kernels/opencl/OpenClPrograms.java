package dev.nola.kernels.opencl;

import static org.jocl.CL.CL_KERNEL_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_program;

/**
 * The programs of one device context: one per op family and set of extra build options (a layout
 * flag, a tile size), built on first use with the device's build options and kept until the device
 * closes, with their kernels.
 *
 * <p>A family is a list of source files under {@code /opencl/} on the class path, compiled as one
 * program ({@code philox.cl} is shared by the families that generate bases).
 */
final class OpenClPrograms implements AutoCloseable {

    /** The op families and their source files, in compile order. */
    static final Map<String, List<String>> FAMILIES = Map.of(
            "random", List.of("philox.cl", "random.cl"),
            "nola", List.of("philox.cl", "nola.cl"),
            "linalg", List.of("linalg.cl"),
            "optim", List.of("optim.cl"),
            "nn", List.of("nn.cl"));

    private static final Map<String, String> SOURCES = new ConcurrentHashMap<>();

    /** A built program and the kernels made from it so far. */
    static final class Program {
        final cl_program program;
        final Map<String, cl_kernel> kernels = new HashMap<>();

        Program(cl_program program) {
            this.program = program;
        }
    }

    private final cl_context context;
    private final cl_device_id device;
    private final String deviceName;
    private final String options;
    private final Map<String, Program> built = new LinkedHashMap<>();

    OpenClPrograms(cl_context context, cl_device_id device, String deviceName, String options) {
        this.context = context;
        this.device = device;
        this.deviceName = deviceName;
        this.options = options;
    }

    /** The kernel {@code name} of family {@code family} built with {@code extraOptions}, building the program on first use. */
    cl_kernel kernel(String family, String name, String extraOptions) {
        String key = family + " " + (extraOptions == null ? "" : extraOptions.strip());
        Program p = built.get(key);
        if (p == null) {
            List<String> files = FAMILIES.get(family);
            if (files == null) {
                throw new IllegalArgumentException("no op family '" + family + "'; known: " + FAMILIES.keySet());
            }
            String[] sources = files.stream().map(OpenClPrograms::source).toArray(String[]::new);
            p = build(String.join(" + ", files), sources, extraOptions);
            built.put(key, p);
        }
        cl_kernel k = p.kernels.get(name);
        if (k == null) {
            k = CL.clCreateKernel(p.program, name, null);
            ClObjects.KERNELS.incrementAndGet();
            p.kernels.put(name, k);
        }
        return k;
    }

    /** The largest work-group this kernel can run with on this device. */
    long maxWorkGroup(cl_kernel k) {
        long[] v = new long[1];
        CL.clGetKernelWorkGroupInfo(k, device, CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }

    /**
     * Builds a program from source strings. Package-private so that tests can build a deliberately
     * broken source; the caller owns the result (see {@link #release(Program)}).
     *
     * @param file the source file name(s), for messages
     * @throws KernelBuildException naming the device, the file and the compiler's log
     */
    Program build(String file, String[] sources, String extraOptions) {
        String opts = extraOptions == null || extraOptions.isBlank() ? options : options + " " + extraOptions;
        cl_program program = CL.clCreateProgramWithSource(context, sources.length, sources, null, null);
        ClObjects.PROGRAMS.incrementAndGet();
        try {
            CL.clBuildProgram(program, 1, new cl_device_id[] {device}, opts, null, null);
        } catch (CLException e) {
            String log = buildLog(program);
            CL.clReleaseProgram(program);
            ClObjects.PROGRAMS.decrementAndGet();
            throw new KernelBuildException(deviceName, file, opts, log, e);
        }
        return new Program(program);
    }

    private String buildLog(cl_program program) {
        try {
            long[] size = new long[1];
            CL.clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] buf = new byte[(int) size[0]];
            CL.clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, buf.length, Pointer.to(buf), null);
            int n = buf.length;
            while (n > 0 && buf[n - 1] == 0) {
                n--;
            }
            String log = new String(buf, 0, n, StandardCharsets.UTF_8).strip();
            return log.isEmpty() ? "(the compiler left no log)" : log;
        } catch (CLException e) {
            return "(the build log could not be read: " + e.getMessage() + ")";
        }
    }

    /** Releases a program and its kernels. */
    static void release(Program p) {
        for (cl_kernel k : p.kernels.values()) {
            CL.clReleaseKernel(k);
            ClObjects.KERNELS.decrementAndGet();
        }
        p.kernels.clear();
        CL.clReleaseProgram(p.program);
        ClObjects.PROGRAMS.decrementAndGet();
    }

    /** Number of programs built (for tests of the cache). */
    int builtCount() {
        return built.size();
    }

    @Override
    public void close() {
        for (Program p : built.values()) {
            release(p);
        }
        built.clear();
    }

    /** The text of a source file under {@code /opencl/}, read once per process. */
    static String source(String file) {
        return SOURCES.computeIfAbsent(file, f -> {
            try (InputStream in = OpenClPrograms.class.getResourceAsStream("/opencl/" + f)) {
                if (in == null) {
                    throw new IllegalStateException("OpenCL source /opencl/" + f + " is missing from the class path");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("OpenCL source /opencl/" + f + " cannot be read", e);
            }
        });
    }
}
