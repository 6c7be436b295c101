package dev.nola.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The peer figure for sgemm: numpy's float32 matmul (OpenBLAS in the wheels) on the same shape, run by
 * {@code python3} with a small script; best and median of several repetitions, and the OpenBLAS
 * kernel it ran (its core name). {@code OPENBLAS_CORETYPE} and {@code OPENBLAS_L2_SIZE} are removed from
 * the peer's environment alone: some machines set them to pin OpenBLAS to older kernels.
 */
final class NumpyPeer {

    /** GFLOP/s of the best and the median repetition, or NaN with the reason when python3 or numpy is missing. */
    record Result(double gflops, double medianGflops, String detail) {
    }

    private static final String SCRIPT = String.join("\n",
            "import ctypes, sys, time",
            "import numpy as np",
            "n = int(sys.argv[1]); reps = int(sys.argv[2])",
            "rng = np.random.default_rng(1)",
            "a = rng.random((n, n), dtype=np.float32); b = rng.random((n, n), dtype=np.float32)",
            "c = a @ b; c = a @ b",
            "ts = []",
            "for _ in range(reps):",
            "    t = time.perf_counter(); np.matmul(a, b, out=c); ts.append(time.perf_counter() - t)",
            "ts.sort()",
            "core = 'unknown'",
            "for line in open('/proc/self/maps'):",
            "    if 'openblas' in line.lower() and line.split()[-1].startswith('/'):",
            "        lib = ctypes.CDLL(line.split()[-1])",
            "        for sym in ('openblas_get_corename', 'scipy_openblas_get_corename64_', 'openblas_get_corename64_'):",
            "            if hasattr(lib, sym):",
            "                f = getattr(lib, sym); f.restype = ctypes.c_char_p; core = f().decode(); break",
            "        break",
            "flop = 2.0 * n ** 3",
            "print('GFLOPS', flop / ts[0] / 1e9, flop / ts[len(ts) // 2] / 1e9, np.__version__, core)",
            "");

    /**
     * numpy's side of {@link Paired}: answers {"group": "peaks", "op": "sgemm", "shape": "NxNxN", "reps"}
     * lines with their wall times (inputs built and run once on the first request of a shape), after a
     * meta line with numpy's version and a "ready" line; any other case is an error.
     */
    static final String SERVE = String.join("\n",
            "import json, sys, time",
            "import numpy as np",
            "print(json.dumps({'meta': {'numpy': np.__version__}}), flush=True)",
            "print(json.dumps({'ready': 1}), flush=True)",
            "cur = None",
            "for line in sys.stdin:",
            "    q = json.loads(line); rec = {'group': q['group'], 'op': q['op'], 'shape': q['shape']}",
            "    dims = q['shape'].split('x')",
            "    if (q['group'], q['op']) != ('peaks', 'sgemm') or len(set(dims)) != 1:",
            "        rec['error'] = 'no such case'; print(json.dumps(rec), flush=True); continue",
            "    n = int(dims[0])",
            "    if cur is None or cur[0] != n:",
            "        rng = np.random.default_rng(1)",
            "        a = rng.random((n, n), dtype=np.float32); b = rng.random((n, n), dtype=np.float32)",
            "        c = a @ b; cur = (n, a, b, c)",
            "    _, a, b, c = cur",
            "    ts = []",
            "    for _ in range(int(q['reps'])):",
            "        t = time.perf_counter(); np.matmul(a, b, out=c); ts.append(time.perf_counter() - t)",
            "    rec['times_s'] = ts; print(json.dumps(rec), flush=True)",
            "");

    private NumpyPeer() {
    }

    static Result sgemm(int n, int reps) {
        ProcessBuilder pb = new ProcessBuilder(List.of("python3", "-c", SCRIPT, Integer.toString(n), Integer.toString(reps)));
        pb.environment().remove("OPENBLAS_CORETYPE");
        pb.environment().remove("OPENBLAS_L2_SIZE");
        pb.redirectErrorStream(true);
        try {
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(Double.NaN, Double.NaN, "python3 timed out");
            }
            String text = new String(out, StandardCharsets.UTF_8).trim();
            for (String line : text.split("\n")) {
                String[] w = line.trim().split("\\s+");
                if (w.length >= 5 && w[0].equals("GFLOPS")) {
                    return new Result(Double.parseDouble(w[1]), Double.parseDouble(w[2]),
                            "numpy " + w[3] + ", OpenBLAS core " + w[4]);
                }
            }
            return new Result(Double.NaN, Double.NaN, "python3 exited " + p.exitValue() + ": " + text);
        } catch (IOException e) {
            return new Result(Double.NaN, Double.NaN, "python3 not runnable: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Double.NaN, Double.NaN, "interrupted");
        }
    }
}
