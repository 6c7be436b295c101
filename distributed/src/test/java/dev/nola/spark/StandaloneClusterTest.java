package dev.nola.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * nola-spark on a real standalone cluster: Spark's Master and two one-core Workers as separate JVMs on loopback, the
 * driver in this JVM. The cluster's adapter is the one-process {@code --accumulate 2} adapter bit for bit, though an
 * executor JVM is killed by SIGKILL mid-run (one run: each run starts its own executors, which costs most of the time).
 */
class StandaloneClusterTest {

    private static final int STEPS = 4;

    @TempDir
    static Path tmp;
    static StandaloneCluster cluster;
    static Path model;
    static byte[] accumulated;

    @BeforeAll
    static void start() throws Exception {
        model = Runs.gpt2(tmp.resolve("gpt2"));
        Runs.Result one = Runs.local(Runs.finetune(model, tmp.resolve("one"), false, STEPS, 2, "--accumulate", "2", "--quiet"));
        Runs.ok(one);
        accumulated = Runs.adapter(tmp.resolve("one"));
        cluster = new StandaloneCluster(tmp.resolve("cluster"), 2);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void twoWorkersGiveTheAccumulateTwoAdapterBitForBitThoughAnExecutorIsKilledMidRun() throws Exception {
        Path out = tmp.resolve("killed-run");
        AtomicReference<String> killed = new AtomicReference<>();
        Runs.Result r = Runs.spark(Runs.finetune(model, out, false, STEPS, 2, "--accumulate", "2"), cluster.conf(), step -> {
            if (step == 2) {
                List<ProcessHandle> ex = cluster.executors();
                assertFalse(ex.isEmpty(), "the workers run executors");
                // SIGKILL: no shutdown hook, no goodbye to the driver
                ex.get(0).destroyForcibly();
                killed.set("pid " + ex.get(0).pid());
            }
        });
        assertEquals(0, r.status(), r.err() + cluster.logs());
        assertTrue(killed.get() != null, "an executor was killed");
        assertArrayEquals(accumulated, Runs.adapter(out), "the killed executor's work was redone: the same adapter");
        JsonNode rep = new ObjectMapper().readTree(out.resolve("report/report.json").toFile());
        // the evidence, in the test's output: which step, what Spark did
        System.out.println("StandaloneClusterTest: killed executor " + killed.get() + " before step 2's job; " + rep.path("cluster_faults"));
        assertTrue(rep.path("cluster_faults").size() > 0, "what Spark did is reported: " + rep + "\n" + r.err());
        assertTrue(rep.path("cluster_faults").toString().contains("step 2"), rep.path("cluster_faults").toString());
        assertTrue(rep.path("micro_batches_by_executor").size() >= 2, "both workers' executors computed micro-batches: " + rep);
        assertTrue(r.err().contains("nola-spark: " + STEPS + " steps; sync"), r.err());
    }
}
