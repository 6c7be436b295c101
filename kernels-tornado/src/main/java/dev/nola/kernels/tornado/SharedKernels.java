package dev.nola.kernels.tornado;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.runtime.tasks.CompilableTask;
import uk.ac.manchester.tornado.runtime.tasks.TornadoTaskGraph;

/**
 * One compiled kernel per kernel method in a {@link Segment}, not one per task.
 *
 * <p>TornadoVM compiles every task of a plan on its own, even when many tasks run the same Java
 * method on arrays of the same types: its code cache (one per execution plan, in the OpenCL backend
 * {@code OCLCodeCache}) is keyed by the task's id ({@code graph.task}) and the kernel's name. A GPT-2
 * 124M step is ~1,000 tasks of 21–23 kernel methods, so its first run built ~1,000 OpenCL programs,
 * and on PoCL each program keeps its LLVM module and work-group code in this process for as long as
 * the plan lives.
 *
 * <p>Before a graph's first run, each task whose kernel method an earlier graph of the segment
 * compiled is given that compiled code under its own key, and TornadoVM, finding it cached, compiles
 * nothing for it (its check: a task not forced to compile whose id and kernel name are cached; it
 * forces the last task of each graph, which therefore still compiles). After the run, a second task
 * of a method new in that graph gets the first one's code too, its own released. A step then builds
 * about a program per method and per graph (LoRA: 58 for 940 tasks), and the peak RSS of the step's
 * JVM fell from 1,657 to 1,233 MB on the fly, 1,092 MB LoRA (opencl:0:0: 985, 979; StepBench
 * {@code --arch gpt2 --variant nola_on_the_fly|lora_r4 --profile 0} on PoCL, with the event lists of
 * {@link TornadoRuntimeAccess} shrunk too; sharing between graphs alone gave 1,312 on the fly and
 * 1,287 LoRA, 1,244 LoRA with the event lists). Sound because our kernels'
 * code depends on the method alone: every parameter is an array, a {@code KernelContext} or a
 * parameter buffer, none a scalar, and no kernel reads an array's length (TornadoVM folds those into
 * the code); {@code SharedKernelsTest} checks that every task of a method compiles to the same OpenCL
 * source when each compiles its own. A compiled kernel's arguments are set on every launch, and a
 * segment runs its graphs one at a time, so its tasks can share one.
 *
 * <p>The code cache's map is private to TornadoVM's OpenCL backend: reaching it needs
 * {@code --add-opens tornado.drivers.opencl/uk.ac.manchester.tornado.drivers.opencl=ALL-UNNAMED}
 * (the launcher's {@code TornadoSettings} and the tests' {@code argLine} add it). Without it, on
 * another backend, or with {@code -Dnola.tornado.shareKernels=false}, every task compiles as before.
 */
final class SharedKernels {

    /** The code cache's map ({@code OCLCodeCache.cache}), or null where it cannot be reached. */
    private static final Field CACHE = cacheField();

    private static Field cacheField() {
        try {
            Class<?> c = Class.forName("uk.ac.manchester.tornado.drivers.opencl.OCLCodeCache");
            Field f = c.getDeclaredField("cache");
            f.setAccessible(true);
            return Map.class.isAssignableFrom(f.getType()) ? f : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // another TornadoVM, no OpenCL backend, or the package not opened to us
        }
    }

    /** Whether this JVM can reach TornadoVM's code cache (see the class comment). */
    static boolean available() {
        return CACHE != null;
    }

    /** A task of a graph: its name in the graph and the kernel method it runs (null: not a compiled Java task). */
    private record Task(String name, Method method) {
    }

    /** A compiled kernel: its name in the code cache's keys, and TornadoVM's compiled code. */
    private record Compiled(String kernel, Object code) {
    }

    private final boolean share;
    private final List<String> graphNames = new ArrayList<>();
    private final List<List<Task>> graphTasks = new ArrayList<>();
    private Graph building;
    private final List<String> buildingTasks = new ArrayList<>();
    /** The plan's code cache, "graph.task-kernel" → compiled code; null where it cannot be reached. */
    private Map<String, Object> cache;
    /** The compiled code of each kernel method an earlier graph compiled. */
    private final Map<Method, Compiled> compiled = new HashMap<>();
    private long shared;

    /** For a segment being built; {@code share}: give tasks the code of earlier ones (else only observe). */
    SharedKernels(boolean share) {
        this.share = share;
    }

    /** Starts the segment's next graph: the task graph to add its tasks to. */
    TaskGraph graph(String name) {
        building = new Graph(name);
        buildingTasks.clear();
        return building;
    }

    /** A task added to the graph being built. */
    void task(String name) {
        buildingTasks.add(name);
    }

    /** The graph being built is complete: notes each task's kernel method. */
    void endGraph() {
        List<Task> tasks = new ArrayList<>();
        for (String t : buildingTasks) {
            tasks.add(new Task(t, building.method(t)));
        }
        graphNames.add(building.getTaskGraphName());
        graphTasks.add(tasks);
        building = null;
    }

