package dev.nola.cli;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.transformer.DeviceWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Tiny fixtures the CLI tests write themselves: a GPT-2 checkpoint and a text. */
final class Tiny {

    /** GPT-2's vocabulary (the tokenizer's ids must fit), 16 positions, 1 layer, 2 heads, C = 8. */
    static final Gpt2Config CONFIG = new Gpt2Config(8, 2, 1, 16, 50257, 1e-5f, "gelu_new");

    private Tiny() {
    }

    static Path gpt2(Path dir) {
        write(CONFIG, 5, dir);
        return dir;
    }

    /** Writes a random GPT-2 of this shape (seeded) as a Hugging Face checkpoint directory. */
    static Path write(Gpt2Config config, long seed, Path dir) {
        try (Device d = Backends.open("reference");
             DeviceWeights w = CausalLm.randomWeights(d, config.spec(), seed)) {
            HfCheckpoint.of(config, w.download(d)).write(dir);
        }
        return dir;
    }

    static Path text(Path file) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            sb.append("In the beginning God created the heaven and the earth. And the earth was without form. ");
        }
        Files.writeString(file, sb.toString());
        return file;
    }
}
