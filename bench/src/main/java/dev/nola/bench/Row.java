package dev.nola.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One figure of the suite: an op at a shape on a device (or a peer), its timing, its work, and what
 * the suite derived from it (fraction of the device's peak, speed against the peer) in {@code extra}.
 *
 * @param group      the suite group
 * @param op         the op's name
 * @param shape      the shape in words; (group, op, shape) pairs a row with the peer's
 * @param device     the device id ({@code cpu}, {@code opencl:0:0}, …) or the peer ({@code torch}, {@code numpy})
 * @param warmup     untimed calls
 * @param reps       timed calls
 * @param minS       fastest call, seconds
 * @param medianS    median call, seconds: the figure every ratio uses
 * @param maxS       slowest call, seconds
 * @param flops      floating-point operations per call (0: not counted)
 * @param bytes      bytes a call moves at least (0: not counted)
 * @param validation how the result was checked against the reference before timing
 * @param extra      further figures by name (tokens_per_s, memory_mb, of_peak, speed_vs_torch, …)
 */
record Row(String group, String op, String shape, String device, int warmup, int reps, double minS, double medianS,
           double maxS, double flops, double bytes, String validation, Map<String, Object> extra) {

    Row {
        extra = new LinkedHashMap<>(extra);
    }

    static Row timed(Case c, String device, Timing.Result t, String validation) {
        return new Row(c.group(), c.op(), c.shape(), device, t.warmup(), t.reps(), t.best(), t.median(), t.max(),
                c.flops(), c.bytes(), validation, Map.of());
    }

    /** GFLOP/s at the median, or NaN. */
    double gflops() {
        return flops > 0 ? flops / medianS / 1e9 : Double.NaN;
    }

    /** GFLOP/s at the fastest call, or NaN: a peak's figure (the Peaks table, {@link MatmulFloor}). */
    double bestGflops() {
        return flops > 0 && minS > 0 ? flops / minS / 1e9 : Double.NaN;
    }

    /** GB/s at the median, or NaN. */
    double gbps() {
        return bytes > 0 ? bytes / medianS / 1e9 : Double.NaN;
    }

    /** FLOP per byte, or NaN. */
    double intensity() {
        return flops > 0 && bytes > 0 ? flops / bytes : Double.NaN;
    }

    String key() {
        return TorchPeer.key(group, op, shape);
    }

    double number(String name) {
        Object v = extra.get(name);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
