package dev.nola.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.models.lm.Generator;
import dev.nola.models.text.HfTokenizer;
import dev.nola.models.text.Tokenizer;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code POST /v1/completions}: reads the body under the size limit, checks the request, turns the
 * prompt into tokens, queues a {@link Job} and sends its tokens back as text — whole, or as
 * server-sent events (one per token, then {@code data: [DONE]}). A client that goes away while
 * streaming has its job cancelled (its cache freed at the next token boundary). Stop strings end the
 * text before them.
 */
final class CompletionHandler {

    private static final AtomicLong IDS = new AtomicLong();
    private final NolaServer server;
    private final boolean chat;

    /** @param chat {@code /v1/chat/completions} (messages through the chat template, chat objects back) */
    CompletionHandler(NolaServer server, boolean chat) {
        this.server = server;
        this.chat = chat;
    }

    void handle(ServerRequest req, ServerResponse res) {
        Job job = null;
        try {
            byte[] body = readBody(req, server.settings().maxBodyBytes());
            CompletionRequest cr = chat ? CompletionRequest.parseChat(body, server.chatTemplate()) : CompletionRequest.parse(body);
            AdapterStore.AtRest adapter = server.resolveModel(cr.model());
            int[] prompt = encode(cr.prompt());
            int positions = server.positions();
            if ((long) prompt.length + cr.maxTokens() > positions) {
                throw ApiError.badRequest("max_tokens", "the prompt is " + prompt.length + " tokens and max_tokens is " + cr.maxTokens()
                        + ": " + ((long) prompt.length + cr.maxTokens()) + " exceeds the model's context of " + positions
                        + " positions; expected prompt tokens + max_tokens ≤ " + positions);
            }
            Generator.Settings settings = new Generator.Settings(cr.maxTokens(), cr.temperature(), cr.topK(), cr.topP(), cr.seed(),
                    server.tokenizer().endOfText());
            job = new Job(adapter, prompt, settings);
            server.scheduler().submit(job);
            String id = (chat ? "chatcmpl-" : "cmpl-") + IDS.incrementAndGet();
            long created = System.currentTimeMillis() / 1000;
            if (cr.stream()) {
                stream(res, job, cr, id, created);
            } else {
                whole(res, job, cr, id, created);
            }
        } catch (ApiError e) {
            if (job != null) {
                job.cancel();
            }
            Responses.error(res, e);
        } catch (InterruptedException e) {
            if (job != null) {
                job.cancel();
            }
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (job != null) {
                job.cancel();
            }
            throw e;
        }
    }

