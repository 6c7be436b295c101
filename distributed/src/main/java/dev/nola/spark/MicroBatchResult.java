package dev.nola.spark;

import java.io.Serializable;

/**
 * What a worker returns for one micro-batch: its mean loss and the gradient of every trainable parameter (in the
 * parameter set's order), with where and how long it ran.
 *
 * @param rank       the micro-batch's rank within its step
 * @param loss       the micro-batch's mean loss
 * @param gradients  one array per trainable parameter, in order
 * @param host       the executor's host name
 * @param executor   Spark's executor id ("driver" in local mode)
 * @param computeNanos the forward and backward's wall time on the worker (the model's load excluded)
 * @param loadNanos  the time this task spent opening the workload (0 when the JVM had it already)
 */
public record MicroBatchResult(int rank, double loss, float[][] gradients, String host, String executor, long computeNanos,
                               long loadNanos) implements Serializable {
}
