package dev.nola.kernels.opencl;

import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;

/** Run in a child JVM by {@link OpenClFaultsTest}: prints what the opencl backend reports, then uses the cpu backend. */
public final class NoPlatformProbe {

    private NoPlatformProbe() {
    }

    public static void main(String[] args) {
        Backend b = Backends.find("opencl").orElseThrow();
        System.out.println("available=" + b.availability().available());
        System.out.println("reason=" + b.availability().reason());
        System.out.println("devices=" + b.devices().size());
        try (Device d = Backends.open("opencl:0:0")) {
            System.out.println("open=unexpectedly opened " + d.id());
        } catch (RuntimeException e) {
            System.out.println("open=" + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        try (Device cpu = Backends.open("auto"); Tensor t = cpu.allocate(2, 3)) {
            cpu.random().basis(new BasisStream(1, 2, 0, 1f), 0, 2, t);
            System.out.println(cpu.id().equals("cpu") && cpu.read(t).length == 6 ? "cpu=ok" : "cpu=wrong " + cpu.id());
        }
    }
}
