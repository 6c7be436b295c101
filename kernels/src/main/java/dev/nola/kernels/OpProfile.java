package dev.nola.kernels;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Wall time per op of a device, for a profiled pass of a training step: while a device carries a
 * profile ({@link AbstractDevice#profile(OpProfile)}), every op family it hands out is a proxy that
 * waits for the queue before and after each op ({@link Device#synchronize()}) and charges the time in
 * between to {@code family.op} (e.g. {@code nn.layerNormForward}), and device-to-device copies are
 * charged to {@code device.copy}. Only the outermost op is timed: an op composed of other ops (the
 * default adapter ops over matmuls, attention over batched matmuls) counts as itself, its parts are not
 * counted again. Matmuls are also counted by shape ({@link #matmulShapes()}).
 *
 * <p>The synchronisation changes what it measures (no overlap between ops, a queue drained per op), so
 * a profiled pass is never a timed one: time the steps without a profile, then profile a step or two
 * apart. Under a profile a {@link Device#capture} should not be used: recording backends would time
 * their recording, not the ops. Not thread-safe, as the device.
 */
public final class OpProfile {

    private final Map<String, long[]> ops = new LinkedHashMap<>();
    private final Map<String, long[]> matmuls = new LinkedHashMap<>();
    private int depth;

    /** Calls and nanoseconds per {@code family.op}, in the order ops were first seen: {calls, nanos}. */
    public Map<String, long[]> ops() {
        return Collections.unmodifiableMap(ops);
    }

    /**
     * Calls and nanoseconds of {@code linalg.matmul} / {@code linalg.matmulBatched} per shape, written
     * {@code M×N×K}, then {@code " Aᵀ"} / {@code " Bᵀ"} for a transposed operand and {@code " batch B"} for a
     * batch of more than one ({@link #matmulShape}; the bench's {@code MatmulFloor} reads this form back).
     */
    public Map<String, long[]> matmulShapes() {
        return Collections.unmodifiableMap(matmuls);
    }

    /** Total nanoseconds of every op counted. */
    public long totalNanos() {
        return ops.values().stream().mapToLong(v -> v[1]).sum();
    }

    /** Forgets what was counted. */
    public void clear() {
        ops.clear();
        matmuls.clear();
    }

    /** Times one device-level operation that is not in a family (a copy). */
    void time(AbstractDevice device, String name, Runnable op) {
        if (depth > 0) {
            op.run();
            return;
        }
        device.synchronize();
        depth++;
        long t0 = System.nanoTime();
        try {
            op.run();
            device.synchronize();
        } finally {
            depth--;
            add(ops, name, System.nanoTime() - t0);
        }
    }

    /** The family's implementation behind a proxy that times each op (see the class comment). */
    Object wrap(AbstractDevice device, OpFamily family, Object implementation) {
        InvocationHandler h = (proxy, method, args) -> {
            if (method.getDeclaringClass() == Object.class || depth > 0) {
                return invoke(implementation, method, args);
            }
            device.synchronize(); // what was enqueued before is not this op's
            depth++;
            long t0 = System.nanoTime();
            try {
                Object result = invoke(implementation, method, args);
                device.synchronize();
                return result;
            } finally {
                depth--;
                long dt = System.nanoTime() - t0;
                add(ops, family.label() + "." + method.getName(), dt);
                if (family == OpFamily.LINALG && (method.getName().equals("matmul") || method.getName().equals("matmulBatched"))) {
                    add(matmuls, matmulShape(method.getName(), args), dt);
                }
            }
        };
        return Proxy.newProxyInstance(family.type().getClassLoader(), new Class<?>[] {family.type()}, h);
    }

    private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static void add(Map<String, long[]> into, String key, long nanos) {
        long[] v = into.computeIfAbsent(key, k -> new long[2]);
        v[0]++;
        v[1] += nanos;
    }

    /**
     * {@code M×N×K} of a matmul's arguments as {@link LinalgOps#matmul} and {@link LinalgOps#matmulBatched}
     * take them, {@code ᵀ} after a transposed operand, and the batch count for a batch of more than one.
     */
    static String matmulShape(String method, Object[] args) {
        boolean ta = (Boolean) args[0];
        boolean tb = (Boolean) args[1];
        String t = (ta ? " Aᵀ" : "") + (tb ? " Bᵀ" : "");
        if (method.equals("matmulBatched")) {
            return args[3] + "×" + args[4] + "×" + args[5] + t + ((Integer) args[2] == 1 ? "" : " batch " + args[2]);
        }
        int[] a = ((Tensor) args[3]).shape();
        int[] b = ((Tensor) args[4]).shape();
        int m = ta ? a[a.length - 1] : a[0];
        int k = ta ? a[0] : a[a.length - 1];
        int n = tb ? b[0] : b[b.length - 1];
        return m + "×" + n + "×" + k + t;
    }
}
