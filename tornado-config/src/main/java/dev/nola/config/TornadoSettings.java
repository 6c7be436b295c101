package dev.nola.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The JVM settings a TornadoVM run needs, read from a TornadoVM SDK ({@code TORNADOVM_HOME}).
 *
 * <p>The SDK's installer writes {@code $TORNADOVM_HOME/tornado-argfile}: the launcher's JVM flags for
 * the backends that SDK was built with (JVMCI, the Graal upgrade module path, TornadoVM's modules
 * and every {@code --add-exports}/{@code --add-opens} its backends need). This class reads that
 * file and adapts it to a run whose own code is on the class path (the unnamed module):
 * <ul>
 *   <li>{@code .} is dropped from {@code --module-path}, so the working directory is never scanned
 *       for modules;</li>
 *   <li>{@code jdk.incubator.vector} is added (the {@code cpu} backend's Vector API) unless the
 *       argfile already resolves {@code ALL-SYSTEM};</li>
 *   <li>{@code --enable-native-access=ALL-UNNAMED} is added, which the project's other backends
 *       need on the class path;</li>
 *   <li>where the argfile loads TornadoVM's OpenCL backend, its package {@value #OPENCL_PACKAGE} is
 *       opened to the class path ({@code --add-opens}): the backend shares one compiled kernel between
 *       the tasks of a captured step that run the same kernel method through TornadoVM's code cache, whose
 *       map is private ({@code SharedKernels} in kernels-tornado; a GPT-2 124M step compiled ~1,000
 *       OpenCL programs without it);</li>
 *   <li>the collector the argfile picks ({@code -XX:+UseParallelGC}) becomes the serial one
 *       ({@value #COLLECTOR}), the launcher's choice for every nola run: the parallel collector sizes
 *       its young generation by throughput, and TornadoVM's compiler (Graal, on the Java heap) makes
 *       garbage fast, so in a GPT-2 step's JVM it grew the heap to 1.2 GB resident for a live set under
 *       50 MB (2 layers: the largest part of the process's RSS); the serial collector grows its heap only by
 *       what survives a collection.</li>
 * </ul>
 * No {@code -ea} is ever added: assertions enabled globally break TornadoVM's compiler.
 *
 * <p>{@link #main} prints the flags one per line, for the {@code nola} launcher:
 * {@code java -cp nola-tornado-config.jar dev.nola.config.TornadoSettings} (exit status 2 with a
 * message on stderr when TornadoVM is not installed).
 *
 * @param home  the SDK directory
 * @param flags the JVM flags, in order, one argument per element
 */
public record TornadoSettings(Path home, List<String> flags) {

    /** The environment variable that points at the SDK. */
    public static final String HOME_VARIABLE = "TORNADOVM_HOME";
    /** The argfile the SDK installer writes, relative to the SDK. */
    public static final String ARGFILE = "tornado-argfile";
    /** TornadoVM's OpenCL backend's module. */
    public static final String OPENCL_MODULE = "tornado.drivers.opencl";
    /** The package of that backend's code cache, opened to our code. */
    public static final String OPENCL_PACKAGE = "uk.ac.manchester.tornado.drivers.opencl";
    /** The collector of a TornadoVM run, in place of the one the argfile picks. */
    public static final String COLLECTOR = "-XX:+UseSerialGC";

    public TornadoSettings {
        if (home == null || flags == null) {
            throw new IllegalArgumentException("home and flags must not be null");
        }
        flags = List.copyOf(flags);
    }

    /**
     * The settings of the SDK named by {@code TORNADOVM_HOME} in {@code env}, if that variable is set.
     *
     * @throws IllegalArgumentException when the variable is set but the SDK or its argfile is missing
     *                                  or unreadable, naming the path
     */
    public static Optional<TornadoSettings> fromEnvironment(Map<String, String> env) {
        String home = env.get(HOME_VARIABLE);
        if (home == null || home.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(load(Path.of(home.trim())));
    }

    /**
     * Reads the SDK at {@code home}.
     *
     * @throws IllegalArgumentException when {@code home/tornado-argfile} is missing or unreadable
     */
    public static TornadoSettings load(Path home) {
        Path argfile = home.resolve(ARGFILE);
        if (!Files.isRegularFile(argfile)) {
            throw new IllegalArgumentException(HOME_VARIABLE + "='" + home + "' is not a TornadoVM SDK: " + argfile
                    + " does not exist (run TornadoVM's installer, which writes it)");
        }
        try {
            return new TornadoSettings(home, adapt(parseArgfile(Files.readString(argfile))));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + argfile + ": " + e.getMessage(), e);
        }
    }

    /**
     * Splits a Java argfile into arguments: {@code #} starts a comment line, arguments are
     * separated by white space, and double-quoted arguments may hold spaces.
     */
    static List<String> parseArgfile(String text) {
        List<String> args = new ArrayList<>();
        for (String rawLine : text.split("\\R")) {
            String line = rawLine.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            StringBuilder cur = new StringBuilder();
            boolean quoted = false;
            boolean any = false;
            for (int i = 0; i < line.length(); i++) {
                char ch = line.charAt(i);
                if (ch == '"') {
                    quoted = !quoted;
                    any = true;
                } else if (Character.isWhitespace(ch) && !quoted) {
                    if (any) {
                        args.add(cur.toString());
                        cur.setLength(0);
                        any = false;
                    }
                } else {
                    cur.append(ch);
                    any = true;
                }
            }
            if (any) {
                args.add(cur.toString());
            }
        }
        return args;
    }

    /** Joins options with their values and applies the class-path adaptations described above. */
    static List<String> adapt(List<String> args) {
        List<String> out = new ArrayList<>();
        boolean allSystem = false;
        boolean opencl = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("-ea") || a.equals("-enableassertions")) {
                continue;
            }
            if (a.matches("-XX:\\+Use[A-Za-z0-9]*GC")) {
                out.add(COLLECTOR);
                continue;
            }
            boolean takesValue = a.equals("--module-path") || a.equals("-p") || a.equals("--upgrade-module-path")
                    || a.equals("--add-modules");
            if (!takesValue) {
                out.add(a);
                continue;
            }
            if (i + 1 >= args.size()) {
                throw new IllegalArgumentException("argfile option " + a + " has no value");
            }
            String value = args.get(++i);
            if (a.equals("--module-path") || a.equals("-p")) {
                value = String.join(java.io.File.pathSeparator, java.util.Arrays.stream(value.split(java.io.File.pathSeparator))
                        .filter(p -> !p.isBlank() && !p.equals(".")).toList());
            }
            if (a.equals("--add-modules")) {
                List<String> modules = java.util.Arrays.asList(value.split(","));
                allSystem |= modules.contains("ALL-SYSTEM");
                opencl |= modules.contains(OPENCL_MODULE);
            }
            out.add(a + "=" + value);
        }
        if (!allSystem) {
            out.add("--add-modules=jdk.incubator.vector");
        }
        out.add("--enable-native-access=ALL-UNNAMED");
        if (opencl) {
            out.add("--add-opens=" + OPENCL_MODULE + "/" + OPENCL_PACKAGE + "=ALL-UNNAMED");
        }
        return out;
    }

    /** Prints the flags one per line; exit status 2 and a reason when TornadoVM is not installed. */
    public static void main(String[] args) {
        Optional<TornadoSettings> s;
        try {
            s = fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("nola: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (s.isEmpty()) {
            System.err.println("nola: TornadoVM is not installed here (" + HOME_VARIABLE + " is not set)");
            System.exit(2);
            return;
        }
        s.get().flags().forEach(System.out::println);
    }
}
