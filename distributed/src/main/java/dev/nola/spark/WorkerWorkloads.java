package dev.nola.spark;

import dev.nola.adapter.optim.Parameter;
import dev.nola.cli.FinetuneWorker;
import dev.nola.cli.run.Workload;
import dev.nola.kernels.Backends;
import dev.nola.kernels.Device;
import dev.nola.models.train.AccumulatingTask;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * The workloads an executor JVM has opened, kept across steps and tasks: a task borrows one for its job (its
 * finetune command line and device), or opens one when none is idle, and hands it back. An executor with one core
 * runs one task at a time and so loads the frozen base once; {@code local[N]} runs N tasks at once in one JVM and
 * opens up to N (each task needs its own activations and gradients). Weights are read from the model directory by
 * each JVM, never sent by Spark.
 */
final class WorkerWorkloads {

    /** Idle workloads by key: the command line and the device. */
    private static final Map<String, ConcurrentLinkedDeque<Opened>> IDLE = new ConcurrentHashMap<>();

    /** A workload with its device. */
    record Opened(Device device, Workload workload) {
    }

    private WorkerWorkloads() {
    }

    /**
     * Computes micro-batch {@code rank} of {@code step} at the given trainable values.
     *
     * @param values the trainable parameters' values, in order
     */
    static MicroBatchResult compute(List<String> args, String device, long step, int ranks, int rank, float[][] values,
                                    String host, String executor) {
        String key = device + "\n" + String.join("\n", args);
        long t0 = System.nanoTime();
        Opened o = IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>()).pollFirst();
        if (o == null) {
            o = open(args, device, host);
        }
        long loaded = System.nanoTime();
        try {
            List<Parameter> params = o.workload().task().trainable().list();
            if (params.size() != values.length) {
                throw new IllegalStateException("the worker's workload has " + params.size() + " trainable parameters; the driver sent "
                        + values.length);
            }
            for (int i = 0; i < values.length; i++) {
                o.device().write(params.get(i).value(), values[i]);
                params.get(i).touch();
            }
            double loss = o.workload().task().step(AccumulatingTask.microBatch(step, ranks, rank));
            float[][] grads = new float[values.length][];
            for (int i = 0; i < grads.length; i++) {
                grads[i] = o.device().read(params.get(i).grad());
            }
            long done = System.nanoTime();
            IDLE.get(key).addFirst(o);
            return new MicroBatchResult(rank, loss, grads, host, executor, done - loaded, loaded - t0);
        } catch (RuntimeException | Error e) {
            // a workload that failed mid-step is not reused
            close(o);
            throw e;
        }
    }

    /**
     * Closes every idle workload of this JVM. The driver calls it when its run ends: in {@code local[N]} the executors
     * are its own threads and their workloads would outlive the run; a cluster's executor JVMs end with the application.
     */
    static void closeAll() {
        for (ConcurrentLinkedDeque<Opened> q : IDLE.values()) {
            for (Opened o = q.pollFirst(); o != null; o = q.pollFirst()) {
                close(o);
            }
        }
        IDLE.clear();
    }

    private static Opened open(List<String> args, String device, String host) {
        Device d;
        try {
            d = Backends.open(device);
        } catch (RuntimeException e) {
            throw new WorkerFailure(host, "device " + device + " does not open: " + e.getMessage());
        }
        try {
            return new Opened(d, FinetuneWorker.open(args, d));
        } catch (RuntimeException e) {
            d.close();
            // the model or the data cannot be read here: the CLI's message names the path
            throw new WorkerFailure(host, String.valueOf(e.getMessage()));
        }
    }

    private static void close(Opened o) {
        try {
            o.workload().close();
        } finally {
            o.device().close();
        }
    }
}
