package dev.nola.kernels;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * The open tensors of one device, so that closing the device closes them all (and tests can count
 * them), and the bytes they hold: now and at the most since the last {@link #resetPeak()}.
 */
public final class LiveTensors {

    private final Set<AbstractTensor> open = Collections.newSetFromMap(new IdentityHashMap<>());
    private long bytes;
    private long peakBytes;

    void add(AbstractTensor t) {
        if (open.add(t)) {
            bytes += t.size() * t.dtype().bytes();
            peakBytes = Math.max(peakBytes, bytes);
        }
    }

    void remove(AbstractTensor t) {
        if (open.remove(t)) {
            bytes -= t.size() * t.dtype().bytes();
        }
    }

    /** Bytes of the open tensors' elements (backends may round allocations up; this does not). */
    public long bytes() {
        return bytes;
    }

    /** The most {@link #bytes()} has been since the device opened or since {@link #resetPeak()}. */
    public long peakBytes() {
        return peakBytes;
    }

    /** Starts a new peak from the bytes open now. */
    public void resetPeak() {
        peakBytes = bytes;
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
