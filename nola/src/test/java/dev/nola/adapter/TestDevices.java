package dev.nola.adapter;

import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.DeviceInfo;
import java.util.ArrayList;
import java.util.List;

/** The device ids of every available backend on the class path (reference and cpu at least). */
public final class TestDevices {

    private TestDevices() {
    }

    public static List<String> ids() {
        List<String> ids = new ArrayList<>();
        for (Backend b : Backends.all()) {
            if (b.availability().available()) {
                for (DeviceInfo d : b.devices()) {
                    ids.add(d.id());
                }
            }
        }
        if (!ids.contains("reference") || !ids.contains("cpu")) {
            throw new IllegalStateException("expected at least the reference and cpu devices, found " + ids);
        }
        return ids;
    }
}
