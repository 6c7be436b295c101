package dev.nola.models.gpt2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.models.Messages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Gpt2ConfigTest {

    @TempDir
    Path tmp;

    private static final String HUB_GPT2 = """
            {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
             "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
             "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
             "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1, "vocab_size": 50257}
            """;

    private String fails(String json) throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, json);
        String m = Messages.of(() -> Gpt2Config.read(f));
        assertTrue(m.startsWith(f.toString()), m);
        return m;
    }

    @Test
    void readsTheHubConfigOfGpt2Small() throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, HUB_GPT2);
        Gpt2Config c = Gpt2Config.read(f);
        assertEquals(Gpt2Config.small(), c);
        assertEquals(64, c.headSize());
        assertEquals(3072, c.mlpSize());
        // 124,439,808: the published parameter count of GPT-2 small with the head tied to wte
        assertEquals(124_439_808L, c.parameterCount());
    }

    @Test
    void writesWhatItReads() throws IOException {
        Gpt2Config c = new Gpt2Config(48, 3, 2, 64, 50257, 1e-5f, "gelu_new");
        Path f = tmp.resolve("config.json");
        Files.write(f, c.toJson());
        assertEquals(c, Gpt2Config.read(f));
        assertTrue(Files.readString(f).contains("\"layer_norm_epsilon\" : 1.0E-5"), Files.readString(f));
    }

    @Test
    void namesTheBadField() throws IOException {
        assertTrue(fails("{").contains("invalid JSON"));
        assertTrue(fails("[1]").contains("top level is a JSON array"));
        assertTrue(fails(HUB_GPT2.replace("\"n_head\": 12", "\"n_head\": 7"))
                .contains("n_embd = 768 is not divisible by n_head = 7"));
        assertTrue(fails(HUB_GPT2.replace("\"n_layer\": 12,", "")).contains("field 'n_layer' is missing"));
        assertTrue(fails(HUB_GPT2.replace("\"n_layer\": 12", "\"n_layer\": \"12\"")).contains("field 'n_layer' is \"12\""));
        assertTrue(fails(HUB_GPT2.replace("\"n_layer\": 12", "\"n_layer\": 0")).contains("expected an integer in [1,"));
        assertTrue(fails(HUB_GPT2.replace("gelu_new", "relu")).contains("activation_function = relu; expected one of"));
        assertTrue(fails(HUB_GPT2.replace("1e-05", "-1")).contains("layer_norm_epsilon = -1.0"));
        assertTrue(fails(HUB_GPT2.replace("\"gpt2\"", "\"llama\"")).contains("model_type is \"llama\""));
        assertTrue(fails(HUB_GPT2.replace("\"n_ctx\"", "\"n_inner\": 1000, \"n_ctx\"")).contains("n_inner is 1000"));
        assertTrue(fails(HUB_GPT2.replace("\"n_ctx\"", "\"tie_word_embeddings\": false, \"n_ctx\""))
                .contains("tie_word_embeddings is false"));
        assertTrue(fails(HUB_GPT2.replace("\"vocab_size\": 50257", "\"vocab_size\": 2000000000"))
                .contains("wte [vocab_size, n_embd] would hold"));
        assertTrue(fails(HUB_GPT2.replace("\"n_ctx\": 1024,", "\"n_ctx\": 1024, \"n_ctx\": 2,")).contains("invalid JSON"));
    }

    @Test
    void namesAMissingFile() {
        Path f = tmp.resolve("nope.json");
        String m = Messages.of(() -> Gpt2Config.read(f));
        assertTrue(m.contains("nope.json") && m.contains("does not exist"), m);
    }
}
