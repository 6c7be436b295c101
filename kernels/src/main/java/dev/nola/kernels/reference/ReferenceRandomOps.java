package dev.nola.kernels.reference;

import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.floats;

import dev.nola.kernels.AbstractRandomOps;
import dev.nola.kernels.BasisStream;
import dev.nola.kernels.Device;
import dev.nola.kernels.Philox;
import dev.nola.kernels.Tensor;

/** The oracle of the random family: one Philox block per element, straight from {@link Philox}. */
public final class ReferenceRandomOps extends AbstractRandomOps {

    public ReferenceRandomOps(Device device) {
        super(device);
    }

    @Override
    protected void doBasis(BasisStream s, int firstIndex, int count, long n, Tensor out) {
        float[] o = floats(out);
        int base = at(out);
        int[] block = new int[4];
        for (int j = 0; j < count; j++) {
            for (long e = 0; e < n; e++) {
                Philox.block((int) (e >>> 2), firstIndex + j, s.stream(), s.domain(),
                        (int) s.seed(), (int) (s.seed() >>> 32), block);
                o[(int) (base + j * n + e)] = Philox.uniform(block[(int) (e & 3)]) * s.scale();
            }
        }
    }
}
