package dev.nola.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of {@code POST /v1/completions} that nola honours, parsed strictly: a field of the wrong
 * type or out of range is a 400 naming it, the value and what was expected. Fields OpenAI defines that
 * nola does not implement are refused when set to anything but their default ({@code n}, {@code
 * best_of}, {@code echo}, {@code logprobs}, {@code suffix}); other unknown fields are ignored, as
 * OpenAI-compatible servers do.
 *
 * @param model       the base's name or an adapter directory's name
 * @param prompt      the text to continue (one string; an array of exactly one string is taken too)
 * @param maxTokens   new tokens at most, ≥ 1 (default 16)
 * @param temperature ≥ 0, 0 for greedy (default 1)
 * @param topP        in (0, 1] (default 1)
 * @param topK        ≥ 0, 0 or −1 for all (default all)
 * @param seed        the sampling seed (default 0)
 * @param stop        up to 4 strings that end the text (not included)
 * @param stream      server-sent events, one per token, then {@code [DONE]}
 */
record CompletionRequest(String model, String prompt, int maxTokens, double temperature, double topP, int topK, long seed,
                         List<String> stop, boolean stream) {

    private static final ObjectMapper JSON = new ObjectMapper();

    static CompletionRequest parse(byte[] body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest(null, "the body is not valid JSON (" + e.getOriginalMessage() + "); expected a JSON object");
        } catch (java.io.IOException e) {
            throw ApiError.badRequest(null, "the body cannot be read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw ApiError.badRequest(null, "the body is " + (root == null ? "empty" : "a JSON " + root.getNodeType().name().toLowerCase())
                    + "; expected a JSON object");
        }
        String model = text(root, "model", true);
        JsonNode p = root.get("prompt");
        String prompt;
        if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            prompt = p.get(0).asText();
        } else if (p != null && p.isTextual()) {
            prompt = p.asText();
        } else {
            throw ApiError.badRequest("prompt", "prompt is " + describe(p) + "; expected a string (or an array of one string)");
        }
        if (prompt.isEmpty()) {
            throw ApiError.badRequest("prompt", "prompt is empty; expected some text to continue");
        }
        int maxTokens = (int) integer(root, "max_tokens", 16, 1, 1_000_000);
        double temperature = number(root, "temperature", 1, 0, 100);
        double topP = number(root, "top_p", 1, Double.MIN_VALUE, 1);
        int topK = (int) integer(root, "top_k", 0, -1, Integer.MAX_VALUE);
        long seed = integer(root, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        List<String> stop = new ArrayList<>();
        JsonNode s = root.get("stop");
        if (s != null && !s.isNull()) {
            if (s.isTextual()) {
                stop.add(s.asText());
            } else if (s.isArray() && s.size() <= 4) {
                for (JsonNode e : s) {
                    if (!e.isTextual()) {
                        throw ApiError.badRequest("stop", "stop holds " + describe(e) + "; expected strings");
                    }
                    stop.add(e.asText());
                }
            } else {
                throw ApiError.badRequest("stop", "stop is " + describe(s) + "; expected a string or an array of up to 4 strings");
            }
            if (stop.contains("")) {
                throw ApiError.badRequest("stop", "stop holds an empty string; expected non-empty strings");
            }
        }
        JsonNode st = root.get("stream");
        if (st != null && !st.isNull() && !st.isBoolean()) {
            throw ApiError.badRequest("stream", "stream is " + describe(st) + "; expected true or false");
        }
        requireDefault(root, "n", 1);
        requireDefault(root, "best_of", 1);
        for (String f : List.of("echo", "logprobs", "suffix")) {
            JsonNode x = root.get(f);
            if (x != null && !x.isNull() && !(x.isBoolean() && !x.asBoolean())) {
                throw ApiError.badRequest(f, f + " is " + describe(x) + "; nola serve does not implement it (expected it absent)");
            }
        }
        return new CompletionRequest(model, prompt, maxTokens, temperature, topP, topK <= 0 ? 0 : topK, seed, List.copyOf(stop),
                st != null && st.asBoolean());
    }

    /**
     * {@code POST /v1/chat/completions}: {@code messages} ([{role, content}], strings) rendered by the
     * model's chat template into the prompt, then the completion fields as above
     * ({@code max_completion_tokens} is taken for max_tokens).
     *
     * @param template the model's template, or null when it has none (400)
     */
    static CompletionRequest parseChat(byte[] body, ChatTemplate template) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (java.io.IOException e) {
            return parse(body);   // the same 400 as a completion's
        }
        if (root == null || !root.isObject()) {
            return parse(body);
        }
        JsonNode msgs = root.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw ApiError.badRequest("messages", "messages is " + describe(msgs) + "; expected a non-empty array of {role, content}");
        }
        List<java.util.Map<String, Object>> list = new ArrayList<>();
        for (JsonNode m : msgs) {
            if (!m.isObject() || !m.path("role").isTextual() || !m.path("content").isTextual()) {
                throw ApiError.badRequest("messages", "messages holds " + describe(m) + "; expected {\"role\": string, \"content\": string}");
            }
            list.add(java.util.Map.of("role", m.get("role").asText(), "content", m.get("content").asText()));
        }
        if (template == null) {
            throw ApiError.badRequest("messages", "the base has no chat template (tokenizer_config.json's chat_template);"
                    + " expected /v1/completions for this model");
        }
        com.fasterxml.jackson.databind.node.ObjectNode o = ((com.fasterxml.jackson.databind.node.ObjectNode) root).deepCopy();
        o.remove("messages");
        o.put("prompt", template.render(list));
        if (o.has("max_completion_tokens") && !o.has("max_tokens")) {
            o.set("max_tokens", o.remove("max_completion_tokens"));
        }
        return parse(o.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static void requireDefault(JsonNode root, String field, int only) {
        JsonNode x = root.get(field);
        if (x != null && !x.isNull() && !(x.canConvertToExactIntegral() && x.asLong() == only)) {
            throw ApiError.badRequest(field, field + " is " + describe(x) + "; nola serve supports only " + only);
        }
    }

    private static String text(JsonNode root, String field, boolean required) {
        JsonNode x = root.get(field);
        if (x == null || x.isNull()) {
            if (required) {
                throw ApiError.badRequest(field, field + " is missing; expected a string");
            }
            return null;
        }
        if (!x.isTextual()) {
            throw ApiError.badRequest(field, field + " is " + describe(x) + "; expected a string");
        }
        return x.asText();
    }

    private static long integer(JsonNode root, String field, long dflt, long min, long max) {
        JsonNode x = root.get(field);
        if (x == null || x.isNull()) {
            return dflt;
        }
        if (!x.isIntegralNumber() || !x.canConvertToLong() || x.asLong() < min || x.asLong() > max) {
            throw ApiError.badRequest(field, field + " is " + describe(x) + "; expected an integer in [" + min + ", " + max + "]");
        }
        return x.asLong();
    }

    private static double number(JsonNode root, String field, double dflt, double min, double max) {
        JsonNode x = root.get(field);
        if (x == null || x.isNull()) {
            return dflt;
        }
        if (!x.isNumber() || !(x.asDouble() >= min && x.asDouble() <= max)) {
            throw ApiError.badRequest(field, field + " is " + describe(x) + "; expected a number in "
                    + (min == Double.MIN_VALUE ? "(0" : "[" + min)
                    + ", " + max + "]");
        }
        return x.asDouble();
    }

    private static String describe(JsonNode x) {
        if (x == null) {
            return "missing";
        }
        String s = x.toString();
        return s.length() > 64 ? s.substring(0, 61) + "..." : s;
    }
}
