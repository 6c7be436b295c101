package dev.nola.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The report driver: in one run, measures this machine's ceilings (a Java STREAM-like triad,
 * numpy's sgemm) and each device's figures as fractions of them, prints a table and optionally
 * writes JSON.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp bench/target/nola-bench.jar dev.nola.bench.BenchMain report [--device cpu,opencl:0:0]
 *      [--out report.json] [--reps N] [--max-elements E] [--gemm-size N] [--no-numpy]
 * </pre>
 */
public final class BenchMain {

    /** Floats per triad array: 64 MiB each, twice the L3 of most machines, far above L2. */
    static final int TRIAD_N = 1 << 24;

    private BenchMain() {
    }

    /** Runs the report; bad arguments or an unavailable device print one line and exit with status 2. */
    public static void main(String[] args) throws IOException {
        try {
            report(args);
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("nola bench: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void report(String[] args) throws IOException {
        Locale.setDefault(Locale.ROOT);
        if (args.length == 0 || !args[0].equals("report")) {
            System.err.println("usage: BenchMain report [--device cpu[,ID...]] [--out FILE.json] [--reps N]"
                    + " [--max-elements E] [--gemm-size N] [--no-numpy]");
            System.exit(2);
        }
        List<String> devices = List.of("cpu");
        Path out = null;
        int reps = 5;
        long maxElements = 1L << 26;
        boolean numpy = true;
        int gemm = DeviceFigures.GEMM;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--device" -> devices = List.of(value(args, ++i, "--device").split(","));
                case "--out" -> out = Path.of(value(args, ++i, "--out"));
                case "--reps" -> reps = positive("--reps", value(args, ++i, "--reps"));
                case "--max-elements" -> maxElements = positive("--max-elements", value(args, ++i, "--max-elements"));
                case "--no-numpy" -> numpy = false;
                case "--gemm-size" -> gemm = positive("--gemm-size", value(args, ++i, "--gemm-size"));
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'; expected --device,"
                        + " --out, --reps, --max-elements, --gemm-size or --no-numpy");
            }
        }
        devices.forEach(dev.nola.config.DeviceSpec::parse); // a typo fails now, not after a minute of measuring
        Map<String, Object> report = run(devices, reps, maxElements, gemm, numpy, System.out);
        if (out != null) {
            writeAtomically(out, Json.write(report));
            System.out.println("wrote " + out);
        }
    }

    static Map<String, Object> run(List<String> devices, int reps, long maxElements, int gemm, boolean numpy,
                                   PrintStream log) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("java", Runtime.version().toString());
        r.put("processors", Runtime.getRuntime().availableProcessors());
        log.println("measuring triad (" + TRIAD_N + " floats per array) ...");
        Timing.Result triad = Triad.measure(TRIAD_N, reps);
        double triadGbps = Triad.bytes(TRIAD_N) / triad.best() / 1e9;
        r.put("triad_gbps", triadGbps);
        log.printf("  triad best %.2f ms, median %.2f ms = %.2f GB/s%n", triad.best() * 1e3, triad.median() * 1e3, triadGbps);
        // numpy runs before and after the devices and the better figure counts: on a shared machine
        // a load change between the two measurements must not flatter the devices' ratio.
        NumpyPeer.Result before = numpy ? NumpyPeer.sgemm(gemm, 10) : new NumpyPeer.Result(Double.NaN, "skipped");
        log.printf("  numpy sgemm %d^3: %.1f GFLOP/s (%s)%n", gemm, before.gflops(), before.detail());
        List<Map<String, Object>> figures = new ArrayList<>();
        for (String d : devices) {
            log.println("measuring device " + d + " ...");
            figures.add(new DeviceFigures(d.trim(), reps, maxElements, gemm, log).measure());
        }
        NumpyPeer.Result after = numpy ? NumpyPeer.sgemm(gemm, 10) : before;
        log.printf("  numpy sgemm %d^3 again: %.1f GFLOP/s%n", gemm, after.gflops());
        double npBest = Double.isNaN(before.gflops()) ? after.gflops()
                : Double.isNaN(after.gflops()) ? before.gflops() : Math.max(before.gflops(), after.gflops());
        r.put("sgemm_size", gemm);
        r.put("numpy_sgemm_gflops", npBest);
        r.put("numpy_sgemm_gflops_before_after", List.of(before.gflops(), after.gflops()));
        r.put("numpy_detail", before.detail());
        r.put("devices", figures);
        printTable(triadGbps, npBest, figures, log);
        return r;
    }

    @SuppressWarnings("unchecked")
    private static void printTable(double triad, double numpy, List<Map<String, Object>> figures, PrintStream log) {
        log.println();
        log.printf("%-12s %12s %10s %14s %10s %12s %10s %14s %16s%n", "device", "mix GB/s", "mix/triad", "big mix GB/s",
                "big/triad", "sgemm GF/s", "vs numpy", "basis Gelem/s", "gradient GB/s");
        for (Map<String, Object> f : figures) {
            Map<String, Object> g = (Map<String, Object>) f.get("gpt2_mix");
            double mix = (double) g.get("mix_gbps");
            double gemm = (double) f.get("sgemm_gflops");
            double big = biggestMixGbps((List<Map<String, Object>>) f.get("fused_grid"));
            log.printf("%-12s %12.2f %9.0f%% %14.2f %9.0f%% %12.1f %9.0f%% %14.3f %16.2f%n", f.get("device"), mix,
                    100 * mix / triad, big, 100 * big / triad, gemm, 100 * gemm / numpy,
                    (double) g.get("basis_elements_per_s") / 1e9, (double) g.get("gradient_gbps"));
        }
        log.printf("(triad %.2f GB/s, numpy sgemm %.1f GFLOP/s at the same size; mix at k=%d n=%d, whose %d MiB basis"
                + " may sit largely in a big last-level cache; big mix: the largest k·n of the grid)%n%n", triad, numpy,
                DeviceFigures.K, DeviceFigures.N, 4L * DeviceFigures.K * DeviceFigures.N >> 20);
        log.printf("%-12s %6s %7s %12s %12s %12s %12s %10s %12s%n", "device", "k", "n", "mix ms", "basis ms",
                "fused ms", "fused Ge/s", "fused<mix", "fused<b+mix");
        for (Map<String, Object> f : figures) {
            for (Map<String, Object> row : (List<Map<String, Object>>) f.get("fused_grid")) {
                int k = (int) row.get("k");
                int n = (int) row.get("n");
                double fused = (double) row.get("mix_generated_seconds");
                log.printf("%-12s %6d %7d %12.3f %12.3f %12.3f %12.3f %10s %12s%n", f.get("device"), k, n,
                        (double) row.get("mix_seconds") * 1e3, (double) row.get("basis_seconds") * 1e3, fused * 1e3,
                        (double) k * n / fused / 1e9, row.get("fused_beats_mix"), row.get("fused_beats_basis_plus_mix"));
            }
        }
    }

    /** Mix GB/s of the grid row with the largest basis (NaN when the grid is empty). */
    private static double biggestMixGbps(List<Map<String, Object>> grid) {
        double best = Double.NaN;
        long size = -1;
        for (Map<String, Object> row : grid) {
            long kn = (long) (int) row.get("k") * (int) row.get("n");
            if (kn > size) {
                size = kn;
                best = 4.0 * kn / (double) row.get("mix_seconds") / 1e9;
            }
        }
        return best;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int positive(String option, String v) {
        try {
            int x = Integer.parseInt(v);
            if (x > 0) {
                return x;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + " must be a positive integer, got '" + v + "'");
    }

    static void writeAtomically(Path target, String text) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, target.getFileName().toString(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
