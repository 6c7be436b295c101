package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nola.models.image.ImageSet;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * quickstart and pretrain on the real Fashion-MNIST (Debian's dataset-fashion-mnist; skipped with the
 * install command where it is absent), with a 3-step base on the reference device. The base goes to
 * the cache ($NOLA_CACHE, default ~/.cache/nola) under its own name ("vit-fashion-r1-3steps"), apart
 * from the real base, which it never replaces.
 */
class QuickstartCommandTest {

    @TempDir
    Path tmp;

    @Test
    void quickstartPrintsEveryMethodAndWritesTheReport() throws Exception {
        assumeTrue(Files.isDirectory(ImageSet.DEBIAN_FASHION_MNIST),
                "Fashion-MNIST is missing; install it with: apt-get install dataset-fashion-mnist");
        CliTest.Result p = CliTest.run("pretrain", "vit-fashion", "--steps", "3", "--device", "reference", "--json", "--quiet");
        assertEquals(0, p.status(), p.err());
        JsonNode man = new ObjectMapper().readTree(p.out());
        assertEquals(3, man.path("steps").asLong());
        assertTrue(man.path("dir").asText().endsWith("vit-fashion-r1-3steps"), man.toString());

        Path out = tmp.resolve("qs");
        CliTest.Result r = CliTest.run("quickstart", "--device", "reference", "--base-steps", "3", "--steps", "2",
                "--shots", "2", "--held-out", "40", "--out", out.toString(), "--json", "--quiet");
        assertEquals(0, r.status(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(4, j.path("methods").size());
        String[] names = {"head", "nola", "lora-r1", "lora-r4"};
        long[] trainable = {0, 640, 2560, 10240};
        for (int i = 0; i < 4; i++) {
            JsonNode m = j.path("methods").get(i);
            assertEquals(names[i], m.path("name").asText());
            assertEquals(trainable[i], m.path("trainable").asLong(), names[i]);
            assertEquals(325, m.path("head_numbers").asLong(), "64 x 5 + 5");
            assertTrue(m.path("adapter_bytes").asLong() > 0, names[i]);
            assertTrue(m.path("after").asDouble() >= 0 && m.path("after").asDouble() <= 1, names[i]);
        }
        assertTrue(Files.size(out.resolve("report/loss.png")) > 1000);

        CliTest.Result table = CliTest.run("quickstart", "--device", "reference", "--base-steps", "3", "--steps", "1",
                "--shots", "1", "--held-out", "10", "--out", out.toString(), "--quiet");
        assertEquals(0, table.status(), table.err());
        assertTrue(table.out().contains("method") && table.out().contains("lora-r4") && table.out().contains("report:"),
                table.out());
    }

    @Test
    void badQuickstartOptionsAreOneLine() {
        CliTest.Result r = CliTest.run("quickstart", "--task", "bert");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("bert"), r.err());
        CliTest.Result s = CliTest.run("quickstart", "--steps", "0");
        assertEquals(2, s.status());
        assertTrue(s.err().contains("--steps"), s.err());
        CliTest.Result b = CliTest.run("pretrain", "resnet");
        assertEquals(2, b.status());
        assertTrue(b.err().contains("resnet"), b.err());
    }
}
