package dev.nola.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;

/** JSON bodies and OpenAI-style error objects on a Helidon response. */
final class Responses {

    static final ObjectMapper JSON = new ObjectMapper();

    private Responses() {
    }

    /** Sends a JSON body with a status. */
    static void json(ServerResponse res, int status, Object body) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        res.status(Status.create(status));
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(bytes);
    }

    /** The error object of an {@link ApiError}. */
    static ObjectNode errorBody(ApiError e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        err.put("param", e.param());
        err.put("code", e.code());
        return root;
    }

    /** Sends an {@link ApiError} (with Retry-After for a 429). */
    static void error(ServerResponse res, ApiError e) {
        if (e.retryAfterSeconds() > 0) {
            res.header(HeaderNames.create("Retry-After"), Long.toString(e.retryAfterSeconds()));
        }
        if (e.status() == 413) {
            // the rest of the body was not read: the connection cannot be reused
            res.header(HeaderNames.CONNECTION, "close");
        }
        json(res, e.status(), errorBody(e));
    }

    /** One server-sent event carrying a JSON object (or the literal {@code [DONE]}). */
    static byte[] event(Object data) {
        try {
            String s = data instanceof String str ? str : JSON.writeValueAsString(data);
            return ("data: " + s + "\n\n").getBytes(StandardCharsets.UTF_8);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
