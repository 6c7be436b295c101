package dev.nola.models.lm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.io.InvalidFileException;
import dev.nola.io.Echo;
import dev.nola.io.InputFiles;
import dev.nola.io.UntrustedJson;
import dev.nola.models.spec.AttentionSpec;
import dev.nola.models.spec.BlockSpec;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.spec.Init;
import dev.nola.models.spec.Layout;
import dev.nola.models.spec.LinearSpec;
import dev.nola.models.spec.MlpSpec;
import dev.nola.models.spec.ModelSpec;
import dev.nola.models.spec.NormSpec;
import dev.nola.models.spec.RopeSpec;
import dev.nola.models.spec.WeightSpec;
import dev.nola.models.spec.WeightTable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The LLaMA family as Hugging Face's {@code config.json} describes it — {@code LlamaForCausalLM}
 * ({@code model_type} llama: Llama 2/3, TinyLlama, SmolLM2), {@code MistralForCausalLM} (mistral) and
 * {@code Qwen2ForCausalLM} (qwen2): RMSNorm computed in float32, rotary embeddings in HF's rotate_half
 * convention with {@code rope_theta} and Llama 3's {@code rope_scaling}, grouped-query attention,
 * the SwiGLU MLP, q/k/v biases where the config says (Qwen2 always), an untied {@code lm_head} or
 * {@code tie_word_embeddings}.
 *
 * <p>Tensors (nn.Linear layout [out, in]): {@code model.embed_tokens.weight} [V, C]; per layer under
 * {@code model.layers.{i}.}: {@code input_layernorm.weight}, {@code self_attn.{q,k,v,o}_proj.weight}
 * (and biases), {@code post_attention_layernorm.weight}, {@code mlp.{gate,up,down}_proj.weight};
 * {@code model.norm.weight}; {@code lm_head.weight} unless tied. Every linear is an adapter site named
 * as PEFT names it ({@code model.layers.{i}.self_attn.q_proj}, module {@code q_proj}).
 *
 * <p>Mistral's {@code sliding_window}: a window at least as long as the sequence changes nothing, so
 * the longest sequence this model takes is the smaller of {@code max_position_embeddings} and the
 * window (nola does not implement windowed attention; a longer sequence is refused by length).
 *
 * @param modelType      llama, mistral or qwen2
 * @param hiddenSize     C
 * @param intermediate   I, the MLP's width
 * @param layers         L
 * @param heads          query heads
 * @param kvHeads        key/value heads, dividing heads
 * @param headDim        the width of a head (even)
 * @param positions      the longest sequence (after the sliding window, see above)
 * @param vocabulary     V
 * @param rmsNormEps     RMSNorm's epsilon
 * @param ropeTheta      the rotary base θ
 * @param ropeScaling    Llama 3's rotary scaling, or null
 * @param tied           whether the head is the embedding
 * @param attentionBias  q/k/v biases (Qwen2; Llama's {@code attention_bias} also gives o_proj one)
 * @param outputBias     an o_proj bias (Llama with {@code attention_bias})
 * @param slidingWindow  Mistral's window as written, or 0 for none
 */
public record LlamaConfig(String modelType, int hiddenSize, int intermediate, int layers, int heads, int kvHeads, int headDim,
                          int positions, int vocabulary, float rmsNormEps, double ropeTheta, Llama3Scaling ropeScaling,
                          boolean tied, boolean attentionBias, boolean outputBias, int slidingWindow) implements HfConfig {

    /** The {@code model_type}s read. */
    public static final List<String> MODEL_TYPES = List.of("llama", "mistral", "qwen2");
    /** The rotary scalings implemented (others are refused by name). */
    public static final List<String> ROPE_SCALINGS = List.of("llama3");

    /**
     * Llama 3.1/3.2's rotary scaling ({@code rope_type: "llama3"}).
     *
     * @param factor        f
     * @param lowFreqFactor l
     * @param highFreqFactor h (&gt; l)
     * @param originalMaxPositions the original context L
     */
    public record Llama3Scaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        public Llama3Scaling {
            if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPositions < 1) {
                throw new IllegalArgumentException("rope_scaling llama3 has factor " + factor + ", low_freq_factor " + lowFreqFactor
                        + ", high_freq_factor " + highFreqFactor + ", original_max_position_embeddings " + originalMaxPositions
                        + "; expected factor > 0, 0 < low < high, original ≥ 1");
            }
        }
    }

    public LlamaConfig {
        if (!MODEL_TYPES.contains(modelType)) {
            throw new IllegalArgumentException("model_type = " + modelType + "; expected one of " + MODEL_TYPES);
        }
        for (int v : new int[] {hiddenSize, intermediate, layers, heads, kvHeads, headDim, positions, vocabulary}) {
            if (v < 1) {
                throw new IllegalArgumentException("every size must be ≥ 1: hidden_size " + hiddenSize + ", intermediate_size "
                        + intermediate + ", num_hidden_layers " + layers + ", heads " + heads + "/" + kvHeads + ", head_dim "
                        + headDim + ", positions " + positions + ", vocab_size " + vocabulary);
            }
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("num_key_value_heads = " + kvHeads + " does not divide num_attention_heads = "
                    + heads + "; expected a divisor");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim = " + headDim + "; expected an even width (rotary pairs)");
        }
        if (layers > 4096) {
            throw new IllegalArgumentException("num_hidden_layers = " + layers + "; expected at most 4096");
        }
        fits("embed_tokens [vocab_size, hidden_size]", vocabulary, hiddenSize);
        fits("q_proj [heads·head_dim, hidden_size]", (long) heads * headDim, hiddenSize);
        fits("mlp [intermediate_size, hidden_size]", intermediate, hiddenSize);
        if (!(rmsNormEps > 0) || !Float.isFinite(rmsNormEps)) {
            throw new IllegalArgumentException("rms_norm_eps = " + rmsNormEps + "; expected a finite number > 0");
        }
        if (!(ropeTheta > 1) || !Double.isFinite(ropeTheta)) {
            throw new IllegalArgumentException("rope_theta = " + ropeTheta + "; expected a finite number > 1");
        }
    }

    private static void fits(String what, long rows, long cols) {
        if (rows * cols > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(what + " would hold " + rows * cols + " floats; expected at most "
                    + (Integer.MAX_VALUE - 8) + " (one Java array)");
        }
    }

    @Override
    public String modelType() {
        return modelType;
    }

    @Override
    public String displayName() {
        return switch (modelType) {
            case "mistral" -> "Mistral";
            case "qwen2" -> "Qwen2";
            default -> "LLaMA";
        };
    }

    /**
     * The rotary inverse frequencies, float32 as Hugging Face computes them (1 / θ^(2i/d)), then Llama
     * 3's scaling when configured (in double, rounded once).
     */
    public float[] inverseFrequencies() {
        int half = headDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            inv[i] = (float) (1.0 / (float) Math.pow(ropeTheta, exponent));
        }
        if (ropeScaling != null) {
            Llama3Scaling s = ropeScaling;
            double lowWavelength = s.originalMaxPositions() / s.lowFreqFactor();
            double highWavelength = s.originalMaxPositions() / s.highFreqFactor();
            for (int i = 0; i < half; i++) {
                double f = inv[i];
                double wavelength = 2 * Math.PI / f;
                if (wavelength > lowWavelength) {
                    f = f / s.factor();
                } else if (wavelength >= highWavelength) {
                    double smooth = (s.originalMaxPositions() / wavelength - s.lowFreqFactor())
                            / (s.highFreqFactor() - s.lowFreqFactor());
                    f = (1 - smooth) * f / s.factor() + smooth * f;
                }
                inv[i] = (float) f;
            }
        }
        return inv;
    }

    /** The spec: the weight table, RMSNorm blocks with rotary GQA attention and SwiGLU, sites on every linear. */
    @Override
    public CausalLmSpec spec() {
        int c = hiddenSize;
        int wq = heads * headDim;
        int wkv = kvHeads * headDim;
        Init normal = Init.normal(0.02);
        List<WeightSpec> table = new ArrayList<>();
        table.add(WeightSpec.base("model.embed_tokens.weight", normal, vocabulary, c));
        RopeSpec rope = new RopeSpec(headDim, positions, inverseFrequencies());
        List<BlockSpec> blocks = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            table.add(WeightSpec.base(p + "input_layernorm.weight", Init.ONES, c));
            LinearSpec q = linear(table, p + "self_attn.", "q_proj", c, wq, attentionBias);
            LinearSpec k = linear(table, p + "self_attn.", "k_proj", c, wkv, attentionBias);
            LinearSpec v = linear(table, p + "self_attn.", "v_proj", c, wkv, attentionBias);
            LinearSpec o = linear(table, p + "self_attn.", "o_proj", wq, c, outputBias);
            table.add(WeightSpec.base(p + "post_attention_layernorm.weight", Init.ONES, c));
            LinearSpec gate = linear(table, p + "mlp.", "gate_proj", c, intermediate, false);
            LinearSpec up = linear(table, p + "mlp.", "up_proj", c, intermediate, false);
            LinearSpec down = linear(table, p + "mlp.", "down_proj", intermediate, c, false);
            blocks.add(new BlockSpec(i, rms(p + "input_layernorm.weight"),
                    new AttentionSpec(q, k, v, o, heads, kvHeads, headDim, true, rope), rms(p + "post_attention_layernorm.weight"),
                    new MlpSpec(MlpSpec.Activation.SWIGLU, gate, up, down)));
        }
        table.add(WeightSpec.base("model.norm.weight", Init.ONES, c));
        if (!tied) {
            table.add(WeightSpec.base("lm_head.weight", normal, vocabulary, c));
        }
        ModelSpec model = new ModelSpec(modelType, new WeightTable(table), blocks, rms("model.norm.weight"), c);
        return new CausalLmSpec(model, "model.embed_tokens.weight", null, tied ? null : "lm_head.weight", vocabulary, positions);
    }

    private NormSpec rms(String weight) {
        return new NormSpec(NormSpec.Kind.RMS_NORM, weight, null, rmsNormEps);
    }

    private static LinearSpec linear(List<WeightSpec> table, String prefix, String module, int in, int out, boolean bias) {
        String w = prefix + module + ".weight";
        table.add(WeightSpec.base(w, Init.normal(0.02), out, in));
        String b = null;
        if (bias) {
            b = prefix + module + ".bias";
            table.add(WeightSpec.base(b, Init.ZEROS, out));
        }
        return LinearSpec.whole(w, b, Layout.LINEAR, in, out, prefix + module, module);
    }

    private static final Pattern ROTARY_BUFFER = Pattern.compile("model\\.layers\\.\\d{1,9}\\.self_attn\\.rotary_emb\\.inv_freq");

    @Override
    public Predicate<String> ignoredKeys() {
        return name -> ROTARY_BUFFER.matcher(name).matches();
    }

    @Override
    public String tiedHeadKey() {
        return tied ? "lm_head.weight" : null;
    }

    @Override
    public String fieldsFor(String name) {
        String c = "hidden_size = " + hiddenSize;
        if (name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight")) {
            return "vocab_size = " + vocabulary + ", " + c;
        }
        if (name.contains(".mlp.")) {
            return "num_hidden_layers = " + layers + ", " + c + ", intermediate_size = " + intermediate;
        }
        if (name.contains(".self_attn.")) {
            return "num_hidden_layers = " + layers + ", " + c + ", num_attention_heads = " + heads + ", num_key_value_heads = "
                    + kvHeads + ", head_dim = " + headDim;
        }
        return name.startsWith("model.layers.") ? "num_hidden_layers = " + layers + ", " + c : c;
    }

    /** The architecture's name in {@code architectures}. */
    public String architecture() {
        return switch (modelType) {
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> "LlamaForCausalLM";
        };
    }

    @Override
    public byte[] toJson() {
        ObjectNode o = UntrustedJson.MAPPER.createObjectNode();
        o.putArray("architectures").add(architecture());
        o.put("model_type", modelType);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediate);
        o.put("num_hidden_layers", layers);
        o.put("num_attention_heads", heads);
        o.put("num_key_value_heads", kvHeads);
        o.put("head_dim", headDim);
        o.put("max_position_embeddings", positions);
        o.put("vocab_size", vocabulary);
        o.put("rms_norm_eps", Double.parseDouble(Float.toString(rmsNormEps)));
        o.put("rope_theta", ropeTheta);
        if (ropeScaling == null) {
            o.putNull("rope_scaling");
        } else {
            ObjectNode s = o.putObject("rope_scaling");
            s.put("rope_type", "llama3");
            s.put("factor", ropeScaling.factor());
            s.put("low_freq_factor", ropeScaling.lowFreqFactor());
            s.put("high_freq_factor", ropeScaling.highFreqFactor());
            s.put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
        }
        o.put("hidden_act", "silu");
        o.put("tie_word_embeddings", tied);
        if (!modelType.equals("qwen2")) {
            o.put("attention_bias", attentionBias);
        }
        o.put("mlp_bias", false);
        if (slidingWindow > 0) {
            o.put("sliding_window", slidingWindow);
        }
        try {
            return (UntrustedJson.MAPPER.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write config.json: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Validates a parsed {@code config.json} of model_type llama, mistral or qwen2; {@code where} names it
     * in errors. Every field that would change the model is read or refused: {@code hidden_act} other
     * than silu, {@code mlp_bias} true, {@code rope_scaling} of a type other than llama3, Qwen2's
     * {@code use_sliding_window}.
     */
    public static LlamaConfig parse(JsonNode root, String where) {
        String type = root.path("model_type").asText();
        try {
            int c = integer(root, "hidden_size", where, -1);
            int heads = integer(root, "num_attention_heads", where, -1);
            int kv = integer(root, "num_key_value_heads", where, heads);
            int headDim = integer(root, "head_dim", where, c % heads == 0 ? c / heads : -1);
            int maxPositions = integer(root, "max_position_embeddings", where, -1);
            JsonNode act = root.get("hidden_act");
            if (act != null && !(act.isTextual() && act.textValue().equals("silu"))) {
                throw bad(where, "hidden_act", act, "\"silu\" (the SwiGLU MLP; nola implements no other)");
            }
            if (bool(root, "mlp_bias", where, false)) {
                throw bad(where, "mlp_bias", root.get("mlp_bias"), "false (nola implements no MLP bias)");
            }
            boolean qwen = type.equals("qwen2");
            boolean attentionBias = qwen || bool(root, "attention_bias", where, false);
            boolean outputBias = !qwen && attentionBias;
            int window = 0;
            JsonNode sw = root.get("sliding_window");
            boolean windowed = type.equals("mistral") || qwen && bool(root, "use_sliding_window", where, false);
            if (windowed && sw != null && !sw.isNull()) {
                window = integer(root, "sliding_window", where, -1);
            }
            int positions = window > 0 ? Math.min(maxPositions, window) : maxPositions;
            JsonNode eps = root.get("rms_norm_eps");
            float rmsEps = eps == null ? 1e-6f : number(eps, where, "rms_norm_eps");
            JsonNode theta = root.get("rope_theta");
            double ropeTheta = theta == null ? 10000.0 : number(theta, where, "rope_theta");
            return new LlamaConfig(type, c, integer(root, "intermediate_size", where, -1), integer(root, "num_hidden_layers", where, -1),
                    heads, kv, headDim, positions, integer(root, "vocab_size", where, -1), rmsEps, ropeTheta,
                    scaling(root.get("rope_scaling"), where), bool(root, "tie_word_embeddings", where, false), attentionBias,
                    outputBias, window);
        } catch (InvalidFileException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidFileException(where + ": " + e.getMessage(), e);
        }
    }

    private static Llama3Scaling scaling(JsonNode s, String where) {
        if (s == null || s.isNull()) {
            return null;
        }
        if (!s.isObject()) {
            throw bad(where, "rope_scaling", s, "null or an object");
        }
        JsonNode t = s.has("rope_type") ? s.get("rope_type") : s.get("type");
        String type = t != null && t.isTextual() ? t.textValue() : null;
        if (!"llama3".equals(type)) {
            throw new InvalidFileException(where + ": rope_scaling type is " + (t == null ? "missing" : Echo.value(UntrustedJson.written(t)))
                    + "; nola implements " + ROPE_SCALINGS + " (or none)");
        }
        return new Llama3Scaling(number(s.get("factor"), where, "rope_scaling.factor"),
                number(s.get("low_freq_factor"), where, "rope_scaling.low_freq_factor"),
                number(s.get("high_freq_factor"), where, "rope_scaling.high_freq_factor"),
                integer(s, "original_max_position_embeddings", where, -1));
    }

    private static float number(JsonNode v, String where, String name) {
        if (v == null || !v.isNumber() || !Double.isFinite(v.doubleValue())) {
            throw bad(where, name, v, "a number");
        }
        return v.floatValue();
    }

    private static boolean bool(JsonNode root, String name, String where, boolean absent) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return absent;
        }
        if (!v.isBoolean()) {
            throw bad(where, name, v, "true or false");
        }
        return v.booleanValue();
    }

    private static int integer(JsonNode root, String name, String where, int absent) {
        JsonNode v = root.get(name);
        if ((v == null || v.isNull()) && absent > 0) {
            return absent;
        }
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw bad(where, name, v, "an integer in [1, " + Integer.MAX_VALUE + "]");
        }
        return v.intValue();
    }

    private static InvalidFileException bad(String where, String name, JsonNode v, String expected) {
        return new InvalidFileException(where + ": field '" + name + "' is " + (v == null ? "missing" : Echo.value(UntrustedJson.written(v)))
                + "; expected " + expected);
    }
}
