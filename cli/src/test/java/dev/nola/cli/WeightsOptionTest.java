package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --weights f32|bf16} on eval, finetune and generate, on a tiny GPT-2 the test writes: bf16
 * evaluates within 1e-2 of f32 (and not identically: the bf16 weights are in use) and reports the
 * weights' bytes on the device, half of f32's for the bfloat16 tensors; finetune and generate run with
 * it; a bad value is one line naming the option, status 2.
 */
class WeightsOptionTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path text;

    @BeforeAll
    static void fixtures() throws Exception {
        model = Tiny.gpt2(tmp.resolve("tiny-gpt2"));
        text = Tiny.text(tmp.resolve("text.txt"));
    }

    private static JsonNode eval(String device, String weights) throws Exception {
        CliTest.Result r = CliTest.run("eval", "--model", model.toString(), "--data", text.toString(), "--device", device,
                "--weights", weights, "--json");
        assertEquals(0, r.status(), r.err());
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void bf16EvaluatesWithin1e2OfF32AndReportsTheBytesSaved() throws Exception {
        for (String device : new String[] {"reference", "cpu"}) {
            JsonNode f32 = eval(device, "f32");
            JsonNode bf16 = eval(device, "bf16");
            assertEquals("f32", f32.path("weights").asText());
            assertEquals("bf16", bf16.path("weights").asText());
            double lf = f32.path("loss").asDouble();
            double lb = bf16.path("loss").asDouble();
            assertTrue(Math.abs(lf - lb) <= 1e-2, device + ": loss f32 " + lf + ", bf16 " + lb);
            assertNotEquals(lf, lb, device + ": bf16 must change the loss a little");
            assertEquals(f32.path("weight_bytes").asLong(), f32.path("weight_bytes_f32").asLong());
            assertEquals(f32.path("weight_bytes").asLong(), bf16.path("weight_bytes_f32").asLong());
            long saved = f32.path("weight_bytes").asLong() - bf16.path("weight_bytes").asLong();
            assertTrue(saved > 0.4 * f32.path("weight_bytes").asLong(), "bf16 saves about half: " + saved + " bytes");
        }
        CliTest.Result plain = CliTest.run("eval", "--model", model.toString(), "--data", text.toString(), "--device", "cpu",
                "--weights", "bf16");
        assertEquals(0, plain.status(), plain.err());
        assertTrue(plain.out().contains("weights bf16: ") && plain.out().contains(" saved)"), plain.out());
    }

    @Test
    void finetuneAndGenerateRunWithBf16Weights() throws Exception {
        Path out = tmp.resolve("ft-bf16");
        CliTest.Result r = CliTest.run("finetune", "--model", model.toString(), "--data", text.toString(), "--method", "lora",
                "--rank", "2", "--steps", "3", "--batch", "2", "--device", "cpu", "--weights", "bf16", "--out", out.toString(),
                "--json", "--quiet");
        assertEquals(0, r.status(), r.err());
        JsonNode rep = new ObjectMapper().readTree(out.resolve("report/report.json").toFile());
        assertEquals("bf16", rep.path("config").path("weights").asText(), rep.toString());
        CliTest.Result g = CliTest.run("generate", "--model", model.toString(), "--adapter", out.toString(), "--prompt", "In the",
                "--length", "4", "--temperature", "0", "--device", "cpu", "--weights", "bf16");
        assertEquals(0, g.status(), g.err());
        assertTrue(g.out().startsWith("In the"), g.out());
    }

    @Test
    void aBadValueIsOneLineAndStatus2() {
        for (String command : new String[] {"eval", "finetune", "generate"}) {
            String[] args = switch (command) {
                case "eval" -> new String[] {"eval", "--model", model.toString(), "--data", text.toString(), "--weights", "fp16"};
                case "finetune" -> new String[] {"finetune", "--model", model.toString(), "--data", text.toString(), "--steps",
                        "1", "--out", tmp.resolve("never").toString(), "--weights", "fp16"};
                default -> new String[] {"generate", "--model", model.toString(), "--prompt", "x", "--weights", "fp16"};
            };
            CliTest.Result r = CliTest.run(args);
            assertEquals(2, r.status(), command + ": " + r.err());
            assertEquals("nola: --weights is 'fp16'; expected f32 or bf16", r.err().strip(), command);
        }
    }
}
