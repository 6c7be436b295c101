package dev.nola.adapter.io;

import dev.nola.io.Echo;
import dev.nola.io.InvalidFileException;
import dev.nola.io.TooLargeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * A seeded fuzz driver for any reader of untrusted input (adapter files today; checkpoints,
 * {@code config.json}, IDX, text and JSONL in the models issue). It takes seed inputs, named classes
 * of mutation, and the reader under test; it runs N cases under a time limit, each on a worker thread
 * with its own timeout, and classifies every outcome:
 *
 * <ul>
 *   <li>ACCEPTED: the reader returned (benign unless the class is always invalid);
 *   <li>REJECTED: it threw an expected exception ({@link IllegalArgumentException} and its subclasses
 *       {@link InvalidFileException} and {@link TooLargeException}) whose message is one line, without
 *       control characters or Java class names, and passes the harness's {@link Check};
 *   <li>failures: ACCEPTED_INVALID (an always-invalid class was accepted), BAD_MESSAGE, CRASHED (any
 *       other throwable: a stack trace for the user, an {@link OutOfMemoryError}), HUNG (past the
 *       per-case timeout), BROKEN_INVARIANT (the check failed: e.g. an input was changed).
 * </ul>
 *
 * <p>Used by {@code AdapterFuzzTest} (nola) and the CLI's {@code UntrustedInputTest}; exported in
 * nola-core's test jar.
 *
 * @param <T> one input: bytes, a pair of files, a directory on disk, a command line
 */
public final class FuzzHarness<T> {

    /** The reader under test: returns when it accepts the input, throws when it refuses it. */
    @FunctionalInterface
    public interface Target<T> {
        void run(T input, int caseIndex) throws Exception;
    }

    /** Makes one case from a seed input. */
    @FunctionalInterface
    public interface Mutator<T> {
        T mutate(T seed, SplittableRandom rnd) throws Exception;
    }

    /**
     * Checked after every case, accepted or refused: returns a problem, or null when all is well (an
     * input is unchanged, a message names the file or says "FIFO").
     *
     * @param error the refusal, or null when the input was accepted
     */
    @FunctionalInterface
    public interface Check<T> {
        String problem(T input, Throwable error) throws Exception;
    }

    /** A named class of mutation; {@code alwaysInvalid} classes must never be accepted. */
    public record MutationClass<T>(String name, boolean alwaysInvalid, Mutator<T> mutator) {
    }

    /** How one case ended. */
    public enum Outcome {
        ACCEPTED, REJECTED, ACCEPTED_INVALID, BAD_MESSAGE, CRASHED, HUNG, BROKEN_INVARIANT;

        boolean failed() {
            return this != ACCEPTED && this != REJECTED;
        }
    }

    /** Java class names in a message: a qualified name, or an exception or error type. */
    static final Pattern CLASS_NAME = Pattern.compile(
            "\\b(java|javax|jdk|sun|com\\.fasterxml|picocli|dev\\.nola)\\.[a-z]|\\b[A-Z][A-Za-z]*(Exception|Error)\\b");

    private final List<T> seeds;
    private final Target<T> target;
    private final List<MutationClass<T>> classes = new ArrayList<>();
    private Check<T> check = (input, error) -> null;
    private int maxMessageChars = 1000;

    /** A harness over {@code seeds} (one is drawn per case) and the reader under test. */
    public FuzzHarness(List<T> seeds, Target<T> target) {
        if (seeds.isEmpty()) {
            throw new IllegalArgumentException("seeds is empty; give at least one valid input");
        }
        this.seeds = List.copyOf(seeds);
        this.target = target;
    }

    /** Adds a class of mutation. */
    public FuzzHarness<T> mutation(String name, boolean alwaysInvalid, Mutator<T> mutator) {
        classes.add(new MutationClass<>(name, alwaysInvalid, mutator));
        return this;
    }

    /** Sets the check run after every case. */
    public FuzzHarness<T> check(Check<T> check) {
        this.check = check;
        return this;
    }

