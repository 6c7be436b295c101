package dev.nola.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PyTorch peer: runs {@code bench/peers/torch_suite.py} with Debian's {@code /usr/bin/python3}
 * (python3-torch with libopenblas0-pthread) on the same groups, after our devices, and collects its
 * records by (group, op, shape). {@code OPENBLAS_CORETYPE} and {@code OPENBLAS_L2_SIZE} are removed from
 * its environment.
 */
final class TorchPeer {

    /** The peer's records and its description, or why it did not run. */
    record Result(Map<String, JsonNode> records, Map<String, Object> meta, String skipped) {

        JsonNode get(String group, String op, String shape) {
            return records.get(key(group, op, shape));
        }

        /** One line for the report: versions, threads, BLAS kernel. */
        String summary() {
            return "torch " + meta.get("torch_version") + " (" + meta.get("debian_package") + "), threads "
                    + meta.get("threads") + ", OpenBLAS core " + meta.get("openblas_corename") + ", OMP_WAIT_POLICY "
                    + meta.get("omp_wait_policy");
        }
    }

    private TorchPeer() {
    }

    static String key(String group, String op, String shape) {
        return group + "/" + op + "/" + shape;
    }

    /** Where the peer script is: next to the bench jar's project, found from the working directory or NOLA_HOME. */
    static Path script() {
        for (String base : new String[] {System.getenv("NOLA_HOME"), System.getProperty("nola.home"), "."}) {
            if (base != null) {
                Path p = Path.of(base, "bench", "peers", "torch_suite.py");
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    static Result run(List<String> groups, boolean quick, PrintStream log) {
        Path script = script();
        Path python = Path.of("/usr/bin/python3");
        if (script == null) {
            return new Result(Map.of(), Map.of(), "bench/peers/torch_suite.py not found (set NOLA_HOME to the nola checkout)");
        }
        if (!Files.isExecutable(python)) {
            return new Result(Map.of(), Map.of(), "/usr/bin/python3 not found");
        }
        List<String> cmd = new ArrayList<>(List.of(python.toString(), script.toString(), "--groups", String.join(",", groups)));
        if (quick) {
            cmd.add("--quick");
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("OPENBLAS_CORETYPE");
        pb.environment().remove("OPENBLAS_L2_SIZE");
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Map<String, JsonNode> records = new LinkedHashMap<>();
        Map<String, Object> meta = new LinkedHashMap<>();
        try {
            Process p = pb.start();
            JsonLines.read(p, n -> {
                if (n.has("meta")) {
                    meta.putAll(JsonLines.JSON.convertValue(n.get("meta"), Map.class));
                } else if (n.has("group")) {
                    records.put(key(n.get("group").asText(), n.get("op").asText(), n.get("shape").asText()), n);
                    log.printf("  torch %-8s %-32s %-40s %s%n", n.get("group").asText(), n.get("op").asText(),
                            n.get("shape").asText(), n.has("median_s")
                                    ? String.format("%.3f ms", n.get("median_s").asDouble() * 1e3)
                                    : "error: " + n.path("error").asText());
                }
            });
            int rc = p.waitFor();
            if (rc != 0 && records.isEmpty()) {
                return new Result(Map.of(), meta, "torch_suite.py exited with status " + rc
                        + " (is python3-torch installed? apt-get install python3-torch libopenblas0-pthread)");
            }
            return new Result(records, meta, null);
        } catch (IOException e) {
            return new Result(Map.of(), Map.of(), "torch_suite.py did not run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(records, meta, "interrupted");
        }
    }
}
