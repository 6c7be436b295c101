package dev.nola.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.nola.io.InputFiles;
import dev.nola.io.UntrustedJson;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template: the Jinja {@code chat_template} of Hugging Face's
 * {@code tokenizer_config.json} (a string, or the entry named "default" of a list), rendered with
 * HubSpot's Jinjava as {@code apply_chat_template} renders it: {@code messages},
 * {@code add_generation_prompt = true}, {@code bos_token}, {@code eos_token}, and
 * {@code raise_exception(msg)} (a 400 naming the message).
 */
final class ChatTemplate {

    static final String FILE = "tokenizer_config.json";
    private final String template;
    private final String bos;
    private final String eos;
    private final Jinjava jinja = new Jinjava();

    private ChatTemplate(String template, String bos, String eos) {
        this.template = template;
        this.bos = bos;
        this.eos = eos;
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raise", String.class));
    }

    /** The template of a model directory, or null when it has none (no file, or no chat_template in it). */
    static ChatTemplate find(Path modelDir) {
        if (modelDir == null) {
            return null;
        }
        Path f = modelDir.resolve(FILE);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(f)) {
            return null;
        }
        InputFiles.requireInside(modelDir, f, "the model directory");
        JsonNode c = UntrustedJson.parse(InputFiles.readAll(f, 16L << 20, UntrustedJson.HEAP_PER_BYTE), f.toString());
        JsonNode t = c.get("chat_template");
        String template = null;
        if (t != null && t.isTextual()) {
            template = t.asText();
        } else if (t != null && t.isArray()) {
            for (JsonNode e : t) {
                if ("default".equals(e.path("name").asText()) && e.path("template").isTextual()) {
                    template = e.path("template").asText();
                }
            }
        }
        return template == null ? null : new ChatTemplate(template, token(c.get("bos_token")), token(c.get("eos_token")));
    }

    private static String token(JsonNode n) {
        if (n == null || n.isNull()) {
            return "";
        }
        return n.isTextual() ? n.asText() : n.path("content").asText("");
    }

    /** Called by templates: refuses the conversation with the template's own message. */
    public static String raise(String message) {
        throw new IllegalArgumentException(message);
    }

    /** The prompt of a conversation: messages as [{role, content}], ending where the assistant speaks. */
    String render(List<Map<String, Object>> messages) {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", messages);
        ctx.put("add_generation_prompt", true);
        ctx.put("bos_token", bos);
        ctx.put("eos_token", eos);
        RenderResult r = jinja.renderForResult(template, ctx);
        if (!r.getErrors().isEmpty()) {
            throw ApiError.badRequest("messages", "the model's chat template refused the messages: " + r.getErrors().getFirst().getMessage());
        }
        return r.getOutput();
    }
}
