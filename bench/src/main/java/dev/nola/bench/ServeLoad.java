package dev.nola.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A load client for {@code nola serve}: C concurrent clients (virtual threads, the JDK's HttpClient),
 * each sending completions back to back, each to one of A adapters drawn uniformly from the request's index ({@code n0000 …}, as
 * {@link MakeAdapters} names them) or the base alone (A = 0), until R requests are done. Prints one
 * JSON line: requests, failures, completion tokens per second, p50 and p99 latency, and the server's
 * /stats after the run (RSS, the mixed-factor cache's hits and misses during the run).
 *
 * <pre>java -cp bench/target/nola-bench.jar dev.nola.bench.ServeLoad URL BASE_NAME ADAPTERS CLIENTS REQUESTS MAX_TOKENS [FIRST]</pre>
 *
 * FIRST (default 0) offsets the request indices, which seed the adapter choice and the sampling: a
 * warm-up run with another FIRST does not prime the measured run's adapters.
 */
public final class ServeLoad {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ServeLoad() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 6) {
            System.err.println("usage: ServeLoad URL BASE_NAME ADAPTERS CLIENTS REQUESTS MAX_TOKENS  (ADAPTERS 0: the base alone)");
            System.exit(2);
        }
        String url = args[0].replaceAll("/$", "");
        String base = args[1];
        int adapters = Integer.parseInt(args[2]);
        int clients = Integer.parseInt(args[3]);
        int requests = Integer.parseInt(args[4]);
        int maxTokens = Integer.parseInt(args[5]);
        long first = args.length > 6 ? Long.parseLong(args[6]) : 0;
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        JsonNode before = get(http, url + "/stats");
        AtomicInteger next = new AtomicInteger();
        AtomicLong tokens = new AtomicLong();
        AtomicInteger failures = new AtomicInteger();
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        String[] prompts = {"The", "A man", "Love is", "Never", "Life"};
        long t0 = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < clients; c++) {
                pool.submit(() -> {
                    int n;
                    while ((n = next.getAndIncrement()) < requests) {
                        long i = first + n;
                        String model = adapters == 0 ? base : String.format("n%04d", new java.util.SplittableRandom(i).nextInt(adapters));
                        String body = JSON.createObjectNode().put("model", model).put("prompt", prompts[(int) (i % prompts.length)])
                                .put("max_tokens", maxTokens).put("temperature", 0.8).put("seed", i).toString();
                        long s = System.nanoTime();
                        try {
                            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            if (r.statusCode() != 200) {
                                failures.incrementAndGet();
                                continue;
                            }
                            tokens.addAndGet(JSON.readTree(r.body()).path("usage").path("completion_tokens").asLong());
                            latencies.add(System.nanoTime() - s);
                        } catch (Exception e) {
                            failures.incrementAndGet();
                        }
                    }
                    return null;
                });
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        JsonNode after = get(http, url + "/stats");
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        long hits = after.path("mixed_cache").path("hits").asLong() - before.path("mixed_cache").path("hits").asLong();
        long misses = after.path("mixed_cache").path("misses").asLong() - before.path("mixed_cache").path("misses").asLong();
        var o = JSON.createObjectNode();
        o.put("adapters", adapters);
        o.put("clients", clients);
        o.put("requests", requests);
        o.put("failures", failures.get());
        o.put("seconds", seconds);
        o.put("tokens", tokens.get());
        o.put("tokens_per_second", tokens.get() / seconds);
        o.put("p50_ms", percentile(sorted, 0.50) / 1e6);
        o.put("p99_ms", percentile(sorted, 0.99) / 1e6);
        o.put("server_rss_bytes", after.path("rss_bytes").asLong());
        o.put("cache_hit_rate", hits + misses == 0 ? 0 : (double) hits / (hits + misses));
        o.put("cache_bytes", after.path("mixed_cache").path("bytes").asLong());
        System.out.println(o);
    }

    private static double percentile(List<Long> sorted, double p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }

    private static JsonNode get(HttpClient http, String url) throws Exception {
        return JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString()).body());
    }
}
