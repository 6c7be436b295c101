package dev.nola.kernels;

/**
 * Host↔device transfers counted by a device ({@link AbstractDevice#transfers()}): totals since the
 * device opened; subtract two readings ({@link #since}) for the transfers of a piece of work.
 *
 * @param calls         transfers made (writes, uploads, reads)
 * @param bytesToDevice bytes written from the host
 * @param bytesToHost   bytes read back to the host
 * @param nanos         wall time of the copies, in nanoseconds, excluding the wait for enqueued work
 */
public record TransferCounts(long calls, long bytesToDevice, long bytesToHost, long nanos) {

    /** What happened between {@code earlier} and this reading. */
    public TransferCounts since(TransferCounts earlier) {
        return new TransferCounts(calls - earlier.calls, bytesToDevice - earlier.bytesToDevice,
                bytesToHost - earlier.bytesToHost, nanos - earlier.nanos);
    }

    /** {@link #nanos} in seconds. */
    public double seconds() {
        return nanos * 1e-9;
    }
}
