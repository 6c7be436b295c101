package dev.nola.cli;

import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.gpt2.Gpt2Init;
import dev.nola.models.gpt2.Gpt2Model;
import dev.nola.models.gpt2.Gpt2Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Tiny fixtures the CLI tests write themselves: a GPT-2 checkpoint and a text. */
final class Tiny {

    /** GPT-2's vocabulary (the tokenizer's ids must fit), 16 positions, 1 layer, 2 heads, C = 8. */
    static final Gpt2Model.Dims DIMS = new Gpt2Model.Dims(50257, 16, 1, 2, 8, 1e-5f);

    private Tiny() {
    }

    static Path gpt2(Path dir) {
        try (Device d = Backends.open("reference")) {
            Gpt2Model.Weights w = Gpt2Init.random(d, DIMS, 5);
            try {
                Gpt2Weights.download(d, w, Gpt2Weights.config(DIMS)).write(dir);
            } finally {
                Gpt2Init.close(w);
            }
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
