package dev.nola.cli.report;

import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.StreamId;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SafeTensorsWriter;
import dev.nola.adapter.io.SavedNola;
import dev.nola.adapter.quant.CoefficientQuantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Trainable-parameter counts and bytes on disk for adapters on GPT-2's q and v projections
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

    /** Rows for GPT-2 M (d=1024, 24 layers) and L (d=1280, 36 layers), q and v adapted. */
    public static List<Row> gpt2(int k, int nolaRank, int bits) {
        List<Row> rows = new ArrayList<>();
        for (Object[] m : new Object[][] {{"GPT-2 M", 1024, 24}, {"GPT-2 L", 1280, 36}}) {
            String name = (String) m[0];
            int d = (Integer) m[1];
            int layers = (Integer) m[2];
            rows.add(nola(name, d, layers, k, nolaRank, bits));
            rows.add(lora(name, d, layers, 1));
            rows.add(lora(name, d, layers, 4));
        }
        return rows;
    }

    static Row nola(String model, int d, int layers, int k, int r, int bits) {
        NolaConfig c = NolaConfig.offset(r, k, k, r, 0L, List.of("q", "v"));
        List<SavedNola.Layer> ls = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            for (int m = 0; m < 2; m++) {
                ls.add(new SavedNola.Layer("h." + layer + ".attn." + (m == 0 ? "q" : "v"), d, d,
                        StreamId.of(layer, true, m, StreamId.FACTOR_A), StreamId.of(layer, true, m, StreamId.FACTOR_B),
                        new float[k], new float[k]));
            }
        }
        SavedNola f32 = new SavedNola(c, ls);
        SavedNola q = new SavedNola(c.withQuantization(bits, false), ls);
        return new Row(model, "NOLA k=l=" + k + " r=" + r, ls.size(), (long) ls.size() * 2 * k,
                NolaAdapterFiles.weights(f32).length, NolaAdapterFiles.weights(q).length, bits,
                NolaAdapterFiles.configJson(f32).length);
    }

    static Row lora(String model, int d, int layers, int r) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        long params = 0;
        for (int layer = 0; layer < layers; layer++) {
            for (String m : new String[] {"q", "v"}) {
                String p = "base_model.model.h." + layer + ".attn." + m;
                w.f32(p + ".lora_A.weight", new int[] {r, d}, new float[r * d]);
                w.f32(p + ".lora_B.weight", new int[] {d, r}, new float[d * r]);
                params += 2L * r * d;
            }
        }
        return new Row(model, "LoRA r=" + r, layers * 2, params, w.toBytes(Map.of()).length, -1, 0, -1);
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
