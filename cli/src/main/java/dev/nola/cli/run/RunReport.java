package dev.nola.cli.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nola.io.AtomicFiles;
import dev.nola.kernels.Device;
import dev.nola.kernels.DeviceInfo;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run's report directory: {@code report.json} (the command's configuration, the device, every
 * step's figures and the final metrics of each method) and the PNG charts {@code loss.png},
 * {@code metric.png} and {@code params.png}, written together atomically (a temporary directory,
 * then a rename), so a reader never sees half a report.
 */
public final class RunReport {

    /** The JSON format's version, in {@code report.json} as {@code "format": "nola-report-1"}. */
    public static final String FORMAT = "nola-report-1";
    /** The files a report directory holds. */
    public static final List<String> FILES = List.of("report.json", "loss.png", "metric.png", "params.png");

    static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    /**
     * One method's outcome.
     *
     * @param name         "nola", "lora-r1", "head", …
     * @param trainable    trainable numbers of the adapters (0 for none)
     * @param headNumbers  numbers of a trained classification head (0 for none)
     * @param adapterBytes the adapter's files on disk (0 for none)
     * @param before       the metric before training (NaN when not measured)
     * @param after        the metric after training, mean over seeds
     * @param perSeed      the metric after training for each seed
     * @param log          the first seed's steps and evaluations, or null
     * @param seconds      wall time of the method's training, all seeds
     */
    public record Method(String name, long trainable, long headNumbers, long adapterBytes, double before, double after,
                         double[] perSeed, RunLog log, double seconds) {
    }

    private final String command;
    private final String title;
    private final String metric;
    private final ObjectNode config = JSON.createObjectNode();
    private final List<Method> methods = new ArrayList<>();
    private final Map<String, Object> notes = new LinkedHashMap<>();
    private DeviceInfo device;

    /**
     * @param command the subcommand ("finetune", "quickstart", …)
     * @param title   the charts' title, e.g. "Fashion-MNIST 5-way 10-shot, ViT base"
     * @param metric  the metric's name: "accuracy", "perplexity" or "loss"
     */
    public RunReport(String command, String title, String metric) {
        this.command = command;
        this.title = title;
        this.metric = metric;
    }

    /** The configuration object, filled in by the command. */
    public ObjectNode config() {
        return config;
    }

    public RunReport device(Device d) {
        this.device = d.info();
        return this;
    }

    public RunReport add(Method m) {
        methods.add(m);
        return this;
    }

    public List<Method> methods() {
        return methods;
    }

    public String metric() {
        return metric;
    }

    /** A top-level figure of the report (total seconds, the base's cache state, …). */
    public RunReport note(String key, Object value) {
        notes.put(key, value);
        return this;
    }

    /** The report as JSON. */
    public ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("command", command);
        root.put("title", title);
        root.put("created", Instant.now().toString());
        root.set("config", config);
        if (device != null) {
            ObjectNode d = root.putObject("device");
            d.put("id", device.id());
            d.put("name", device.name());
            d.put("vendor", device.vendor());
            d.put("type", String.valueOf(device.type()));
            d.put("compute_units", device.computeUnits());
        }
        root.put("metric", metric);
        notes.forEach((k, v) -> root.set(k, JSON.valueToTree(v)));
        ArrayNode ms = root.putArray("methods");
        for (Method m : methods) {
            ObjectNode o = ms.addObject();
            o.put("name", m.name());
            o.put("trainable", m.trainable());
            o.put("head_numbers", m.headNumbers());
            o.put("adapter_bytes", m.adapterBytes());
            number(o, "before", m.before());
            number(o, "after", m.after());
            ArrayNode seeds = o.putArray("after_per_seed");
            for (double v : m.perSeed()) {
                seeds.add(finite(v));
            }
            o.put("seconds", m.seconds());
            if (m.log() != null) {
                number(o, "items_per_second", m.log().meanItemsPerSecond());
                ArrayNode steps = o.putArray("steps");
                for (RunLog.Step s : m.log().steps()) {
                    ObjectNode so = steps.addObject();
                    so.put("step", s.step());
                    number(so, "loss", s.loss());
                    number(so, "grad_norm", s.gradNorm());
                    so.put("lr", s.learningRate());
                    number(so, "items_per_second", s.itemsPerSecond());
                }
                ArrayNode evals = o.putArray("evaluations");
                for (RunLog.Eval e : m.log().evaluations()) {
                    ObjectNode eo = evals.addObject();
                    eo.put("step", e.step());
                    number(eo, "loss", e.loss());
                    number(eo, "accuracy", e.accuracy());
                }
            }
        }
        return root;
    }

    /** Writes {@code dir/report.json} and the charts, atomically replacing an earlier report there. */
    public void write(Path dir) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            files.put("report.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(toJson()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("report.json cannot be written: " + e.getOriginalMessage(), e);
        }
        List<RunLog> logs = methods.stream().map(Method::log).filter(l -> l != null && !l.steps().isEmpty()).toList();
        List<String> names = methods.stream().map(Method::name).toList();
        files.put("loss.png", Charts.lossCurves(title + ": training loss", logs));
        files.put("metric.png", Charts.metricBars(title + ": " + metric + " before and after", metric, names,
                methods.stream().map(Method::before).toList(), methods.stream().map(Method::after).toList()));
        files.put("params.png", Charts.parametersAgainstQuality(title + ": trainable numbers against " + metric, metric,
                names, methods.stream().map(m -> m.trainable() + m.headNumbers()).toList(),
                methods.stream().map(Method::after).toList()));
        AtomicFiles.writeDirectory(dir, files);
    }

    private static void number(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