    /** The longest message allowed (values in messages are shortened, so this is generous). */
    public FuzzHarness<T> maxMessageChars(int chars) {
        this.maxMessageChars = chars;
        return this;
    }

    /** The same harness with only the named class (for a named test of one class). */
    public FuzzHarness<T> only(String name) {
        FuzzHarness<T> h = new FuzzHarness<>(seeds, target).check(check).maxMessageChars(maxMessageChars);
        for (MutationClass<T> c : classes) {
            if (c.name().equals(name)) {
                h.classes.add(c);
            }
        }
        if (h.classes.isEmpty()) {
            throw new IllegalArgumentException("no mutation class " + name + "; have " + names());
        }
        return h;
    }

    /** The names of the classes, in order. */
    public List<String> names() {
        return classes.stream().map(MutationClass::name).toList();
    }

    /**
     * Runs {@code cases} cases (classes drawn uniformly, seeds too) from {@code seed}; stops at
     * {@code limit} (then {@link Report#finished()} is false, which {@link Report#assertClean()} fails).
     */
    public Report run(long seed, int cases, Duration limit, Duration perCase) {
        if (classes.isEmpty()) {
            throw new IllegalStateException("no mutation classes; add one with mutation(...)");
        }
        Report report = new Report(names());
        SplittableRandom rnd = new SplittableRandom(seed);
        long start = System.nanoTime();
        long deadline = start + limit.toNanos();
        ExecutorService worker = newWorker();
        try {
            for (int i = 0; i < cases; i++) {
                if (System.nanoTime() > deadline) {
                    report.finished = false;
                    break;
                }
                MutationClass<T> c = classes.get(rnd.nextInt(classes.size()));
                T base = seeds.get(rnd.nextInt(seeds.size()));
                SplittableRandom caseRnd = rnd.split();
                int index = i;
                Future<Result> f = worker.submit(() -> runCase(c, base, caseRnd, index));
                Result r;
                try {
                    r = f.get(perCase.toNanos(), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    worker.shutdownNow(); // the stuck thread is a daemon; a fresh worker takes the next case
                    worker = newWorker();
                    r = new Result(Outcome.HUNG, "ran past " + perCase);
                } catch (Exception e) {
                    r = new Result(Outcome.CRASHED, "the harness failed: " + e);
                }
                report.add(c.name(), index, r);
            }
        } finally {
            worker.shutdownNow();
        }
        report.elapsed = Duration.ofNanos(System.nanoTime() - start);
        return report;
    }

    private record Result(Outcome outcome, String detail) {
    }

    private Result runCase(MutationClass<T> c, T base, SplittableRandom rnd, int index) {
        T input;
        try {
            input = c.mutator().mutate(base, rnd);
        } catch (Exception e) {
            return new Result(Outcome.CRASHED, "the mutator failed: " + e);
        }
        Throwable error = null;
        try {
            target.run(input, index);
        } catch (IllegalArgumentException e) {
            error = e;
        } catch (Throwable e) {
            return new Result(Outcome.CRASHED, "threw " + e + " at " + where(e) + " on " + input);
        }
        if (error != null) {
            String problem = messageProblem(error.getMessage());
            if (problem != null) {
                return new Result(Outcome.BAD_MESSAGE, problem + ": " + error.getMessage());
            }
        }
        try {
            String problem = check.problem(input, error);
            if (problem != null) {
                return new Result(Outcome.BROKEN_INVARIANT, problem + (error == null ? " (accepted)" : " (refused: "
                        + error.getMessage() + ")"));
            }
        } catch (Exception e) {
            return new Result(Outcome.CRASHED, "the check failed: " + e);
        }
        if (error == null) {
            return new Result(c.alwaysInvalid() ? Outcome.ACCEPTED_INVALID : Outcome.ACCEPTED, "accepted " + input);
        }
        return new Result(Outcome.REJECTED, error.getMessage());
    }

    /** Why a refusal's message is not one a person can act on, or null. */
    String messageProblem(String m) {
        if (m == null || m.isBlank()) {
            return "no message";
        }
        for (int i = 0; i < m.length(); i += Character.charCount(m.codePointAt(i))) {
            if (Echo.unsafe(m.codePointAt(i))) {
                return "a control character at " + i;
            }
        }
        if (CLASS_NAME.matcher(m).find()) {
            return "names a Java class";
        }
        if (m.length() > maxMessageChars) {
            return "longer than " + maxMessageChars + " characters";
        }
        return null;
    }

    private static String where(Throwable e) {
        StackTraceElement[] st = e.getStackTrace();
        return st.length == 0 ? "?" : st[0].toString();
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            return t;
        });
    }

    /** The tally of a run: per class, per outcome; the first failures in detail. */
    public static final class Report {
        private static final int KEPT_FAILURES = 10;
        private final Map<String, Map<Outcome, Integer>> tally = new LinkedHashMap<>();
        private final List<String> failures = new ArrayList<>();
        private final Map<String, String> examples = new LinkedHashMap<>();
        private int cases;
        private boolean finished = true;
        private Duration elapsed = Duration.ZERO;

        Report(List<String> classes) {
            for (String c : classes) {
                tally.put(c, new java.util.EnumMap<>(Outcome.class));
            }
        }

        void add(String cls, int index, Result r) {
            cases++;
            tally.get(cls).merge(r.outcome(), 1, Integer::sum);
            if (r.outcome().failed() && failures.size() < KEPT_FAILURES) {
                failures.add("case " + index + " (" + cls + ") " + r.outcome() + ": " + r.detail());
            }
            if (r.outcome() == Outcome.REJECTED) {
                examples.putIfAbsent(cls, r.detail());
            }
        }

        /** The first refusal's message per class, to read what a user would see. */
        public Map<String, String> examples() {
            return examples;
        }

        /** Prints the tally and the first refusal per class, under {@code label}. */
        public Report print(String label) {
            System.out.println(label + ": " + this);
            examples.forEach((c, m) -> System.out.println("  " + c + ": " + m));
            return this;
        }

        /** Cases run. */
        public int cases() {
            return cases;
        }

        /** Whether every case ran within the time limit. */
        public boolean finished() {
            return finished;
        }

        /** Wall time of the run. */
        public Duration elapsed() {
            return elapsed;
        }

        /** How many cases of a class ended so. */
        public int count(String cls, Outcome o) {
            return tally.getOrDefault(cls, Map.of()).getOrDefault(o, 0);
        }

        /** How many cases of any class ended so. */
        public int count(Outcome o) {
            return tally.values().stream().mapToInt(m -> m.getOrDefault(o, 0)).sum();
        }

        /** Failed cases of all kinds. */
        public int failed() {
            int n = 0;
            for (Outcome o : Outcome.values()) {
                if (o.failed()) {
                    n += count(o);
                }
            }
            return n;
        }

        /** Throws an {@link AssertionError} listing the first failures unless there were none. */
        public void assertClean() {
            if (failed() > 0 || !finished) {
                throw new AssertionError((finished ? "" : "time limit reached after " + cases + " cases; ") + failed()
                        + " failed cases; " + this + "\n  " + String.join("\n  ", failures));
            }
        }

        /** One line: cases, time, and per class accepted/rejected and any failures. */
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(cases + " cases in " + elapsed.toMillis() + " ms:");
            tally.forEach((c, m) -> {
                sb.append(' ').append(c).append('=').append(m.getOrDefault(Outcome.ACCEPTED, 0)).append('/')
                        .append(m.getOrDefault(Outcome.REJECTED, 0));
                m.forEach((o, n) -> {
                    if (o.failed()) {
                        sb.append('+').append(n).append(' ').append(o);
                    }
                });
            });
            return sb.append(" (accepted/rejected)").toString();
        }
    }
}
