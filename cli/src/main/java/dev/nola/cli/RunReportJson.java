package dev.nola.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.cli.run.RunReport;

/** The short JSON a command prints with {@code --json}: the report without the per-step figures. */
final class RunReportJson {

    private RunReportJson() {
    }

    static ObjectNode summary(RunReport r) {
        ObjectNode j = r.toJson();
        j.withArray("methods").forEach(m -> {
            ((ObjectNode) m).remove("steps");
            ((ObjectNode) m).remove("evaluations");
        });
        return j;
    }
}
