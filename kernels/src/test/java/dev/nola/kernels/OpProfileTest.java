package dev.nola.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The profiled pass's counts: each op once under its {@code family.op} name, a composed op as itself
 * alone (the reference's adapter forward is two matmuls, which must not be counted again), copies,
 * matmul shapes, results unchanged, and nothing counted once the profile is removed.
 */
class OpProfileTest {

    @Test
    void countsEachOutermostOpOnceAndLeavesResultsAlone() {
        try (AbstractDevice d = (AbstractDevice) Backends.open("reference")) {
            Tensor x = d.upload(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);   // [N = 2, in = 3]
            Tensor a = d.upload(new float[] {1, 0, 1, 0, 1, 0}, 2, 3);   // [r = 2, in = 3]
            Tensor b = d.upload(new float[] {1, 2, 3, 4}, 2, 2);         // [out = 2, r = 2]
            Tensor h = d.allocate(2, 2);
            Tensor y = d.allocate(2, 2);
            Tensor c = d.allocate(3, 3);
            OpProfile p = new OpProfile();
            d.profile(p);
            d.adapter().forward(x, a, b, 0.5f, h, y);
            d.linalg().matmul(true, false, 1f, x, x, 0f, c);
            d.linalg().matmul(true, false, 1f, x, x, 0f, c);
            d.copy(h, y);
            d.profile(null);
            d.linalg().scale(2f, c); // not profiled

            assertEquals(List.of("adapter.forward", "linalg.matmul", "device.copy"), List.copyOf(p.ops().keySet()));
            assertEquals(1, p.ops().get("adapter.forward")[0]);
            assertEquals(2, p.ops().get("linalg.matmul")[0]);
            assertEquals(1, p.ops().get("device.copy")[0]);
            assertTrue(p.ops().values().stream().allMatch(v -> v[1] > 0));
            assertEquals(p.ops().values().stream().mapToLong(v -> v[1]).sum(), p.totalNanos());
            // xᵀ·x: [3, 2]·[2, 3]; only the direct matmuls, the adapter's own are inside it
            assertEquals(List.of("3×3×2 Aᵀ"), List.copyOf(p.matmulShapes().keySet()));
            assertEquals(2, p.matmulShapes().get("3×3×2 Aᵀ")[0]);
            // h = x·Aᵀ = [[4, 2], [10, 5]], copied into y
            assertArrayEquals(new float[] {4, 2, 10, 5}, d.read(y));
            assertEquals(1 * 1 + 4 * 4, d.read(c)[0] / 2, 0f); // (xᵀ·x)₀₀, scaled once, after the profile
            assertFalse(d.nn() instanceof java.lang.reflect.Proxy);
        }
    }

    @Test
    void batchedMatmulShapesNameTheBatch() {
        assertEquals("128×128×64 Bᵀ batch 48", OpProfile.matmulShape("matmulBatched",
                new Object[] {false, true, 48, 128, 128, 64, 1f, null, 0, 0L, null, 0, 0L, 0f, null, 0, 0L}));
    }
}
