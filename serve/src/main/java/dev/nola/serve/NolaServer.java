package dev.nola.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.kernels.AbstractDevice;
import dev.nola.kernels.Device;
import dev.nola.models.lm.CausalLm;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.spec.CausalLmSpec;
import dev.nola.models.text.Tokenizer;
import dev.nola.models.transformer.DeviceWeights;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code nola serve}: one base model on one device, the adapters of a directory, and an
 * OpenAI-compatible HTTP API on Helidon SE's virtual-thread web server —
 * {@code POST /v1/completions} ({@link CompletionHandler}), {@code POST /v1/chat/completions} (where
 * the base has a chat template, {@link ChatTemplate}), {@code GET /v1/models} (the base and every
 * adapter directory, with each adapter's bytes at rest and mixed), {@code GET /health} and
 * {@code GET /stats} (batch, queue, tokens, the mixed-factor cache's hit rate, the process's RSS).
 * Requests are decoded together by the {@link BatchScheduler}. {@link #drainAndStop} (SIGTERM) refuses
 * new requests, lets those in flight finish, then stops.
 */
public final class NolaServer implements AutoCloseable {

    /**
     * How the server runs.
     *
     * @param host          the address to bind (127.0.0.1 by default)
     * @param port          the port, 0 for a free one
     * @param maxBatch      sequences decoded together at most
     * @param maxQueue      requests waiting at most (more: 429)
     * @param maxBodyBytes  a request body's bytes at most (more: 413, refused before it is read whole)
     * @param cacheBytes    the bytes of mixed adapter factors kept on the device when not in use
     * @param drainMillis   how long SIGTERM waits for requests in flight
     */
    public record Settings(String host, int port, int maxBatch, int maxQueue, long maxBodyBytes, long cacheBytes, long drainMillis) {
        public Settings {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("--port is " + port + "; expected 0..65535 (0: a free port)");
            }
            if (maxBodyBytes < 1) {
                throw new IllegalArgumentException("--max-body is " + maxBodyBytes + "; expected ≥ 1");
            }
        }

        /** Defaults: loopback, a free port, 64 in a batch, 256 queued, 1 MiB bodies, 256 MiB of factors, 60 s drain. */
        public static Settings defaults() {
            return new Settings("127.0.0.1", 0, 64, 256, 1 << 20, 256L << 20, 60_000);
        }

        /** The same with another port. */
        public Settings withPort(int p) {
            return new Settings(host, p, maxBatch, maxQueue, maxBodyBytes, cacheBytes, drainMillis);
        }

        /** The same with other batch and queue bounds. */
        public Settings withLimits(int batch, int queue) {
            return new Settings(host, port, batch, queue, maxBodyBytes, cacheBytes, drainMillis);
        }

        /** The same with another cache bound. */
        public Settings withCacheBytes(long bytes) {
            return new Settings(host, port, maxBatch, maxQueue, maxBodyBytes, bytes, drainMillis);
        }
    }

    private final Settings settings;
    private final Device device;
    private final String baseName;
    private final Tokenizer tokenizer;
    private final CausalLmSpec spec;
    private final DeviceWeights weights;
    private final CausalLm prefill;
    private final CausalLm decode;
    private final AdapterStore adapters;
    private final MixedCache mixed;
    private final BatchScheduler scheduler;
    private final WebServer web;
    private final ChatTemplate chat;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong disconnects = new AtomicLong();
    private volatile boolean draining;
    private boolean closed;

    private NolaServer(Device d, String baseName, HfCheckpoint ckpt, Tokenizer tokenizer, Path adaptersDir, Settings s) {
        this.settings = s;
        this.device = d;
        this.baseName = baseName;
        this.tokenizer = tokenizer;
        this.spec = ckpt.config().spec();
        if (tokenizer.vocabularySize() > spec.vocabulary()) {
            throw new IllegalArgumentException("the model's vocab_size is " + spec.vocabulary() + " but its tokenizer has "
                    + tokenizer.vocabularySize() + " ids; expected a tokenizer whose ids fit the model");
        }
        this.adapters = new AdapterStore(adaptersDir, spec.model());
        this.weights = DeviceWeights.upload(d, ckpt.table(), ckpt.tensors());
        this.prefill = new CausalLm(d, spec, weights, false, Map.of());
        this.decode = new CausalLm(d, spec, weights, false, Map.of());
        this.mixed = new MixedCache(d, spec.model(), s.cacheBytes());
        this.scheduler = new BatchScheduler(d, prefill, decode, mixed, s.maxBatch(), s.maxQueue(), tokenizer.vocabularySize());
        this.chat = ChatTemplate.find(ckpt.dir());
        CompletionHandler completions = new CompletionHandler(this, false);
        CompletionHandler chats = new CompletionHandler(this, true);
        this.web = WebServer.builder()
                .host(s.host())
                .port(s.port())
                .maxPayloadSize(s.maxBodyBytes())
                // SIGTERM is ours to handle (drainAndStop): Helidon's own hook would close connections mid-answer
                .shutdownHook(false)
                .routing(r -> r
                        .get("/health", (req, res) -> counted(req, res, this::health))
                        .get("/stats", (req, res) -> counted(req, res, this::stats))
                        .get("/v1/models", (req, res) -> counted(req, res, this::models))
                        .post("/v1/completions", (req, res) -> counted(req, res, completions::handle))
                        .post("/v1/chat/completions", (req, res) -> counted(req, res, chats::handle)))
                .build()
                .start();
    }

    /**
     * Starts a server: uploads the base to the device and listens.
     *
     * @param baseName    the name requests give for the base alone
     * @param adaptersDir one adapter directory per model name (PEFT layout, NOLA or LoRA)
     */
    public static NolaServer start(Device d, String baseName, HfCheckpoint ckpt, Tokenizer tokenizer, Path adaptersDir,
                                   Settings s) {
        return new NolaServer(d, baseName, ckpt, tokenizer, adaptersDir, s);
    }

    private interface Route {
        void handle(ServerRequest req, ServerResponse res) throws Exception;
    }

    private void counted(ServerRequest req, ServerResponse res, Route r) throws Exception {
        if (draining && !req.path().path().equals("/health")) {
            Responses.error(res, ApiError.draining());
            return;
        }
        inFlight.incrementAndGet();
        try {
            r.handle(req, res);
        } catch (ApiError e) {
            Responses.error(res, e);
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /** The port the server listens on. */
    public int port() {
        return web.port();
    }

    Settings settings() {
        return settings;
    }

    Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The base's chat template, or null. */
    ChatTemplate chatTemplate() {
        return chat;
    }

    BatchScheduler scheduler() {
        return scheduler;
    }

    int positions() {
        return spec.positions();
    }

    void noteDisconnect() {
        disconnects.incrementAndGet();
    }

    /** The adapter a request's model names; null for the base; 404 for neither. */
    AdapterStore.AtRest resolveModel(String model) {
        return model.equals(baseName) ? null : adapters.find(model);
    }

    private void health(ServerRequest req, ServerResponse res) {
        ObjectNode o = Responses.JSON.createObjectNode();
        o.put("status", draining ? "draining" : "ok");
        Responses.json(res, draining ? 503 : 200, o);
    }

    private void models(ServerRequest req, ServerResponse res) {
        ObjectNode o = Responses.JSON.createObjectNode();
        o.put("object", "list");
        ArrayNode data = o.putArray("data");
        long now = System.currentTimeMillis() / 1000;
        modelEntry(data, baseName, null, now);
        for (String name : adapters.names()) {
            if (name.equals(baseName)) {
                continue;
            }
            ObjectNode m = modelEntry(data, name, baseName, now);
            ObjectNode n = m.putObject("nola");
            AdapterStore.AtRest a = adapters.peek(name);
            if (a == null) {
                n.put("loaded", false);
            } else {
                n.put("loaded", true);
                n.put("kind", a.kind().name().toLowerCase());
                n.put("bytes_at_rest", a.bytesAtRest());
                n.put("bytes_mixed", a.bytesMixed());
                n.put("mixed_now", mixed.holds(name));
            }
        }
        Responses.json(res, 200, o);
    }

    /** One entry of /v1/models as OpenAI (and vLLM, for LoRA modules: root and parent) write it. */
    private ObjectNode modelEntry(ArrayNode data, String id, String parent, long created) {
        ObjectNode m = data.addObject();
        m.put("id", id);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "nola");
        m.put("root", baseName);
        m.put("parent", parent);
        m.put("max_model_len", spec.positions());
        return m;
    }

    private void stats(ServerRequest req, ServerResponse res) {
        ObjectNode o = Responses.JSON.createObjectNode();
        o.put("running", scheduler.running());
        o.put("queued", scheduler.queued());
        o.put("tokens", scheduler.tokens());
        o.put("completed", scheduler.completed());
        o.put("disconnects", disconnects.get());
        o.put("cancelled", scheduler.cancelled());
        o.put("rss_bytes", rss());
        o.put("device_bytes", device instanceof AbstractDevice ad ? ad.memoryBytes() : -1);
        MixedCache.Stats c = mixed.stats();
        ObjectNode cache = o.putObject("mixed_cache");
        cache.put("entries", c.entries());
        cache.put("bytes", c.bytes());
        cache.put("budget_bytes", c.budget());
        cache.put("hits", c.hits());
        cache.put("misses", c.misses());
        cache.put("evictions", c.evictions());
        cache.put("hit_rate", c.hitRate());
        Responses.json(res, 200, o);
    }

    /** The process's resident set in bytes (Linux /proc), or −1. */
    static long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /**
     * SIGTERM: new requests get 503, queued and running ones finish (up to the drain time), their
     * responses are written, then the server stops.
     */
    public void drainAndStop() {
        draining = true;
        try {
            scheduler.drain(settings.drainMillis());
            long until = System.currentTimeMillis() + 5_000;
            while (inFlight.get() > 0 && System.currentTimeMillis() < until) {
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        web.stop();
        scheduler.close();
        mixed.close();
        prefill.close();
        decode.close();
        weights.close();
    }
}
