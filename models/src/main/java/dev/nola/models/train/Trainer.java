package dev.nola.models.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.adapter.io.SafeTensorsReader;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.adapter.optim.AdamW;
import dev.nola.adapter.optim.GradientClipping;
import dev.nola.adapter.optim.Parameter;
import dev.nola.adapter.optim.ParameterSet;
import dev.nola.io.AtomicFiles;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link TrainingTask}: AdamW on the device, a warm-up and decay schedule, global-norm
 * clipping, evaluation every N steps, and checkpoints.
 *
 * <p>Checkpoints are directories written atomically (a temporary directory, then a rename): the
 * trainable values, AdamW's moments and the step, as {@code trainer.json} and
 * {@code state.safetensors}. A run resumed from one continues exactly where it stopped: batches depend
 * only on the step, the kernels are deterministic, so the final parameters equal an uninterrupted
 * run's bit for bit on the same device. A run killed at any point (SIGKILL: no hook runs) leaves the
 * last complete checkpoint: what it left beside it is tidied, and a checkpoint it had renamed aside but
 * not yet replaced is renamed back, when the next run starts ({@link AtomicFiles#recoverDirectory}).
 *
 * <p>Guard: each step reads back one number besides the loss, the global gradient norm; when the loss
 * or the norm is not finite the run stops before the optimizer step, with a {@link TrainingStopped}
 * that names the step and the first parameter whose gradient is not finite, and the last checkpoint
 * stays as it was.
 */
public final class Trainer {

    /** The checkpoint format's version. */
    public static final int FORMAT = 1;
    static final String STATE_FILE = "state.safetensors";
    static final String META_FILE = "trainer.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A run stopped by the guard; the message names the step and the parameter. */
    public static final class TrainingStopped extends RuntimeException {
        private final long step;

        TrainingStopped(long step, String message) {
            super(message);
            this.step = step;
        }

        /** The step that went wrong. */
        public long step() {
            return step;
        }
    }

    /**
     * What a run did.
     *
     * @param losses      the loss of every step taken in this run (from the first step run)
     * @param firstStep   the first step this run took (0, or the resumed step)
     * @param evaluations the evaluations, by step
     * @param seconds     wall time of the steps
     */
    public record Result(List<Double> losses, long firstStep, Map<Long, Evaluation> evaluations, double seconds) {
        /** The last evaluation. */
        public Evaluation last() {
            return evaluations.values().stream().reduce((a, b) -> b).orElseThrow();
        }
    }

    private Trainer() {
    }

    /**
     * Trains.
     *
     * @param checkpoints a checkpoint directory, or null for none
     * @param resume      continue from the checkpoint in {@code checkpoints} when there is one
     */
    public static Result run(TrainingTask task, TrainerSettings s, Path checkpoints, boolean resume,
                             TrainingListener listener) {
        Checks.notNull("task", task);
        Checks.notNull("settings", s);
        TrainingListener l = listener == null ? TrainingListener.NONE : listener;
        ParameterSet params = task.trainable();
        Device d = params.device();
        long first = 0;
        List<Double> losses = new ArrayList<>();
        Map<Long, Evaluation> evals = new LinkedHashMap<>();
        try (AdamW opt = new AdamW(params, 0.9, s.beta2(), 1e-8, s.weightDecay());
             GradientClipping clip = new GradientClipping(params, s.clipNorm() > 0 ? s.clipNorm() : Float.MAX_VALUE)) {
            if (checkpoints != null) {
                // a run stopped by SIGKILL may have left a half-written temporary beside the checkpoint,
                // or (stopped between the two renames) only the previous checkpoint, renamed aside
                AtomicFiles.recoverDirectory(checkpoints);
            }
            if (resume && checkpoints != null && Files.isRegularFile(checkpoints.resolve(META_FILE))) {
                first = restore(checkpoints, params, opt, s);
            }
            long start = System.nanoTime();
            for (long step = first; step < s.steps(); step++) {
                long t0 = System.nanoTime();
                double lr = s.schedule().at(step);
                double loss;
                double norm;
                if (task.defersLoss()) {
                    // the whole step as one unit the device may record and replay (TornadoVM: one execution
                    // plan); the loss and norm are read after it, so a non-finite one has already updated
                    // the parameters in memory when the run stops (the checkpoint is untouched either way)
                    long now = step;
                    d.capture(() -> {
                        task.runStep(now);
                        Tensor f = clip.clipFactor();
                        opt.step(lr, s.clipNorm() > 0 ? f : null);
                    });
                    loss = task.lastLoss();
                    norm = clip.norm();
                    if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
                        throw new TrainingStopped(step, stopMessage(step, loss, norm, params, checkpoints));
                    }
                } else {
                    loss = task.step(step);
                    Tensor factor = clip.clipFactor();
                    norm = clip.norm();
                    if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
                        throw new TrainingStopped(step, stopMessage(step, loss, norm, params, checkpoints));
                    }
                    opt.step(lr, s.clipNorm() > 0 ? factor : null);
                }
                losses.add(loss);
                double dt = (System.nanoTime() - t0) / 1e9;
                l.onStep(step, s.steps(), loss, norm, lr, task.itemsPerStep() / dt);
                long done = step + 1;
                if (s.evalEvery() > 0 && done % s.evalEvery() == 0 && done < s.steps()) {
                    Evaluation e = task.evaluate();
                    evals.put(done, e);
                    l.onEvaluation(done, e);
                }
                if (checkpoints != null && (s.checkpointEvery() > 0 && done % s.checkpointEvery() == 0
                        || done == s.steps())) {
                    save(checkpoints, params, opt, done, s);
                    l.onCheckpoint(done, checkpoints);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            Evaluation e = task.evaluate();
            evals.put(s.steps(), e);
            l.onEvaluation(s.steps(), e);
            d.synchronize();
            return new Result(losses, first, evals, seconds);
        }
    }

    private static String stopMessage(long step, double loss, double norm, ParameterSet params, Path checkpoints) {
        String what = !Double.isFinite(loss) ? "the loss is " + loss : "the gradient norm is " + norm;
        String where = "";
        for (Parameter p : params.list()) {
            float[] g = params.device().read(p.grad());
            for (int i = 0; i < g.length; i++) {
                if (!Float.isFinite(g[i])) {
                    where = "; the first non-finite gradient is " + p.name() + "[" + i + "] = " + g[i];
                    break;
                }
            }
            if (!where.isEmpty()) {
                break;
            }
        }
        String ckpt = checkpoints != null && Files.isRegularFile(checkpoints.resolve(META_FILE))
                ? "; the last checkpoint in " + checkpoints + " is intact" : "";
        return "training stopped at step " + step + ": " + what + where + "; no update was applied" + ckpt;
    }

    /** Writes the trainable values, the moments and the step, atomically. */
    static void save(Path dir, ParameterSet params, AdamW opt, long step, TrainerSettings s) {
        Device d = params.device();
        SafeTensorsWriter w = new SafeTensorsWriter();
        ObjectNode meta = JSON.createObjectNode();
        meta.put("format", FORMAT);
        meta.put("step", step);
        meta.put("steps", s.steps());
        meta.put("adamw_steps", opt.steps());
        ArrayNode names = meta.putArray("parameters");
        List<Parameter> list = params.list();
        for (int i = 0; i < list.size(); i++) {
            Parameter p = list.get(i);
            names.addObject().put("name", p.name()).put("size", p.size());
            String key = String.format("p%05d", i);
            Tensor[] mv = opt.moments(i);
            w.f32(key + ".value", new int[] {(int) p.size()}, d.read(p.value()));
            w.f32(key + ".m", new int[] {(int) p.size()}, d.read(mv[0]));
            w.f32(key + ".v", new int[] {(int) p.size()}, d.read(mv[1]));
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(STATE_FILE, w.toBytes(Map.of("format", "nola-trainer-" + FORMAT)));
        try {
            files.put(META_FILE, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        AtomicFiles.writeDirectory(dir, files);
    }

    /** Loads a checkpoint into the parameters and the optimizer; returns the step to continue from. */
    static long restore(Path dir, ParameterSet params, AdamW opt, TrainerSettings s) {
        Device d = params.device();
        JsonNode meta;
        try {
            meta = JSON.readTree(new String(Files.readAllBytes(dir.resolve(META_FILE)), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint " + dir + ": " + META_FILE + " cannot be read: "
                    + e.getMessage());
        }
        if (meta.path("format").asInt(-1) != FORMAT) {
            throw new IllegalArgumentException("checkpoint " + dir + " has format " + meta.path("format")
                    + "; this build reads format " + FORMAT);
        }
        List<Parameter> list = params.list();
        JsonNode names = meta.path("parameters");
        if (names.size() != list.size()) {
            throw new IllegalArgumentException("checkpoint " + dir + " holds " + names.size() + " parameters; this run trains "
                    + list.size() + " (a different model or method?)");
        }
        long step = meta.path("step").asLong(-1);
        if (step < 0 || step > s.steps()) {
            throw new IllegalArgumentException("checkpoint " + dir + " is at step " + step + ", outside this run's 0.."
                    + s.steps());
        }
        try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve(STATE_FILE))) {
            for (int i = 0; i < list.size(); i++) {
                Parameter p = list.get(i);
                if (names.get(i).path("size").asLong() != p.size() || !names.get(i).path("name").asText().equals(p.name())) {
                    throw new IllegalArgumentException("checkpoint " + dir + ": parameter " + i + " is "
                            + names.get(i).path("name").asText() + " of " + names.get(i).path("size").asLong()
                            + " numbers; this run's is " + p.name() + " of " + p.size());
                }
                String key = String.format("p%05d", i);
                Tensor[] mv = opt.moments(i);
                d.write(p.value(), r.readFloats(key + ".value"));
                d.write(mv[0], r.readFloats(key + ".m"));
                d.write(mv[1], r.readFloats(key + ".v"));
                p.touch();
            }
        }
        opt.restoreSteps(meta.path("adamw_steps").asLong(step));
        return step;
    }
}
