package dev.nola.kernels.tornado;

import java.util.LinkedHashMap;
import java.util.Map;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.TornadoProfilerResult;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;

/**
 * TornadoVM's profiler figures summed over every plan and segment run of one device, when
 * {@link TornadoOptions#profile()} is on; read through {@code AbstractDevice.backendCounters()}
 * (nanoseconds, then bytes, then executions).
 */
final class TornadoProfile {

    /** The counters' names, in the order of {@link #totals}. */
    private static final String[] NAMES = {"tornado.total_ns", "tornado.kernel_ns", "tornado.copy_in_ns",
            "tornado.copy_out_ns", "tornado.dispatch_ns", "tornado.compile_ns", "tornado.copy_in_bytes",
            "tornado.copy_out_bytes", "tornado.executions"};
    private static final int COPY_OUT_BYTES = 7;

    private final boolean enabled;
    private final long[] totals = new long[NAMES.length];

    TornadoProfile(boolean enabled) {
        this.enabled = enabled;
    }

    boolean enabled() {
        return enabled;
    }

    /** Turns TornadoVM's silent profiler on for a plan when profiling. */
    void attach(TornadoExecutionPlan plan) {
        if (enabled) {
            plan.withProfiler(ProfilerMode.SILENT);
        }
    }

    /** Adds one execution's figures. */
    void add(TornadoExecutionResult r) {
        if (!enabled) {
            return;
        }
        TornadoProfilerResult p = r.getProfilerResult();
        totals[0] += p.getTotalTime();
        totals[1] += p.getDeviceKernelTime();
        totals[2] += p.getDeviceWriteTime();
        totals[3] += p.getDeviceReadTime();
        totals[4] += p.getDataTransferDispatchTime() + p.getKernelDispatchTime();
        totals[5] += p.getCompileTime();
        totals[6] += p.getTotalBytesCopyIn();
        totals[COPY_OUT_BYTES] += p.getTotalBytesCopyOut();
        totals[8]++;
    }

    /** Adds the bytes of a copy back that TornadoVM's profiler does not count (a segment's transfer on demand). */
    void addCopyOut(long bytes) {
        if (enabled) {
            totals[COPY_OUT_BYTES] += bytes;
        }
    }

    /** The sums so far (nothing when profiling is off). */
    Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        if (enabled) {
            for (int i = 0; i < NAMES.length; i++) {
                m.put(NAMES[i], totals[i]);
            }
        }
        return m;
    }
}
