package dev.nola.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The peer figure for sgemm: numpy's float32 matmul (its BLAS, OpenBLAS in the wheels) on the same
 * shape, measured by running {@code python3} with a small script; best of several repetitions.
 */
final class NumpyPeer {

    /** GFLOP/s, or NaN with the reason when python3 or numpy is not there. */
    record Result(double gflops, String detail) {
    }

    private static final String SCRIPT = String.join("\n",
            "import sys, time",
            "import numpy as np",
            "n = int(sys.argv[1]); reps = int(sys.argv[2])",
            "rng = np.random.default_rng(1)",
            "a = rng.random((n, n), dtype=np.float32); b = rng.random((n, n), dtype=np.float32)",
            "c = a @ b; c = a @ b",
            "best = float('inf')",
            "for _ in range(reps):",
            "    t = time.perf_counter(); np.matmul(a, b, out=c); best = min(best, time.perf_counter() - t)",
            "print('GFLOPS', 2.0 * n ** 3 / best / 1e9, np.__version__)",
            "");

    private NumpyPeer() {
    }

    static Result sgemm(int n, int reps) {
        ProcessBuilder pb = new ProcessBuilder(List.of("python3", "-c", SCRIPT, Integer.toString(n), Integer.toString(reps)));
        pb.redirectErrorStream(true);
        try {
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(Double.NaN, "python3 timed out");
            }
            String text = new String(out, StandardCharsets.UTF_8).trim();
            for (String line : text.split("\n")) {
                String[] w = line.trim().split("\\s+");
                if (w.length >= 3 && w[0].equals("GFLOPS")) {
                    return new Result(Double.parseDouble(w[1]), "numpy " + w[2]);
                }
            }
            return new Result(Double.NaN, "python3 exited " + p.exitValue() + ": " + text);
        } catch (IOException e) {
            return new Result(Double.NaN, "python3 not runnable: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Double.NaN, "interrupted");
        }
    }
}
