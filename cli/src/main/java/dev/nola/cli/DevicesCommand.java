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
@Command(name = "devices", description = "List every backend's devices (device string first) and why a backend is unavailable.")
final class DevicesCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (Backend b : Backends.all()) {
            Availability a = b.availability();
            if (!a.available()) {
                out.println("# " + b.name() + ": unavailable: " + a.reason());
                continue;
            }
            for (DeviceInfo d : b.devices()) {
                out.println(d.describe());
            }
        }
        out.flush();
        return 0;
    }
}
