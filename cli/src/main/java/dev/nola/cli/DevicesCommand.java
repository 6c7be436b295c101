package dev.nola.cli;

import dev.nola.kernels.Availability;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.DeviceInfo;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code nola devices}: one line per device, the device string first; unavailable backends with the reason. */
@Command(name = "devices", mixinStandardHelpOptions = true, description = "List every backend's devices (device string first) and why a backend is unavailable.")
final class DevicesCommand implements Callable<Integer> {

    /** Backends that live in optional modules, and how to get them when they are not on the class path. */
    private static final java.util.Map<String, String> KNOWN = java.util.Map.of(
            "tornado", "the TornadoVM backend is not on the class path (set TORNADOVM_HOME to a TornadoVM SDK; bin/nola then builds and loads it)",
            "opencl", "the OpenCL backend is not on the class path");

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        java.util.List<Backend> all = Backends.all();
        for (Backend b : all) {
            Availability a = b.availability();
            if (!a.available()) {
                out.println("# " + b.name() + ": unavailable: " + a.reason());
                continue;
            }
            for (DeviceInfo d : b.devices()) {
                out.println(d.describe());
            }
        }
        for (var known : KNOWN.entrySet()) {
            if (all.stream().noneMatch(b -> b.name().equals(known.getKey()))) {
                out.println("# " + known.getKey() + ": unavailable: " + known.getValue());
            }
        }
        out.flush();
        return 0;
    }
}
