package dev.nola.kernels.tornado;

import dev.nola.kernels.DeviceInfo;
import java.util.ArrayList;
import java.util.List;
import uk.ac.manchester.tornado.api.TornadoBackend;
import uk.ac.manchester.tornado.api.TornadoRuntime;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

/**
 * Every direct use of TornadoVM's runtime API for device discovery, kept out of
 * {@link dev.nola.kernels.tornado.TornadoBackend} so that the backend class loads (and reports
 * itself unavailable) on a JVM without TornadoVM.
 *
 * <p>Device mapping: {@code tornado:B:D} is device D of TornadoVM backend B, in the order of
 * {@code TornadoRuntime.getBackend(B).getDevice(D)} (the numbering {@code tornado --devices} prints).
 */
final class TornadoRuntimeAccess {

    /** TornadoVM bytecode buffer per task graph, set unless the JVM sets {@code tornado.tvm.maxbytecodesize}. */
    static final int BYTECODE_BYTES = 1 << 18;

    /**
     * Events per event list of a task graph, set unless the JVM sets {@code tornado.max.events}: lists
     * TornadoVM fills only when it tracks dependencies between commands ({@code tornado.vm.deps}, off by
     * default, or intra-plan concurrency, which we never turn on).
     */
    static final int SEGMENT_EVENTS = 16;
    /** The same with {@code tornado.vm.deps} on: a graph of ours records at most 32 tasks and its 240 arrays copied in and out. */
    static final int SEGMENT_EVENTS_WITH_DEPENDENCIES = 2048;

    private TornadoRuntimeAccess() {
    }

    /** The runtime, after making TornadoVM fail loudly instead of silently running kernels as plain Java. */
    static TornadoRuntime runtime() {
        if (System.getProperty("tornado.recover.bailout") == null) {
            System.setProperty("tornado.recover.bailout", "False");
        }
        if (System.getProperty("tornado.tvm.maxbytecodesize") == null) {
            // a segment's task graph (Segment: up to 64 tasks and the buffers of a model step) needs more
            // than the default 4096 bytes of TornadoVM bytecode, and an overflow surfaces as a bail-out
            System.setProperty("tornado.tvm.maxbytecodesize", String.valueOf(BYTECODE_BYTES));
        }
        if (System.getProperty("tornado.max.events") == null) {
            // Every task graph's interpreter keeps int[event lists][tornado.max.events] on the heap, 32,768
            // by default (128 KB a list); a segment's many graphs made that hundreds of MB of heap. The
            // lists hold the events a command waits for, which TornadoVM records only with tornado.vm.deps
            // (TornadoVMInterpreter.executeDependency); without it they stay empty, and at 2,048 a list
            // they were still 42 MB of live heap in a GPT-2 124M step (about 5,000 lists in 41 graphs;
            // GC.class_histogram), and its peak RSS 43 MB higher (LoRA, 1,287 → 1,244 MB at 16). An
            // overflow fails loudly ("event list is too small"), it is not silent.
            boolean deps = Boolean.parseBoolean(System.getProperty("tornado.vm.deps", "false"));
            System.setProperty("tornado.max.events", String.valueOf(deps ? SEGMENT_EVENTS_WITH_DEPENDENCIES : SEGMENT_EVENTS));
        }
        if (System.getProperty("tornado.device.memory") == null) {
            // TornadoVM caps what it allocates per device at 4 GB of its own accord; a GPT-2 124M step's
            // segments hold more. The device's own limit (and TornadoPlans' budget) applies instead.
            System.setProperty("tornado.device.memory", "1024GB");
        }
        return TornadoRuntimeProvider.getTornadoRuntime();
    }

    static List<DeviceInfo> devices() {
        TornadoRuntime rt = runtime();
        List<DeviceInfo> out = new ArrayList<>();
        for (int b = 0; b < rt.getNumBackends(); b++) {
            TornadoBackend backend = rt.getBackend(b);
            for (int d = 0; d < backend.getNumDevices(); d++) {
                out.add(info(b, d, backend.getDevice(d)));
            }
        }
        return out;
    }

    static TornadoDevice device(int backend, int device) {
        TornadoRuntime rt = runtime();
        if (backend < 0 || backend >= rt.getNumBackends()) {
            throw new IllegalArgumentException("tornado backend index " + backend + " does not exist; TornadoVM has "
                    + rt.getNumBackends() + " backend(s): " + devices().stream().map(DeviceInfo::id).toList());
        }
        TornadoBackend b = rt.getBackend(backend);
        if (device < 0 || device >= b.getNumDevices()) {
            throw new IllegalArgumentException("tornado device index " + device + " does not exist in backend " + backend
                    + " (" + b.getName() + ", " + b.getNumDevices() + " device(s))");
        }
        return b.getDevice(device);
    }

    static DeviceInfo info(int backend, int device, TornadoDevice d) {
        DeviceInfo.Type type = switch (d.getDeviceType()) {
            case CPU -> DeviceInfo.Type.CPU;
            case GPU -> DeviceInfo.Type.GPU;
            case ACCELERATOR, FPGA -> DeviceInfo.Type.ACCELERATOR;
            default -> DeviceInfo.Type.OTHER;
        };
        var phys = d.getPhysicalDevice();
        long[] wg = phys.getDeviceMaxWorkGroupSize();
        String version = d.getTornadoVMBackend() + " " + d.getDeviceOpenCLCVersion();
        return new DeviceInfo("tornado:" + backend + ":" + device, phys.getDeviceName(), d.getPlatformName(), type,
                version.trim(), phys.getDeviceMaxComputeUnits(), d.getMaxGlobalMemory(), d.getDeviceLocalMemorySize(),
                wg == null || wg.length == 0 ? 1 : wg[0], d.getMaxAllocMemory());
    }
}
