package dev.nola.models.transformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.nola.kernels.Backends;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.models.spec.Init;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.spec.WeightTable;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link DeviceWeights#random} draws each tensor in chunks straight into the device (so the heap never
 * holds the model): whatever the chunk, the values are those of one Box–Muller pass per tensor in the draw
 * order, computed here independently from the same generator, odd-sized tensors and bfloat16 included.
 */
class DrawnWeightsTest {

    /** Odd sizes (35, 13) so a Box–Muller pair is cut at a tensor's end; drawn in an order unlike the table's. */
    private static final WeightTable TABLE = new WeightTable(List.of(
            WeightSpec.base("a", Init.normal(0.02), 7, 5),
            WeightSpec.base("ones", Init.ONES, 4),
            WeightSpec.base("b", Init.normal(0.5), 13),
            WeightSpec.base("zeros", Init.ZEROS, 3),
            WeightSpec.base("c", Init.normal(1.0), 4, 6)));
    private static final List<String> ORDER = List.of("c", "a", "b");
    private static final long SEED = 41;

    /** The draws of one pass over each tensor in ORDER, as GPT-2 (pairs) or the ViT (cos alone) makes them. */
    private static Map<String, float[]> expected(boolean pairs) {
        SplittableRandom r = new SplittableRandom(SEED);
        Map<String, float[]> out = new java.util.HashMap<>();
        for (String name : ORDER) {
            WeightSpec w = TABLE.get(name);
            float[] v = new float[w.elements()];
            for (int i = 0; i < v.length; i += pairs ? 2 : 1) {
                double u1 = 1.0 - r.nextDouble();
                double u2 = r.nextDouble();
                double m = Math.sqrt(-2 * Math.log(u1)) * w.init().std();
                v[i] = (float) (m * Math.cos(2 * Math.PI * u2));
                if (pairs && i + 1 < v.length) {
                    v[i + 1] = (float) (m * Math.sin(2 * Math.PI * u2));
                }
            }
            out.put(name, v);
        }
        return out;
    }

    @Test
    void everyChunkSizeGivesTheDrawsOfOnePass() {
        try (Device d = Backends.open("reference")) {
            for (DeviceWeights.Sampler s : DeviceWeights.Sampler.values()) {
                Map<String, float[]> want = expected(s == DeviceWeights.Sampler.BOX_MULLER_PAIRS);
                for (int chunk : new int[] {2, 6, 34, 36, DeviceWeights.DRAW_CHUNK}) {
                    try (DeviceWeights w = DeviceWeights.random(d, TABLE, SEED, ORDER, s, Set.of(), chunk)) {
                        for (String name : ORDER) {
                            assertArrayEquals(want.get(name), d.read(w.get(name)), s + ", chunk " + chunk + ", " + name);
                        }
                        assertArrayEquals(new float[] {1, 1, 1, 1}, d.read(w.get("ones")));
                        assertArrayEquals(new float[3], d.read(w.get("zeros")));
                        assertEquals(List.of("a", "ones", "b", "zeros", "c"), List.copyOf(w.all().keySet()), "table order");
                    }
                }
            }
        }
    }

    @Test
    void halfTensorsHoldTheRoundedDraws() {
        try (Device d = Backends.open("reference");
             DeviceWeights w = DeviceWeights.random(d, TABLE, SEED, ORDER, DeviceWeights.Sampler.BOX_MULLER_PAIRS, Set.of("a"), 4)) {
            float[] a = expected(true).get("a");
            float[] got = d.read(w.get("a"));
            assertEquals(DType.BF16, w.get("a").dtype());
            for (int i = 0; i < a.length; i++) {
                assertEquals(BFloat16.widen(BFloat16.round(a[i])), got[i], 0f, "a[" + i + "]");
            }
        }
    }

    @Test
    void anOddChunkAndAnUndrawnNormalAreRefused() {
        try (Device d = Backends.open("reference")) {
            IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                    () -> DeviceWeights.random(d, TABLE, SEED, ORDER, DeviceWeights.Sampler.BOX_MULLER_PAIRS, Set.of(), 5));
            assertEquals("chunkFloats is 5; expected an even count ≥ 2", odd.getMessage());
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> DeviceWeights.random(d, TABLE, SEED, List.of("c", "a"), DeviceWeights.Sampler.BOX_MULLER_PAIRS, Set.of()));
            assertEquals("tensor b draws normals but is not in the draw order", missing.getMessage());
        }
    }
}
