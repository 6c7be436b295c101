package dev.nola.serve;

import dev.nola.cli.run.ModelSource;
import dev.nola.cli.run.Progress;
import dev.nola.config.RuntimeSettings;
import dev.nola.io.Echo;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * {@code nola serve --model M --adapters DIR [--device D] [--host H] [--port P] [--max-batch N]
 * [--max-queue N] [--max-body BYTES] [--cache-bytes BYTES]}: reached through the launcher
 * ({@code bin/nola serve}), so the CLI never compiles against the HTTP server. Bad arguments: one line
 * naming the argument, the value and what was expected; exit 2.
 */
public final class ServeMain {

    private ServeMain() {
    }

    public static void main(String[] args) {
        int status;
        try {
            status = run(args);
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("nola serve: " + Echo.line(String.valueOf(e.getMessage())));
            status = 2;
        }
        System.exit(status);
    }

    static int run(String[] args) {
        String model = null;
        Path adapters = null;
        String device = null;
        NolaServer.Settings s = NolaServer.Settings.defaults().withPort(8000);
        String host = s.host();
        int port = s.port();
        int batch = s.maxBatch();
        int queue = s.maxQueue();
        long body = s.maxBodyBytes();
        long cache = s.cacheBytes();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println("Usage: nola serve --model MODEL --adapters DIR [--device D] [--host 127.0.0.1] [--port 8000]\n"
                        + "                  [--max-batch 64] [--max-queue 256] [--max-body 1048576] [--cache-bytes 268435456]");
                return 0;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--model" -> model = v;
                case "--adapters" -> adapters = Path.of(v);
                case "--device" -> device = v;
                case "--host" -> host = v;
                case "--port" -> port = integer(a, v);
                case "--max-batch" -> batch = integer(a, v);
                case "--max-queue" -> queue = integer(a, v);
                case "--max-body" -> body = longInteger(a, v);
                case "--cache-bytes" -> cache = longInteger(a, v);
                default -> throw new IllegalArgumentException("unknown option " + Echo.quote(a) + "; expected --model, --adapters, --device,"
                        + " --host, --port, --max-batch, --max-queue, --max-body or --cache-bytes");
            }
        }
        if (model == null || adapters == null) {
            throw new IllegalArgumentException("--model and --adapters are required (e.g. --model gpt2-fortunes --adapters DIR)");
        }
        NolaServer.Settings settings = new NolaServer.Settings(host, port, batch, queue, body, cache, s.drainMillis());
        Device d = Backends.open(RuntimeSettings.resolve(device));
        PrintWriter err = new PrintWriter(System.err, true);
        ModelSource.CausalLmDir src = ModelSource.resolve(model, d, 0, new Progress(Progress.Mode.LINES, err, "pretrain " + model,
                "tokens")).languageModel("serve");
        NolaServer server = NolaServer.start(d, model, src.checkpoint(), src.tokenizer(), adapters, settings);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.drainAndStop();
            d.close();
            stopped.countDown();
        }, "nola-serve-drain"));
        System.err.println("nola serve: " + model + " on " + d.id() + ", adapters from " + adapters + ", listening on http://"
                + host + ":" + server.port());
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private static int integer(String name, String v) {
        long n = longInteger(name, v);
        if (n != (int) n) {
            throw new IllegalArgumentException(name + " is " + Echo.quote(v) + "; expected an integer below 2^31");
        }
        return (int) n;
    }

    private static long longInteger(String name, String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " is " + Echo.quote(v) + "; expected an integer");
        }
    }
}
