package dev.nola.spark;

/**
 * A worker could not open the run's workload (its model or data unreadable there): the message is one line naming the
 * worker's host and what it could not read. The driver finds it in Spark's task failure ({@link #find}) and reports it
 * alone, without Spark's stack trace.
 */
public final class WorkerFailure extends RuntimeException {

    private static final String MARK = "nola-worker: ";

    WorkerFailure(String host, String message) {
        super(MARK + "worker " + host + ": " + message.lines().findFirst().orElse(""));
    }

    /** The worker's one line inside a Spark failure's text (its message and causes), or null when there is none. */
    static String find(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String m = t.getMessage();
            int at = m == null ? -1 : m.indexOf(MARK);
            if (at >= 0) {
                return m.substring(at + MARK.length()).lines().findFirst().orElse("").strip();
            }
        }
        return null;
    }
}