    /** The body, refused with 413 before it is read whole when it is larger than the limit. */
    static byte[] readBody(ServerRequest req, long limit) {
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > limit) {
            throw ApiError.tooLarge(limit);
        }
        try (InputStream in = req.content().inputStream()) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
            if (b.length > limit) {
                throw ApiError.tooLarge(limit);
            }
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            if (e instanceof ApiError) {
                throw e;
            }
            // Helidon's own payload limit (a chunked body past max-payload-size)
            if (String.valueOf(e.getMessage()).toLowerCase().contains("payload")) {
                throw ApiError.tooLarge(limit);
            }
            throw e;
        }
    }

    private int[] encode(String prompt) {
        Tokenizer tok = server.tokenizer();
        int[] ids;
        synchronized (tok) {
            ids = tok.encode(prompt);
            if (!chat && tok instanceof HfTokenizer h && h.addsBeginningOfText() && h.beginningOfText().isPresent()) {
                // a LLaMA-family prompt starts with bos, as nola generate gives it (a chat template writes its own)
                int[] withBos = new int[ids.length + 1];
                withBos[0] = h.beginningOfText().getAsInt();
                System.arraycopy(ids, 0, withBos, 1, ids.length);
                ids = withBos;
            }
        }
        if (ids.length == 0) {
            throw ApiError.badRequest("prompt", "prompt gives no tokens; expected some text to continue");
        }
        return ids;
    }

    /** The text of the tokens so far, cut at a stop string; tracks what has been sent. */
    private final class Text {
        final List<Integer> ids = new ArrayList<>();
        final List<String> stops;
        final int holdBack;
        String text = "";
        int sent;
        boolean stopped;

        Text(List<String> stops) {
            this.stops = stops;
            this.holdBack = stops.stream().mapToInt(String::length).max().orElse(1) - 1;
        }

        void add(int id) {
            ids.add(id);
            Tokenizer tok = server.tokenizer();
            synchronized (tok) {
                text = tok.decode(ids.stream().mapToInt(Integer::intValue).toArray());
            }
            for (String s : stops) {
                int at = text.indexOf(s, Math.max(0, sent - s.length()));
                if (at >= 0) {
                    text = text.substring(0, at);
                    stopped = true;
                }
            }
        }

        /**
         * Takes the job's next event: null while the text goes on, else the finish reason ("stop" also
         * when a stop string matched, and the job is cancelled).
         */
        String take(Job job, Job.Event e) {
            if (e instanceof Job.Token tk) {
                add(tk.id());
                if (stopped) {
                    job.cancel();
                    return "stop";
                }
                return null;
            }
            return ((Job.Done) e).finishReason();
        }

        /** What can be sent now: not a half-decoded character, not what may start a stop string. */
        String fresh(boolean last) {
            int end = text.length();
            if (!last) {
                end = Math.max(sent, end - holdBack);
                while (end > sent && text.charAt(end - 1) == '\uFFFD') {
                    end--;
                }
            }
            String d = text.substring(Math.min(sent, end), end);
            sent = Math.max(sent, end);
            return d;
        }
    }

    private Job.Event next(Job job) throws InterruptedException {
        Job.Event e = job.events.poll(10, TimeUnit.MINUTES);
        if (e == null) {
            throw ApiError.internal("no token in 10 minutes");
        }
        if (e instanceof Job.Failed f) {
            throw f.error();
        }
        return e;
    }

    private void whole(ServerResponse res, Job job, CompletionRequest cr, String id, long created) throws InterruptedException {
        Text t = new Text(cr.stop());
        String reason;
        do {
            reason = t.take(job, next(job));
        } while (reason == null);
        ObjectNode body = chunk(id, created, cr.model(), t.fresh(true), reason, false);
        ObjectNode usage = body.putObject("usage");
        usage.put("prompt_tokens", job.prompt.length);
        usage.put("completion_tokens", t.ids.size());
        usage.put("total_tokens", job.prompt.length + t.ids.size());
        Responses.json(res, 200, body);
    }

    private void stream(ServerResponse res, Job job, CompletionRequest cr, String id, long created) throws InterruptedException {
        // the first event decides the status: a failure before any token is still an error response
        Job.Event first = next(job);
        res.status(Status.OK_200);
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        Text t = new Text(cr.stop());
        try (OutputStream out = res.outputStream()) {
            Job.Event e = first;
            String reason;
            while ((reason = t.take(job, e)) == null) {
                String d = t.fresh(false);
                if (!d.isEmpty()) {
                    out.write(Responses.event(chunk(id, created, cr.model(), d, null, true)));
                    out.flush();
                }
                try {
                    e = next(job);
                } catch (ApiError err) {
                    out.write(Responses.event(Responses.errorBody(err)));
                    out.flush();
                    return;
                }
            }
            out.write(Responses.event(chunk(id, created, cr.model(), t.fresh(true), reason, true)));
            out.write(Responses.event("[DONE]"));
            out.flush();
        } catch (IOException | UncheckedIOException e) {
            // the client went away: stop generating for it and free its cache
            job.cancel();
            server.noteDisconnect();
        }
    }

    /** A completion object, or one event's chunk; chat: OpenAI's chat objects (message, or delta when streamed). */
    private ObjectNode chunk(String id, long created, String model, String text, String reason, boolean streamed) {
        ObjectNode o = Responses.JSON.createObjectNode();
        o.put("id", id);
        o.put("object", !chat ? "text_completion" : streamed ? "chat.completion.chunk" : "chat.completion");
        o.put("created", created);
        o.put("model", model);
        ArrayNode choices = o.putArray("choices");
        ObjectNode c = choices.addObject();
        c.put("index", 0);
        if (chat) {
            ObjectNode m = c.putObject(streamed ? "delta" : "message");
            m.put("role", "assistant");
            m.put("content", text);
        } else {
            c.put("text", text);
        }
        c.putNull("logprobs");
        c.put("finish_reason", reason);
        return o;
    }
}
