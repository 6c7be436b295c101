package dev.nola.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SuiteTest {

    @TempDir
    Path tmp;

    @Test
    void badOptionsNameTheArgumentAndWhatWasExpected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Suite.parse(new String[] {"--only", "nola,kernels"}));
        assertTrue(e.getMessage().contains("'kernels'") && e.getMessage().contains("peaks,random,nola"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Suite.parse(new String[] {"--device", "cpu,gpu:x"}));
        assertTrue(e.getMessage().contains("gpu:x"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Suite.parse(new String[] {"--out"}));
        assertTrue(e.getMessage().contains("--out needs a value"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Suite.parse(new String[] {"--fast"}));
        assertTrue(e.getMessage().contains("unknown option '--fast'"), e.getMessage());
    }

    @Test
    void anOutputDirectoryWithFilesIsNotOverwritten() throws Exception {
        Files.writeString(tmp.resolve("keep.txt"), "mine");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Suite.parse(new String[] {"--out", tmp.toString()}));
        assertTrue(e.getMessage().contains("not an empty directory"), e.getMessage());
        assertEquals("mine", Files.readString(tmp.resolve("keep.txt")));
    }

    /** A small real run: cpu, the nola group, no peers; every output file is written and consistent. */
    @Test
    void aQuickRunWritesTheReportCsvJsonAndCharts() throws Exception {
        Path out = tmp.resolve("report");
        Suite.Options o = Suite.parse(new String[] {"--device", "cpu", "--only", "nola", "--quick", "--no-peers",
                "--out", out.toString()});
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Suite s = new Suite(o, new PrintStream(log, true, StandardCharsets.UTF_8));
        s.run();
        Path dir = s.write();
        assertEquals(out.toAbsolutePath(), dir);
        for (String f : List.of("report.md", "results.csv", "results.json", "charts/ops-nola.png", "charts/roofline-cpu.png")) {
            assertTrue(Files.size(dir.resolve(f)) > 0, f);
        }
        try (var left = Files.list(tmp)) {
            assertEquals(1, left.count(), "no temporary directory is left beside the report");
        }
        JsonNode json = new ObjectMapper().readTree(dir.resolve("results.json").toFile());
        int nola = 0;
        for (JsonNode r : json.get("results")) {
            if (r.get("group").asText().equals("nola")) {
                nola++;
                assertTrue(r.get("validation").asText().startsWith("max error"), r.toString());
                assertTrue(r.get("median_s").asDouble() > 0 && r.get("min_s").asDouble() <= r.get("median_s").asDouble());
                assertTrue(r.get("of_peak").asDouble() > 0, r.toString());
            }
        }
        assertEquals(4, nola);
        assertTrue(json.get("peaks").get("cpu").get("sgemm_gflops").asDouble() > 0);
        String csv = Files.readString(dir.resolve("results.csv"));
        assertTrue(csv.startsWith(String.join(",", Report.CSV_COLUMNS)), csv.lines().findFirst().orElse(""));
        assertEquals(json.get("results").size() + 1, csv.lines().count());
        String md = Files.readString(dir.resolve("report.md"));
        assertTrue(md.contains("| mix | k=1000 n=6144 |") && md.contains("all agreed"), md);
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("nola     mix"));
    }

    @Test
    void theReportListsResultsThatFailedTheirCheck() {
        Row ok = new Row("nola", "mix", "k=1 n=1", "cpu", 1, 3, 1e-3, 2e-3, 3e-3, 10, 10, "max error 0.0e+00 of scale",
                Map.of("speed_vs_torch", 1.5));
        Row bad = new Row("nola", "mix", "k=1 n=1", "opencl:0:0", 0, 0, Double.NaN, Double.NaN, Double.NaN, 10, 10,
                "FAILED: max error 5.0e-01 of scale", Map.of());
        String md = Report.markdown(Map.of("command", "nola bench"), Map.of(), List.of(ok, bad), "charts");
        assertTrue(md.contains("**1 did not**") && md.contains("opencl:0:0 nola/mix k=1 n=1: FAILED"), md);
        assertFalse(md.contains("all agreed"));
        String csv = Report.csv(List.of(ok));
        assertTrue(csv.contains("nola,mix,k=1 n=1,cpu,1,3,0.001,0.002,0.003"), csv);
        assertTrue(csv.contains(",1.5,"), csv);
    }
}
