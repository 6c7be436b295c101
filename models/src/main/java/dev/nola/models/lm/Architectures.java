package dev.nola.models.lm;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nola.io.InvalidFileException;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.UntrustedJson;
import java.nio.file.Path;
import java.util.List;

/**
 * The Hugging Face causal-LM architectures nola implements, chosen by a {@code config.json}'s
 * {@code model_type}: adding one is one entry here (and its {@link HfConfig}).
 */
public final class Architectures {

    /** The {@code model_type}s read, in the order messages list them. */
    public static final List<String> MODEL_TYPES = List.of("gpt2", "llama", "mistral", "qwen2");

    private Architectures() {
    }

    /** Reads and validates a {@code config.json} of any supported architecture. */
    public static HfConfig read(Path file) {
        byte[] bytes = InputFiles.readAll(file, Gpt2Config.MAX_CONFIG_BYTES, UntrustedJson.HEAP_PER_BYTE);
        return parse(UntrustedJson.parse(bytes, file.toString()), file.toString());
    }

    /** Validates a parsed {@code config.json}; {@code where} names it in errors. */
    public static HfConfig parse(JsonNode root, String where) {
        if (!root.isObject()) {
            throw new InvalidFileException(where + ": the top level is a JSON " + root.getNodeType().name().toLowerCase()
                    + "; expected an object");
        }
        JsonNode type = root.get("model_type");
        // configs written before model_type existed are GPT-2's
        String t = type == null ? "gpt2" : type.isTextual() ? type.textValue() : null;
        if ("gpt2".equals(t)) {
            return Gpt2Config.parse(root, where);
        }
        if (LlamaConfig.MODEL_TYPES.contains(t)) {
            return LlamaConfig.parse(root, where);
        }
        throw new InvalidFileException(where + ": model_type is " + (type == null ? "missing" : Echo.value(UntrustedJson.written(type)))
                + "; expected one of " + MODEL_TYPES);
    }
}
