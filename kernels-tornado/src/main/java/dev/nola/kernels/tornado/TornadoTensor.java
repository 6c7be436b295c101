package dev.nola.kernels.tornado;

import dev.nola.kernels.AbstractTensor;
import dev.nola.kernels.DType;
import dev.nola.kernels.LiveTensors;
import java.lang.foreign.MemorySegment;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * A storage tensor of the {@code tornado} backend: an off-heap TornadoVM {@link FloatArray}
 * (float32) or {@link IntArray} (int32). The array is the host image of the data; each execution
 * plan that uses it holds its own device buffer, which plans keep resident across calls where the
 * contract allows (see {@link TornadoPlans}). Views of it are the contract's shared view class.
 *
 * <p>A float32 tensor normally lives in one of the device's arenas ({@link TornadoArenas}): its own
 * array is then a shallow view of its region of the arena's host memory, which the ops run one by one
 * use, while a recorded step addresses it as {@link #arena()} + {@link #base()}.
 *
 * <p>{@link #version()} counts writes (host writes, copies, op outputs), so a plan that keeps this
 * tensor on the device knows when its device copy is stale.
 */
final class TornadoTensor extends AbstractTensor {

    private FloatArray floats;
    private IntArray ints;
    private long version;
    /** The segment whose device buffer holds this tensor's latest data (the array is stale), or null. */
    private Segment owner;

    /** Where a float32 tensor lives among the device's arenas, or null (int32 tensors, arenas off). */
    private final TornadoArenas.Region region;

    TornadoTensor(TornadoVmDevice device, LiveTensors owner, DType dtype, int[] shape, int size,
                  TornadoArenas.Region region) {
        super(device, owner, dtype, shape, size);
        this.region = region;
        if (dtype == DType.INT32) {
            this.ints = new IntArray(size);
        } else {
            this.floats = region != null ? region.own() : new FloatArray(size);
        }
    }

    /** The arena this tensor's elements live in (from {@link #base()}), or null when it has an array of its own only. */
    FloatArray arena() {
        requireOpen();
        return region == null ? null : region.chunk().array;
    }

    /** The element index of this tensor's first element in its {@link #arena()} (0 without one). */
    int base() {
        return region == null ? 0 : region.base();
    }

    TornadoArenas.Region region() {
        return region;
    }

    /** The off-heap float array; valid until closed. The ops' checks guarantee float32 here. */
    FloatArray array() {
        requireOpen();
        if (floats == null) {
            throw new IllegalStateException(this + " is int32; TornadoVM kernels take float32 tensors");
        }
        return floats;
    }

    /** The off-heap int array of an int32 tensor (ids, targets); valid until closed. */
    IntArray intArray() {
        requireOpen();
        if (ints == null) {
            throw new IllegalStateException(this + " is float32; expected an int32 tensor");
        }
        return ints;
    }

    /** The array itself, {@link IntArray} or {@link FloatArray}: what a task graph transfers. */
    Object data() {
        return dtype() == DType.INT32 ? intArray() : array();
    }

    /** The array's elements (without TornadoVM's header), for host transfers of either element type. */
    MemorySegment segment() {
        requireOpen();
        return floats != null ? floats.getSegment() : ints.getSegment();
    }

    long version() {
        return version;
    }

    void touch() {
        version++;
    }

    /** Marks the latest data as living in {@code segment}'s device buffer (after it wrote this tensor). */
    void ownedBy(Segment segment) {
        owner = segment;
    }

    Segment owner() {
        return owner;
    }

    /** Makes the array current: copies the latest data back from the segment that holds it, if any. */
    void toHost() {
        if (owner != null) {
            Segment s = owner;
            owner = null;
            s.pull(this);
        }
    }

    @Override
    protected void release() {
        ((TornadoVmDevice) device()).evict(this);
        if (region != null) {
            ((TornadoVmDevice) device()).arenas().free(region);
        }
        floats = null;
        ints = null;
    }
}
