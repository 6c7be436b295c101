package dev.nola.models.data;

/**
 * Seeded permutations that are the same on every JVM and platform: SplitMix64 (Steele, Lea and Flood,
 * 2014) drives a Fisher–Yates shuffle, with bounded draws by rejection so every permutation is
 * equally likely. The algorithm is fixed here rather than taken from {@code java.util}, whose
 * generators' outputs are not part of their contracts. A (seed, stream) pair names one sequence;
 * streams separate uses of one seed (the held-out split, each epoch, each class).
 */
public final class SeededShuffle {

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private long state;

    /** A generator for {@code seed} and {@code stream}. */
    public SeededShuffle(long seed, long stream) {
        this.state = mix(seed ^ mix(stream + GOLDEN));
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The next 64 uniformly distributed bits. */
    public long nextLong() {
        state += GOLDEN;
        return mix(state);
    }

    /** A uniform integer in [0, bound), bound ≥ 1. */
    public int nextInt(int bound) {
        if (bound < 1) {
            throw new IllegalArgumentException("bound = " + bound + "; expected ≥ 1");
        }
        // accept x below the largest multiple of bound in [0, 2^63), so each residue is equally likely
        long rem = ((Long.MAX_VALUE % bound) + 1) % bound;
        while (true) {
            long x = nextLong() >>> 1;
            if (x <= Long.MAX_VALUE - rem) {
                return (int) (x % bound);
            }
        }
    }

    /** Shuffles {@code a} in place (Fisher–Yates). */
    public void shuffle(int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** A uniformly random permutation of 0..n−1 for (seed, stream). */
    public static int[] permutation(int n, long seed, long stream) {
        if (n < 0) {
            throw new IllegalArgumentException("n = " + n + "; expected ≥ 0");
        }
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        new SeededShuffle(seed, stream).shuffle(p);
        return p;
    }
}
