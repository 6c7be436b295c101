package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.kernels.Backend;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import dev.nola.kernels.OpFamily;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.transformer.Adapters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code nola score} on a tiny random GPT-2 checkpoint written by the test, with and without an adapter. */
class ScoreCommandTest {

    static final Gpt2Config TINY = new Gpt2Config(8, 2, 2, 12, 41, 1e-5f, "gelu_new");

    @TempDir
    static Path tmp;

    @BeforeAll
    static void writeCheckpointAndAdapter() {
        Tiny.write(TINY, 5, tmp.resolve("model"));
        try (Device d = Backends.open("reference")) {
            NolaConfig cfg = NolaConfig.offset(2, 8, 8, 16f, 9L, List.of("q", "v"));
            Map<String, NolaAdapter> a = Adapters.nola(d, cfg, TINY.spec().model());
            int i = 0;
            for (NolaAdapter x : a.values()) {
                float[] p = new float[x.parameterCount()];
                for (int j = 0; j < p.length; j++) {
                    p[j] = (float) Math.sin(++i);
                }
                x.setParameters(p);
            }
            NolaAdapterFiles.save(tmp.resolve("adapter"), a);
            a.values().forEach(NolaAdapter::close);
        }
    }

    static List<String> devicesWithNn() {
        List<String> ids = new ArrayList<>();
        for (Backend b : Backends.all()) {
            if (b.availability().available()) {
                for (DeviceInfo info : b.devices()) {
                    try (Device d = Backends.open(info.id())) {
                        if (d.supports(OpFamily.NN).available()) {
                            ids.add(info.id());
                        }
                    }
                }
            }
        }
        return ids;
    }

    @Test
    void scoreAgreesAcrossDevicesAndTheAdapterChangesIt() {
        String ids = "3,17,40,0,9,9,21";
        CliTest.Result plain = CliTest.run("score", "--model", tmp.resolve("model").toString(), "--ids", ids,
                "--device", "reference");
        assertEquals(0, plain.status(), plain.err());
        String[] lines = plain.out().split("\n");
        assertEquals(1 + TINY.vocabularySize(), lines.length, "the loss, then one logit per vocabulary entry");
        double loss = Double.parseDouble(lines[0]);
        assertEquals(Math.log(TINY.vocabularySize()), loss, 0.2, "a random GPT-2 is near log V");
        CliTest.Result adapted = CliTest.run("score", "--model", tmp.resolve("model").toString(), "--ids", ids,
                "--adapter", tmp.resolve("adapter").toString(), "--device", "reference");
        assertEquals(0, adapted.status(), adapted.err());
        double adaptedLoss = Double.parseDouble(adapted.out().split("\n")[0]);
        assertTrue(Math.abs(adaptedLoss - loss) > 1e-4, "the adapter changes the loss: " + loss + " vs " + adaptedLoss);
        for (String id : devicesWithNn()) {
            CliTest.Result r = CliTest.run("score", "--model", tmp.resolve("model").toString(), "--ids", ids,
                    "--adapter", tmp.resolve("adapter").toString(), "--device", id);
            assertEquals(0, r.status(), r.err());
            String[] other = r.out().split("\n");
            assertEquals(adaptedLoss, Double.parseDouble(other[0]), 1e-5 * adaptedLoss, id + " loss");
            String[] ref = adapted.out().split("\n");
            for (int i = 1; i < ref.length; i++) {
                assertEquals(Double.parseDouble(ref[i]), Double.parseDouble(other[i]), 1e-4, id + " logit " + (i - 1));
            }
        }
    }

    @Test
    void badInputIsOneLineAndStatusTwo() {
        String model = tmp.resolve("model").toString();
        CliTest.Result r = CliTest.run("score", "--model", model, "--ids", "3,41", "--device", "reference");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--ids[1] = 41") && r.err().strip().lines().count() == 1, r.err());
        r = CliTest.run("score", "--model", model, "--ids", "3", "--device", "reference");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("at least 2"), r.err());
        r = CliTest.run("score", "--model", tmp.resolve("absent").toString(), "--ids", "1,2", "--device", "reference");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().strip().lines().count() == 1, r.err());
    }
}
