package dev.nola.bench;

import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.List;

/**
 * One timed operation at one shape.
 *
 * @param group the suite group (random, nola, linalg, adapter, nn, optim, layer, scaling)
 * @param op    the operation's name, as the PyTorch peer names its counterpart
 * @param shape the shape in words, e.g. {@code 512x768x2304}; with group and op, the key that pairs a
 *              result with the peer's
 * @param flops floating-point operations per call (0 where counting them means nothing, e.g. Philox)
 * @param bytes bytes a call must move to or from memory at least (inputs read once, outputs written once)
 * @param setup makes the inputs on a device and returns the runnable op
 */
record Case(String group, String op, String shape, double flops, double bytes, Setup setup) {

    /** Builds the case on a device; {@code check} asks for the version the reference runs (see {@link Prepared}). */
    @FunctionalInterface
    interface Setup {
        Prepared on(Arena arena, boolean check);
    }

    /**
     * An op ready to run on one device.
     *
     * @param run     the op, without synchronisation
     * @param outputs what it writes, compared with the reference's before timing. The check version
     *                may cut the leading dimension (rows of a matmul, tokens of a loss): then each
     *                reference output is a prefix of the device's, and only that prefix is compared.
     */
    record Prepared(Runnable run, List<Tensor> outputs) {
    }

    /** Runs the op once more and waits for it. */
    static void once(Device d, Prepared p) {
        p.run().run();
        d.synchronize();
    }
}
