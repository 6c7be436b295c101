package dev.nola.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;

/**
 * A Spark standalone cluster of separate JVMs on loopback: Spark's own Master and {@code workers} Workers of one core
 * each, started from {@code target/spark-home/jars} (the jars Maven resolved) and stopped by {@link #close}. Executors
 * find nola's classes through {@code spark.executor.extraClassPath} (this build's module class directories).
 */
final class StandaloneCluster implements AutoCloseable {

    private static final String HOST = "127.0.0.1";

    private final Path sparkHome;
    private final Path logs;
    private final Process master;
    private final List<Process> workers = new ArrayList<>();
    private final int port;

    StandaloneCluster(Path dir, int workerCount) throws IOException, InterruptedException {
        String home = System.getProperty("nola.spark.home");
        if (home == null || !Files.isDirectory(Path.of(home, "jars"))) {
            throw new IllegalStateException("nola.spark.home is " + home + "; expected the build's target/spark-home (mvn test sets it)");
        }
        this.sparkHome = Path.of(home);
        this.logs = Files.createDirectories(dir.resolve("logs"));
        this.port = freePort();
        this.master = start("master", List.of("org.apache.spark.deploy.master.Master", "--host", HOST, "--port",
                String.valueOf(port), "--webui-port", String.valueOf(freePort())));
        try {
            awaitLog("master", "I have been elected leader", 120);
            for (int i = 0; i < workerCount; i++) {
                Path work = Files.createDirectories(dir.resolve("work" + i));
                workers.add(start("worker" + i, List.of("org.apache.spark.deploy.worker.Worker", "--host", HOST, "--cores", "1",
                        "--memory", "1g", "--webui-port", String.valueOf(freePort()), "--work-dir", work.toString(), masterUrl())));
            }
            for (int i = 0; i < workerCount; i++) {
                awaitLog("worker" + i, "Successfully registered with master", 120);
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    String masterUrl() {
        return "spark://" + HOST + ":" + port;
    }

    /** The driver's settings for a run on this cluster: both workers' executors, nola's classes, small JVMs. */
    SparkConf conf() {
        List<String> nola = new ArrayList<>();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String e : cp.split(java.io.File.pathSeparator)) {
            // the reactor's module classes; every third-party jar is in spark-home/jars already
            if (Files.isDirectory(Path.of(e)) && e.endsWith("classes") && !e.endsWith("test-classes")) {
                nola.add(e);
            }
        }
        return new SparkConf().setMaster(masterUrl()).set("spark.driver.host", HOST).set("spark.ui.enabled", "false")
                .set("spark.executor.cores", "1").set("spark.cores.max", String.valueOf(workers.size()))
                .set("spark.executor.memory", "600m").set("spark.executor.extraClassPath", String.join(":", nola))
                // the first step waits for every executor, so that the ranks spread over the workers
                .set("spark.scheduler.minRegisteredResourcesRatio", "1.0")
                .set("spark.scheduler.maxRegisteredResourcesWaitingTime", "120s");
    }

    /** The executor JVMs the workers have started (children of the Worker processes). */
    List<ProcessHandle> executors() {
        return workers.stream().flatMap(Process::descendants)
                .filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend")).toList();
    }

    private Process start(String name, List<String> mainAndArgs) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:ActiveProcessorCount=1"));
        cmd.addAll(SparkFinetune.JVM_FLAGS);
        cmd.addAll(List.of("-cp", sparkHome.resolve("jars") + "/*"));
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logs.resolve(name + ".log").toFile());
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", HOST);
        return pb.start();
    }

    private void awaitLog(String name, String line, int seconds) throws IOException, InterruptedException {
        Path log = logs.resolve(name + ".log");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            if (Files.exists(log) && Files.readString(log).contains(line)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(name + " did not log '" + line + "' within " + seconds + " s; its log:\n"
                + (Files.exists(log) ? Files.readString(log) : "(none)"));
    }

    /** The logs of the cluster's JVMs, for a failed test's message. */
    String logs() {
        StringBuilder sb = new StringBuilder();
        try (var s = Files.list(logs)) {
            for (Path p : s.sorted().toList()) {
                String t = Files.readString(p);
                sb.append("--- ").append(p.getFileName()).append('\n').append(t, Math.max(0, t.length() - 3000), t.length());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sb.toString();
    }

    @Override
    public void close() {
        List<Process> all = new ArrayList<>(workers);
        all.add(master);
        for (Process p : all) {
            if (p != null) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
        for (Process p : all) {
            if (p != null) {
                try {
                    p.waitFor(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(HOST, 0));
            return s.getLocalPort();
        }
    }
}
