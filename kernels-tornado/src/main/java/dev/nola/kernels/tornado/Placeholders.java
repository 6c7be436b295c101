package dev.nola.kernels.tornado;

import java.util.List;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * One-element arrays that stand where a kernel needs an array it never touches: an absent optional
 * input, and the spare output slots beyond a call's distinct outputs ({@link KernelCall#slots}), which
 * must differ from each other and from every array the kernel writes. A compiled plan sends the ones it
 * uses once; a {@link Segment} sends them all to each of its graphs.
 */
final class Placeholders {

    /** Output slots a kernel has at most. */
    static final int SPARE_SLOTS = 3;

    private final FloatArray absent = new FloatArray(1);
    private final FloatArray[] spare = {new FloatArray(1), new FloatArray(1), new FloatArray(1)};

    FloatArray absent() {
        return absent;
    }

    /** The spare for output slot {@code slot}. */
    FloatArray spare(int slot) {
        return spare[slot];
    }

    List<Object> all() {
        return List.of(absent, spare[0], spare[1], spare[2]);
    }
}
