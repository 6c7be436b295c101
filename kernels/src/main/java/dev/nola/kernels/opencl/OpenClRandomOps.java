package dev.nola.kernels.opencl;

import static dev.nola.kernels.opencl.ClLaunch.ELEMENTWISE_GROUP;
import static dev.nola.kernels.opencl.ClLaunch.args;
import static dev.nola.kernels.opencl.ClLaunch.groupSize;
import static dev.nola.kernels.opencl.ClLaunch.roundUp;

import dev.nola.kernels.AbstractRandomOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Tensor;
import org.jocl.cl_kernel;

/** The random family as OpenCL kernels ({@code random.cl} after {@code philox.cl}). */
final class OpenClRandomOps extends AbstractRandomOps {

    /** Work-items per work-group for the CPU-layout generators (each already 8 wide). */
    static final int WIDE_GROUP = 8;

    private final OpenClDevice dev;

    OpenClRandomOps(OpenClDevice device) {
        super(device);
        this.dev = device;
    }

    static int keyLow(BasisStream s) {
        return (int) s.seed();
    }

    static int keyHigh(BasisStream s) {
        return (int) (s.seed() >>> 32);
    }

    @Override
    protected void doBasis(BasisStream s, int firstIndex, int count, long n, Tensor out) {
        // CPU layout: 8 blocks per work-item, generated 8-wide
        boolean wide = dev.cpuLayout();
        cl_kernel k = dev.kernel("random", wide ? "basis_x8" : "basis", dev.layoutOptions);
        long blocks = (n + 3) / 4;
        args(k, out, n, (int) blocks, firstIndex, s.stream(), s.domain(), keyLow(s), keyHigh(s), s.scale());
        int g = groupSize(dev, k, wide ? WIDE_GROUP : ELEMENTWISE_GROUP);
        long items = wide ? (blocks + 7) / 8 : blocks;
        dev.launch(k, new long[] {roundUp(items, g), count}, new long[] {g, 1});
    }
}
