package dev.nola.models.gpt2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.InvalidFileException;
import dev.nola.io.UntrustedJson;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import dev.nola.models.lm.HfConfig;
import dev.nola.models.spec.BlockSpec;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.spec.Init;
import dev.nola.models.spec.MlpSpec;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.spec.NormSpec;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.spec.WeightTable;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The shape of a GPT-2 model, as in a Hugging Face {@code config.json}.
 *
 * <p>Every tensor of the model is at most {@link #MAX_TENSOR_ELEMENTS} floats, so each fits one Java
 * array; the compact constructor checks that in long arithmetic.
 *
 * @param embeddingSize      {@code n_embd}, C: the width of the residual stream (≥ 1)
 * @param heads              {@code n_head}: attention heads; C must be divisible by it (head size C / n_head)
 * @param layers             {@code n_layer}: transformer blocks (≥ 1)
 * @param positions          {@code n_positions}: the longest sequence, P, rows of {@code wpe}
 * @param vocabularySize     {@code vocab_size}, V: rows of {@code wte} (50,257 for GPT-2's BPE)
 * @param layerNormEpsilon   {@code layer_norm_epsilon}: added to the variance in every layer norm (finite, &gt; 0)
 * @param activationFunction {@code activation_function}: one of {@link #ACTIVATIONS}; GPT-2 uses
 *                           {@code gelu_new}, the tanh approximation of GELU
 */
public record Gpt2Config(int embeddingSize, int heads, int layers, int positions, int vocabularySize,
                         float layerNormEpsilon, String activationFunction) implements HfConfig {

    /**
     * The activation names accepted: Hugging Face's tanh-approximated GELUs ({@code gelu_new},
     * {@code gelu_pytorch_tanh}), run as the tanh GELU, and the exact one ({@code gelu}), run as the erf GELU.
     */
    public static final List<String> ACTIVATIONS = List.of("gelu_new", "gelu_pytorch_tanh", "gelu");
    /** The most floats in one tensor of the model: 2³¹ − 9, the largest Java array. */
    public static final long MAX_TENSOR_ELEMENTS = Integer.MAX_VALUE - 8;
    /** The largest {@code config.json} read: 1 MiB. */
    public static final long MAX_CONFIG_BYTES = 1 << 20;
    private static final int MAX_LAYERS = 4096;

    /** The 124M-parameter GPT-2 ("gpt2" on the Hugging Face hub). */
    public static Gpt2Config small() {
        return new Gpt2Config(768, 12, 12, 1024, 50257, 1e-5f, "gelu_new");
    }

    public Gpt2Config {
        positive("n_embd", embeddingSize);
        positive("n_head", heads);
        positive("n_layer", layers);
        positive("n_positions", positions);
        positive("vocab_size", vocabularySize);
        if (embeddingSize % heads != 0) {
            throw new IllegalArgumentException("n_embd = " + embeddingSize + " is not divisible by n_head = " + heads
                    + "; expected a multiple of n_head");
        }
        if (layers > MAX_LAYERS) {
            throw new IllegalArgumentException("n_layer = " + layers + "; expected at most " + MAX_LAYERS);
        }
        fits("wte [vocab_size, n_embd]", vocabularySize, embeddingSize);
        fits("wpe [n_positions, n_embd]", positions, embeddingSize);
        fits("mlp.c_fc [n_embd, 4·n_embd]", embeddingSize, 4L * embeddingSize);
        if (!(layerNormEpsilon > 0) || !Float.isFinite(layerNormEpsilon)) {
            throw new IllegalArgumentException("layer_norm_epsilon = " + layerNormEpsilon + "; expected a finite number > 0");
        }
        if (activationFunction == null || !ACTIVATIONS.contains(activationFunction)) {
            throw new IllegalArgumentException("activation_function = " + activationFunction + "; expected one of " + ACTIVATIONS);
        }
    }

    private static void positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " = " + v + "; expected an integer ≥ 1");
        }
    }

    private static void fits(String what, long rows, long cols) {
        if (rows * cols > MAX_TENSOR_ELEMENTS) {
            throw new IllegalArgumentException(what + " would hold " + rows + " × " + cols + " = " + rows * cols
                    + " floats; expected at most " + MAX_TENSOR_ELEMENTS + " (one Java array)");
        }
    }

    /** C / n_head, the width of one attention head. */
    public int headSize() {
        return embeddingSize / heads;
    }

    /** 4·C, the hidden width of the MLP. */
    public int mlpSize() {
        return 4 * embeddingSize;
    }

    /** The number of parameters: embeddings, blocks and the final layer norm (the head is tied to wte). */
    public long parameterCount() {
        return spec().model().weights().parameterCount();
    }

    /** The MLP activation this config asks for. */
    public MlpSpec.Activation activation() {
        return activationFunction.equals("gelu") ? MlpSpec.Activation.GELU_ERF : MlpSpec.Activation.GELU_TANH;
    }

    @Override
    public String modelType() {
        return "gpt2";
    }

    @Override
    public String displayName() {
        return "GPT-2";
    }

    /**
     * GPT-2 as a spec: {@code wte} [V, C], {@code wpe} [P, C], the blocks ({@link Gpt2Blocks}), {@code ln_f};
     * the head tied to wte. Initialisation as GPT-2's: N(0, 0.02), wpe N(0, 0.01), the residual
     * projections N(0, 0.02/√(2L)), norms 1, biases 0.
     */
    @Override
    public CausalLmSpec spec() {
        int c = embeddingSize;
        List<WeightSpec> table = new ArrayList<>();
        table.add(WeightSpec.base("wte.weight", Init.normal(0.02), vocabularySize, c));
        table.add(WeightSpec.base("wpe.weight", Init.normal(0.01), positions, c));
        List<BlockSpec> blocks = new ArrayList<>();
        double projStd = 0.02 / Math.sqrt(2.0 * layers);
        for (int i = 0; i < layers; i++) {
            blocks.add(Gpt2Blocks.block(table, i, c, heads, layerNormEpsilon, activation(), true, 0.02, projStd));
        }
        NormSpec lnf = Gpt2Blocks.layerNorm(table, "ln_f", c, layerNormEpsilon);
        ModelSpec model = new ModelSpec("gpt2", new WeightTable(table), blocks, lnf, c);
        return new CausalLmSpec(model, "wte.weight", "wpe.weight", null, vocabularySize, positions);
    }

    @Override
    public List<String> keyPrefixes() {
        return List.of("transformer.");
    }

    @Override
    public Predicate<String> ignoredKeys() {
        return name -> MASK_BUFFER.matcher(name).matches();
    }

    private static final Pattern MASK_BUFFER = Pattern.compile("h\\.\\d{1,9}\\.attn\\.(bias|masked_bias)");

    @Override
    public String tiedHeadKey() {
        return "lm_head.weight";
    }

    @Override
    public String fieldsFor(String name) {
        String c = "n_embd = " + embeddingSize;
        if (name.equals("wte.weight")) {
            return "vocab_size = " + vocabularySize + ", " + c;
        }
        if (name.equals("wpe.weight")) {
            return "n_positions = " + positions + ", " + c;
        }
        return name.startsWith("h.") ? "n_layer = " + layers + ", " + c : c;
    }

    /**
     * Reads and validates a {@code config.json}. Fields other than the seven above are ignored, except
     * {@code n_inner} (accepted when null or 4·n_embd), {@code model_type} (accepted when
     * {@code "gpt2"}) and {@code tie_word_embeddings} (accepted when true), which change the model if
     * set otherwise. Any problem is one line naming the file
     * and the field.
     */
    public static Gpt2Config read(Path file) {
        byte[] bytes = InputFiles.readAll(file, MAX_CONFIG_BYTES, UntrustedJson.HEAP_PER_BYTE);
        return parse(UntrustedJson.parse(bytes, file.toString()), file.toString());
    }

    /** Validates a parsed {@code config.json}; {@code where} names it in errors. */
    public static Gpt2Config parse(JsonNode root, String where) {
        if (!root.isObject()) {
            throw new InvalidFileException(where + ": the top level is a JSON " + root.getNodeType().name().toLowerCase()
                    + "; expected an object");
        }
        JsonNode type = root.get("model_type");
        if (type != null && !(type.isTextual() && type.textValue().equals("gpt2"))) {
            throw new InvalidFileException(where + ": model_type is " + quote(type) + "; expected \"gpt2\"");
        }
        JsonNode tied = root.get("tie_word_embeddings");
        if (tied != null && !(tied.isBoolean() && tied.booleanValue())) {
            throw new InvalidFileException(where + ": tie_word_embeddings is " + quote(tied)
                    + "; expected true (the head of GPT-2 is wte)");
        }
        int c = integer(root, "n_embd", where);
        JsonNode inner = root.get("n_inner");
        if (inner != null && !inner.isNull() && !(inner.isIntegralNumber() && inner.asLong() == 4L * c)) {
            throw new InvalidFileException(where + ": n_inner is " + quote(inner) + "; expected null or 4·n_embd = " + 4L * c);
        }
        JsonNode eps = root.get("layer_norm_epsilon");
        if (eps == null || !eps.isNumber()) {
            throw new InvalidFileException(where + ": field 'layer_norm_epsilon' is " + quote(eps) + "; expected a number");
        }
        JsonNode act = root.get("activation_function");
        if (act == null || !act.isTextual()) {
            throw new InvalidFileException(where + ": field 'activation_function' is " + quote(act) + "; expected one of "
                    + ACTIVATIONS);
        }
        try {
            return new Gpt2Config(c, integer(root, "n_head", where), integer(root, "n_layer", where),
                    integer(root, "n_positions", where), integer(root, "vocab_size", where), eps.floatValue(), act.textValue());
        } catch (InvalidFileException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidFileException(where + ": " + e.getMessage(), e);
        }
    }

    private static int integer(JsonNode root, String name, String where) {
        JsonNode v = root.get(name);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw new InvalidFileException(where + ": field '" + name + "' is " + quote(v) + "; expected an integer in [1, "
                    + Integer.MAX_VALUE + "]");
        }
        return v.intValue();
    }

    private static String quote(JsonNode v) {
        return v == null ? "missing" : Echo.value(UntrustedJson.written(v));
    }

    /** This configuration as a Hugging Face {@code config.json} (UTF-8, indented) that transformers loads. */
    @Override
    public byte[] toJson() {
        ObjectNode o = UntrustedJson.MAPPER.createObjectNode();
        o.putArray("architectures").add("GPT2LMHeadModel");
        o.put("model_type", "gpt2");
        o.put("n_embd", embeddingSize);
        o.put("n_head", heads);
        o.put("n_layer", layers);
        o.put("n_positions", positions);
        o.put("n_ctx", positions);
        o.putNull("n_inner");
        o.put("vocab_size", vocabularySize);
        // via the float's shortest decimal, so 1e-5f is written as 1.0E-5 rather than 9.99999974737875E-6
        o.put("layer_norm_epsilon", Double.parseDouble(Float.toString(layerNormEpsilon)));
        o.put("activation_function", activationFunction);
        o.put("bos_token_id", Gpt2Tokenizer.END_OF_TEXT);
        o.put("eos_token_id", Gpt2Tokenizer.END_OF_TEXT);
        o.put("tie_word_embeddings", true);
        try {
            return (UntrustedJson.MAPPER.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write config.json: " + e.getOriginalMessage(), e);
        }
    }
}
