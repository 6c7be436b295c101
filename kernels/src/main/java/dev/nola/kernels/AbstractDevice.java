package dev.nola.kernels;

/**
 * What every backend's device shares: the open/closed state, the registry of open tensors, and the
 * argument checks of {@link #write}, {@link #read} and {@link #copy}, so a bad range or a closed device
 * fails the same way on every backend (as {@link AbstractOps} does for the ops). Backends implement the
 * {@code do…} transfers, which may assume valid, open, same-device tensors, and hook into
 * {@link #close()} through {@link #drain()} and {@link #release()}.
 */
public abstract class AbstractDevice implements Device {

    /** The device's open tensors; backend tensors join it when created and it is closed with the device. */
    protected final LiveTensors live = new LiveTensors();
    private boolean closed;

    /** How the device names itself in messages: its id, unless a backend says more. */
    protected String describe() {
        return id();
    }

    /** Throws {@link IllegalStateException} once the device is closed. */
    protected final void requireOpen() {
        if (closed) {
            throw new IllegalStateException("device " + describe() + " is closed");
        }
    }

    @Override
    public final boolean isClosed() {
        return closed;
    }

    /** Number of open tensors (for leak tests). */
    public final int liveTensors() {
        return live.count();
    }

    @Override
    public final void write(Tensor dst, long dstOffset, float[] src, int srcOffset, int length) {
        requireOpen();
        Checks.on(this, "dst", dst);
        Checks.notNull("src", src);
        Checks.range("src", srcOffset, length, src.length);
        Checks.range("dst", dstOffset, length, dst.size());
        doWrite(dst, dstOffset, src, srcOffset, length);
    }

    @Override
    public final void read(Tensor src, long srcOffset, float[] dst, int dstOffset, int length) {
        requireOpen();
        Checks.on(this, "src", src);
        Checks.notNull("dst", dst);
        Checks.range("src", srcOffset, length, src.size());
        Checks.range("dst", dstOffset, length, dst.length);
        doRead(src, srcOffset, dst, dstOffset, length);
    }

    @Override
    public final void copy(Tensor src, Tensor dst) {
        requireOpen();
        Checks.on(this, "src", src);
        Checks.on(this, "dst", dst);
        if (src.size() != dst.size()) {
            throw new IllegalArgumentException("src has " + src.size() + " elements, dst has " + dst.size() + "; sizes must match");
        }
        doCopy(src, dst);
    }

    @Override
    public final void synchronize() {
        requireOpen();
        doSynchronize();
    }

    /** Closes every tensor and the backend's resources; idempotent. */
    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            drain();
        } finally {
            try {
                live.closeAll();
            } finally {
                release();
            }
        }
    }

    /** Copies {@code length} floats from the host into a checked tensor. */
    protected abstract void doWrite(Tensor dst, long dstOffset, float[] src, int srcOffset, int length);

    /** Copies {@code length} floats of a checked tensor to the host, after all enqueued work. */
    protected abstract void doRead(Tensor src, long srcOffset, float[] dst, int dstOffset, int length);

    /** Copies one checked tensor into another of the same size. */
    protected abstract void doCopy(Tensor src, Tensor dst);

    /** Waits for enqueued work; nothing for devices that run synchronously. */
    protected void doSynchronize() {
    }

    /** First step of close: finish enqueued work (the device already counts as closed). */
    protected void drain() {
    }

    /** Last step of close, after every tensor is closed: free the backend's own resources. */
    protected void release() {
    }
}
