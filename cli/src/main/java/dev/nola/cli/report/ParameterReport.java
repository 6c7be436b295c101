package dev.nola.cli.report;

import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.StreamId;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.adapter.io.SavedNola;
import dev.nola.adapter.quant.CoefficientQuantizer;
import dev.nola.models.gpt2.Gpt2Config;
import dev.nola.models.spec.AdapterSite;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trainable-parameter counts and bytes on disk for adapters on GPT-2's q and v projections (the sites of
 * {@link Gpt2Config#spec()})
 * (nola-spec.md §1.3): NOLA stores k + l coefficients per adapted matrix, LoRA r·(in + out).
 * Bytes are measured by serialising the actual adapter files (safetensors header included) with zero
 * coefficients; nothing is trained or allocated on a device.
 */
public final class ParameterReport {

    /**
     * One row.
     *
     * @param model          e.g. "GPT-2 M"
     * @param method         e.g. "NOLA k=l=1000 r=8", "LoRA r=4"
     * @param adapters       adapted matrices (layers × 2 for q and v)
     * @param parameters     trainable numbers
     * @param weightsBytes   size of {@code adapter_model.safetensors} with float32 values
     * @param quantizedBytes size of that file with coefficients quantized to {@code bits} bits (NOLA), or -1
     * @param bits           the quantization width used for quantizedBytes
     * @param configBytes    size of {@code adapter_config.json} (NOLA), or -1
     */
    public record Row(String model, String method, int adapters, long parameters, long weightsBytes,
                      long quantizedBytes, int bits, long configBytes) {
    }

    private ParameterReport() {
    }

    /** The adapted modules: GPT-2's q and v. */
    static final List<String> TARGETS = List.of("q", "v");

    /** Rows for GPT-2 M (d=1024, 24 layers) and L (d=1280, 36 layers), q and v adapted. */
    public static List<Row> gpt2(int k, int nolaRank, int bits) {
        List<Row> rows = new ArrayList<>();
        Map<String, Gpt2Config> models = new LinkedHashMap<>();
        models.put("GPT-2 M", new Gpt2Config(1024, 16, 24, 1024, 50257, 1e-5f, "gelu_new"));
        models.put("GPT-2 L", new Gpt2Config(1280, 20, 36, 1024, 50257, 1e-5f, "gelu_new"));
        models.forEach((name, config) -> {
            List<AdapterSite> sites = config.spec().model().sitesOf(TARGETS);
            rows.add(nola(name, sites, k, nolaRank, bits));
            rows.add(lora(name, sites, 1));
            rows.add(lora(name, sites, 4));
        });
        return rows;
    }

    static Row nola(String model, List<AdapterSite> sites, int k, int r, int bits) {
        NolaConfig c = NolaConfig.offset(r, k, k, r, 0L, TARGETS);
        List<SavedNola.Layer> ls = new ArrayList<>();
        for (AdapterSite s : sites) {
            int m = TARGETS.indexOf(s.module());
            ls.add(new SavedNola.Layer(s.name(), s.in(), s.out(),
                    StreamId.of(s.layer(), true, m, StreamId.FACTOR_A), StreamId.of(s.layer(), true, m, StreamId.FACTOR_B),
                    new float[k], new float[k]));
        }
        SavedNola f32 = new SavedNola(c, ls);
        SavedNola q = new SavedNola(c.withQuantization(bits, false), ls);
        return new Row(model, "NOLA k=l=" + k + " r=" + r, ls.size(), (long) ls.size() * 2 * k,
                NolaAdapterFiles.weights(f32).length, NolaAdapterFiles.weights(q).length, bits,
                NolaAdapterFiles.configJson(f32).length);
    }

    static Row lora(String model, List<AdapterSite> sites, int r) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        long params = 0;
        for (AdapterSite s : sites) {
            String p = "base_model.model." + s.name();
            w.f32(p + ".lora_A.weight", new int[] {r, s.in()}, new float[r * s.in()]);
            w.f32(p + ".lora_B.weight", new int[] {s.out(), r}, new float[s.out() * r]);
            params += (long) r * (s.in() + s.out());
        }
        return new Row(model, "LoRA r=" + r, sites.size(), params, w.toBytes(Map.of()).length, -1, 0, -1);
    }

    /** The rows as an aligned text table. */
    public static String format(List<Row> rows) {
        StringBuilder sb = new StringBuilder(String.format("%-8s %-20s %8s %10s %14s %16s%n", "model", "method",
                "matrices", "params", "fp32 file B", "quantized file B"));
        for (Row r : rows) {
            sb.append(String.format("%-8s %-20s %8d %,10d %,14d %16s%n", r.model(), r.method(), r.adapters(),
                    r.parameters(), r.weightsBytes(), r.quantizedBytes() < 0 ? "-"
                            : String.format("%,d (%d-bit)", r.quantizedBytes(), r.bits())));
        }
        return sb.toString();
    }

    /** Prints the GPT-2 table (k = l = 1000, r = 8, 4-bit quantized sizes; arguments override k, bits). */
    public static void main(String[] args) {
        int k = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int bits = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        CoefficientQuantizer.levels(bits);
        System.out.print(format(gpt2(k, 8, bits)));
    }
}
