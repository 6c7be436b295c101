package dev.nola.kernels;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/** The open tensors of one device, so that closing the device closes them all (and tests can count them). */
public final class LiveTensors {

    private final Set<AbstractTensor> open = Collections.newSetFromMap(new IdentityHashMap<>());

    void add(AbstractTensor t) {
        open.add(t);
    }

    void remove(AbstractTensor t) {
        open.remove(t);
    }

    /** Number of open tensors. */
    public int count() {
        return open.size();
    }

    /** Closes every open tensor. */
    public void closeAll() {
        for (AbstractTensor t : open.toArray(new AbstractTensor[0])) {
            t.close();
        }
    }
}
