package dev.nola.bench;

import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A STREAM-like triad in Java, {@code a[i] = b[i] + s·c[i]} over float arrays far larger than the
 * last-level cache, parallel over the common fork-join pool: the memory bandwidth a memory-bound
 * kernel on this JVM can hope for. Counted as STREAM does: 12 bytes per element (two reads, one
 * write; write-allocate traffic not counted).
 */
final class Triad {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int CHUNK = 1 << 16;

    private Triad() {
    }

    /** Best GB/s over the repetitions, with arrays of {@code n} floats each. */
    static Timing.Result measure(int n, int minReps) {
        float[] a = new float[n];
        float[] b = Fixtures.random(1, n, 1);
        float[] c = Fixtures.random(2, n, 1);
        float s = 3f;
        FloatVector sv = FloatVector.broadcast(S, s);
        int chunks = (n + CHUNK - 1) / CHUNK;
        return Timing.measure(2, minReps, 1.0, () -> IntStream.range(0, chunks).parallel().forEach(ch -> {
            int i0 = ch * CHUNK;
            int i1 = Math.min(n, i0 + CHUNK);
            int i = i0;
            for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += S.length()) {
                FloatVector.fromArray(S, c, i).fma(sv, FloatVector.fromArray(S, b, i)).intoArray(a, i);
            }
            for (; i < i1; i++) {
                a[i] = b[i] + s * c[i];
            }
        }));
    }

    static double bytes(int n) {
        return 12.0 * n;
    }
}
