package dev.nola.serve;

/**
 * A request the server refuses, as OpenAI's API reports it: an HTTP status and an error object
 * {@code {"error": {"message", "type", "param", "code"}}}. The message names the field, the value and
 * what was expected.
 */
public final class ApiError extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final long retryAfterSeconds;

    ApiError(int status, String type, String param, String code, String message, long retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: a malformed body or a field out of range; {@code param} names the field. */
    public static ApiError badRequest(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, null, message, 0);
    }

    /** 404: no base or adapter of that name. */
    public static ApiError unknownModel(String name, String message) {
        return new ApiError(404, "invalid_request_error", "model", "model_not_found", message, 0);
    }

    /** 413: a body over the limit, refused before it is read whole. */
    public static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", null, "request_too_large",
                "the request body is larger than " + limit + " bytes; expected at most " + limit, 0);
    }

    /** 429: the queue is full; try again after {@code seconds}. */
    public static ApiError queueFull(int capacity, long seconds) {
        return new ApiError(429, "rate_limit_error", null, "queue_full",
                "the server's queue of " + capacity + " requests is full; retry after " + seconds + " s", seconds);
    }

    /** 503: the server is draining (SIGTERM) and takes no new requests. */
    public static ApiError draining() {
        return new ApiError(503, "server_error", null, "shutting_down", "the server is shutting down; no new requests", 0);
    }

    /** 500: the server failed on a request it accepted. */
    public static ApiError internal(String message) {
        return new ApiError(500, "server_error", null, null, message, 0);
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }

    /** OpenAI's error type. */
    public String type() {
        return type;
    }

    /** The request field at fault, or null. */
    public String param() {
        return param;
    }

    /** A machine-readable code, or null. */
    public String code() {
        return code;
    }

    /** For 429: the Retry-After seconds; else 0. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
