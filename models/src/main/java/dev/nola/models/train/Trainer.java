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
 * <p>Steps: each step is one {@link Device#capture} (on TornadoVM one execution plan, recorded once and
 * replayed): forward and backward ({@link TrainingTask#runStep} for a {@link DeviceLossTask}, else
 * {@link TrainingTask#step}), the global gradient norm and clipping factor, a device-side copy of the
 * trainable values and AdamW's moments, and the AdamW update. The loss and the norm are read after it.
 *
 * <p>Guard: so when the loss or the norm is not finite, the update has already been applied in memory.
 * The trainer then undoes it: it copies the values and moments back from the copies taken before the
 * update and takes the step back from AdamW's count, so the trainable values are bit for bit those from
 * before the step; and it stops with a {@link TrainingStopped} that names the step, the first
 * non-finite gradient element (when there is one), that the update was undone, and the last
 * checkpoint, which it has not touched. Undoing rather than checking before the update keeps the
 * step one capture: reading the norm before the update would split it into two plans, each of which
 * would then copy in, on every run, what the other wrote (trainable values, gradients). The copies
 * cost three device tensors the size of each trainable one and three device copies per step.
 */
public final class Trainer {

    /** The checkpoint format's version. */
    public static final int FORMAT = 1;
    static final String STATE_FILE = "state.safetensors";
    static final String META_FILE = "trainer.json";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    /**
     * A run stopped by the guard: the message names the step, the first non-finite gradient element, that
     * the step's update was undone (the trainable values and AdamW's moments are those from before the
     * step), and the last checkpoint.
     */
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
        return run(task, s, checkpoints, resume, listener, Map.of());
    }

    /**
     * Trains, recording {@code inputs} (what the run was made from, e.g. the training data's digest) in every
     * checkpoint's {@code trainer.json}, where {@link #checkpointInputs} reads them back so a caller can
     * refuse to resume a run whose inputs changed. The trainer itself only records them.
     */
    public static Result run(TrainingTask task, TrainerSettings s, Path checkpoints, boolean resume,
                             TrainingListener listener, Map<String, String> inputs) {
        Checks.notNull("task", task);
        Checks.notNull("inputs", inputs);
        Checks.notNull("settings", s);
        TrainingListener l = listener == null ? TrainingListener.NONE : listener;
        ParameterSet params = task.trainable();
        Device d = params.device();
        long first = 0;
        List<Double> losses = new ArrayList<>();
        Map<Long, Evaluation> evals = new LinkedHashMap<>();
        try (AdamW opt = optimizer(params, s);
             GradientClipping clip = new GradientClipping(params, s.clipNorm() > 0 ? s.clipNorm() : Float.MAX_VALUE);
             StateBeforeStep before = new StateBeforeStep(params, opt)) {
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
                long now = step;
                double[] stepLoss = {Double.NaN};
                // the whole step, update included, as one unit the device may record and replay (TornadoVM:
                // one execution plan); the loss and norm are read after it, and a non-finite one undoes it
                d.capture(() -> {
                    if (task.defersLoss()) {
                        task.runStep(now);
                    } else {
                        stepLoss[0] = task.step(now);
                    }
                    Tensor factor = clip.clipFactor();
                    before.keep();
                    opt.step(lr, s.clipNorm() > 0 ? factor : null);
                });
                double loss = task.defersLoss() ? task.lastLoss() : stepLoss[0];
                double norm = clip.norm();
                if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
                    before.putBack();
                    throw new TrainingStopped(step, stopMessage(step, loss, norm, params, checkpoints));
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
                    save(checkpoints, params, opt, done, s, inputs);
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

    /** AdamW over the parameters; a device too small for its moments says so, naming them. */
    private static AdamW optimizer(ParameterSet params, TrainerSettings s) {
        try {
            return new AdamW(params, 0.9, s.beta2(), 1e-8, s.weightDecay());
        } catch (dev.nola.kernels.DeviceMemoryExhausted e) {
            throw e.named("AdamW moments");
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
        String undone = "; the update of step " + step + " was undone: the trainable values and AdamW's moments"
                + " are back to their values before step " + step;
        String ckpt = "";
        if (checkpoints != null && Files.isRegularFile(checkpoints.resolve(META_FILE))) {
            long saved = checkpointStep(checkpoints);
            ckpt = "; the last checkpoint" + (saved >= 0 ? ", of step " + saved + "," : "") + " in " + checkpoints
                    + " is untouched";
        } else if (checkpoints != null) {
            ckpt = "; no checkpoint has been written to " + checkpoints;
        }
        return "training stopped at step " + step + ": " + what + where + undone + ckpt;
    }

    /** The step of the checkpoint in {@code dir}, or -1 when its {@code trainer.json} cannot be read. */
    private static long checkpointStep(Path dir) {
        try {
            return JSON.readTree(Files.readAllBytes(dir.resolve(META_FILE))).path("step").asLong(-1);
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * A device-side copy of the trainable values and AdamW's moments, taken inside each captured step
     * just before the update ({@link #keep}), so that a step found non-finite afterwards can be undone
     * ({@link #putBack}) without splitting the step in two. Holds three tensors per parameter.
     */
    private static final class StateBeforeStep implements AutoCloseable {
        private final ParameterSet params;
        private final AdamW opt;
        private final List<Tensor[]> copies = new ArrayList<>();

        StateBeforeStep(ParameterSet params, AdamW opt) {
            this.params = params;
            this.opt = opt;
            Device d = params.device();
            try {
                for (Parameter p : params.list()) {
                    Tensor[] c = new Tensor[3];
                    copies.add(c);
                    for (int k = 0; k < 3; k++) {
                        try {
                            c[k] = d.allocate(p.value().shape());
                        } catch (dev.nola.kernels.DeviceMemoryExhausted e) {
                            throw e.named("undo copy of " + p.name());
                        }
                    }
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        /** Copies the values and moments aside, on the device (recorded with the step in a capture). */
        void keep() {
            Device d = params.device();
            List<Parameter> list = params.list();
            for (int i = 0; i < list.size(); i++) {
                Tensor[] mv = opt.moments(i);
                Tensor[] c = copies.get(i);
                d.copy(list.get(i).value(), c[0]);
                d.copy(mv[0], c[1]);
                d.copy(mv[1], c[2]);
            }
        }

        /** Undoes the last update: values, moments and the optimizer's step count as {@link #keep} found them. */
        void putBack() {
            Device d = params.device();
            List<Parameter> list = params.list();
            for (int i = 0; i < list.size(); i++) {
                Tensor[] mv = opt.moments(i);
                Tensor[] c = copies.get(i);
                d.copy(c[0], list.get(i).value());
                d.copy(c[1], mv[0]);
                d.copy(c[2], mv[1]);
                list.get(i).touch();
            }
            opt.restoreSteps(opt.steps() - 1);
        }

        @Override
        public void close() {
            for (Tensor[] c : copies) {
                for (Tensor t : c) {
                    if (t != null) {
                        t.close();
                    }
                }
            }
        }
    }

    /** Writes the trainable values, the moments and the step, atomically. */
    static void save(Path dir, ParameterSet params, AdamW opt, long step, TrainerSettings s) {
        save(dir, params, opt, step, s, Map.of());
    }

    static void save(Path dir, ParameterSet params, AdamW opt, long step, TrainerSettings s, Map<String, String> inputs) {
        Device d = params.device();
        SafeTensorsWriter w = new SafeTensorsWriter();
        ObjectNode meta = JSON.createObjectNode();
        meta.put("format", FORMAT);
        meta.put("step", step);
        meta.put("steps", s.steps());
        meta.put("adamw_steps", opt.steps());
        if (!inputs.isEmpty()) {
            ObjectNode in = meta.putObject("inputs");
            new java.util.TreeMap<>(inputs).forEach(in::put);
        }
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

    /**
     * The inputs a checkpoint recorded ({@link #run(TrainingTask, TrainerSettings, Path, boolean, TrainingListener, Map)}),
     * empty for a checkpoint written without them; its step under the key {@code "step"} is not among them.
     *
     * @throws IllegalArgumentException {@code trainer.json} cannot be read or is not this format's
     */
    public static Map<String, String> checkpointInputs(Path dir) {
        JsonNode meta;
        try {
            meta = JSON.readTree(Files.readAllBytes(dir.resolve(META_FILE)));
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint " + dir + ": " + META_FILE + " cannot be read: " + e.getMessage());
        }
        Map<String, String> out = new java.util.TreeMap<>();
        JsonNode in = meta == null ? null : meta.get("inputs");
        if (in != null && in.isObject()) {
            in.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        }
        return out;
    }

    /** The step of the checkpoint in {@code dir}, or -1 when there is none or it cannot be read. */
    public static long savedStep(Path dir) {
        return checkpointStep(dir);
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