    /** The segment's plan is built: finds its code cache on {@code device} (when reachable). */
    @SuppressWarnings("unchecked")
    void attach(TornadoDevice device, TornadoExecutionPlan plan) {
        if (CACHE == null) {
            return;
        }
        try {
            Object context = device.getClass().getMethod("getDeviceContext").invoke(device);
            Object codeCache = context.getClass().getMethod("getCodeCache", long.class).invoke(context, plan.getId());
            if (CACHE.getDeclaringClass().isInstance(codeCache)) {
                cache = (Map<String, Object>) CACHE.get(codeCache);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            cache = null; // every task compiles its own
        }
    }

    /** Before graph {@code g}'s first run: its tasks of a kernel an earlier graph compiled get that code. */
    void beforeFirstRun(int g) {
        if (!share || cache == null) {
            return;
        }
        for (Task t : graphTasks.get(g)) {
            Compiled c = t.method() == null ? null : compiled.get(t.method());
            if (c != null) {
                cache.putIfAbsent(key(g, t, c.kernel()), c.code());
            }
        }
    }

    /**
     * After graph {@code g}'s first run: keeps the kernels it compiled first for the graphs after it, and
     * gives each of its tasks that compiled a kernel already compiled (a second task of a method new in
     * this graph) the first one's code, releasing its own (TornadoVM finds the code it holds invalid at
     * the next run and takes the cached one). Not the graph's last task: TornadoVM compiles that one
     * again whenever its code is invalid.
     */
    void afterFirstRun(int g) {
        if (!share || cache == null) {
            return;
        }
        List<Task> tasks = graphTasks.get(g);
        for (int i = 0; i < tasks.size(); i++) {
            Task t = tasks.get(i);
            Map.Entry<String, Object> e = t.method() == null ? null : entry(g, t);
            if (e == null) {
                continue;
            }
            Compiled c = compiled.get(t.method());
            if (c == null) {
                compiled.put(t.method(), new Compiled(e.getKey().substring(prefix(g, t).length()), e.getValue()));
            } else if (e.getValue() == c.code()) {
                shared++;
            } else if (i < tasks.size() - 1) {
                Object own = e.getValue();
                cache.put(e.getKey(), c.code());
                invalidate(own);
                shared++;
            }
        }
    }

    /** Releases a compiled kernel's OpenCL program ({@code OCLInstalledCode.invalidate}). */
    private static void invalidate(Object code) {
        try {
            code.getClass().getMethod("invalidate").invoke(code);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot release TornadoVM's compiled code " + code, e);
        }
    }

    private String prefix(int g, Task t) {
        return graphNames.get(g) + "." + t.name() + "-";
    }

    private String key(int g, Task t, String kernel) {
        return prefix(g, t) + kernel;
    }

    /** The code cache's entry of task {@code t} of graph {@code g}, or null. */
    private Map.Entry<String, Object> entry(int g, Task t) {
        String prefix = prefix(g, t);
        for (Map.Entry<String, Object> e : cache.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                return e;
            }
        }
        return null;
    }

    /** The tasks of the segment's graphs. */
    int tasks() {
        int n = 0;
        for (List<Task> t : graphTasks) {
            n += t.size();
        }
        return n;
    }

    /** Tasks whose first run used a kernel an earlier graph compiled instead of compiling their own. */
    long shared() {
        return shared;
    }

    /** The distinct compiled kernels (OpenCL programs) in the plan's code cache; -1 where it cannot be reached. */
    int programs() {
        if (cache == null) {
            return -1;
        }
        Set<Object> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
        distinct.addAll(cache.values());
        return distinct.size();
    }

    /**
     * The distinct OpenCL sources the tasks of each kernel method ran (for tests, which check that every
     * task of a method compiles to the same code); null where the code cache cannot be reached.
     */
    Map<Method, Set<String>> sources() {
        if (cache == null) {
            return null;
        }
        Map<Method, Set<String>> out = new HashMap<>();
        for (int g = 0; g < graphTasks.size(); g++) {
            for (Task t : graphTasks.get(g)) {
                Map.Entry<String, Object> e = entry(g, t);
                if (e != null) {
                    out.computeIfAbsent(t.method(), m -> new HashSet<>()).add(source(e.getValue()));
                }
            }
        }
        return out;
    }

    private static String source(Object code) {
        try {
            return new String((byte[]) code.getClass().getMethod("getCode").invoke(code), StandardCharsets.UTF_8);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("no source in TornadoVM's compiled code " + code, e);
        }
    }

    /** A task graph that can say which method each of its tasks runs (TornadoVM resolves it as the task is added). */
    private static final class Graph extends TaskGraph {

        Graph(String name) {
            super(name);
        }

        Method method(String task) {
            if (taskGraphImpl instanceof TornadoTaskGraph g && g.getTask(getTaskGraphName() + "." + task) instanceof CompilableTask c) {
                return c.getMethod();
            }
            return null;
        }
    }
}
