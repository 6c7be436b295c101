package dev.nola.bench;

import dev.nola.adapter.Adapter;
import dev.nola.adapter.LoraAdapter;
import dev.nola.adapter.NolaAdapter;
import dev.nola.adapter.NolaConfig;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * One adapted linear layer, {@code y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ} with W frozen: N = 1024 tokens,
 * in = out = 1024, s = 1; frozen alone, LoRA r = 8, NOLA r = 8 with k = l bases materialised or
 * generated on the fly. {@code _fwd} is the forward pass; {@code _fwd_bwd} adds the backward pass
 * (dx and every trainable gradient, zeroed first), as a training step runs them. The layer group has
 * k = l = 1000; the scaling group sweeps k = l (see {@link #SCALING_K}).
 */
final class LayerCases {

    static final int N = 1024;
    static final int WIDTH = 1024;
    static final int R = 8;
    static final int K = 1000;
    static final int[] SCALING_K = {64, 256, 1024, 4096};
    static final int[] SCALING_K_QUICK = {64, 1024};

    private LayerCases() {
    }

    static List<Case> layer() {
        List<Case> out = new ArrayList<>();
        for (String variant : List.of("frozen", "lora_r8", "nola_materialized", "nola_on_the_fly")) {
            for (boolean backward : new boolean[] {false, true}) {
                out.add(of("layer", variant, K, backward));
            }
        }
        return out;
    }

    static List<Case> scaling(boolean quick) {
        List<Case> out = new ArrayList<>();
        for (int k : quick ? SCALING_K_QUICK : SCALING_K) {
            out.add(of("scaling", "nola_materialized", k, true));
            out.add(of("scaling", "nola_on_the_fly", k, true));
        }
        return out;
    }

    /** Bytes of one materialised bank pair at k = l: k·r·in + l·out·r floats. */
    static long basisBytes(int k) {
        return 4L * k * R * (WIDTH + WIDTH);
    }

    static Case of(String group, String variant, int k, boolean backward) {
        String shape = "N=" + N + " in=" + WIDTH + " out=" + WIDTH
                + (variant.equals("frozen") ? "" : " r=" + R) + (variant.startsWith("nola") ? " k=" + k + " l=" + k : "");
        double dense = 2.0 * N * WIDTH * WIDTH;
        double lowRank = variant.equals("frozen") ? 0 : 2.0 * N * R * (WIDTH + WIDTH);
        double mix = variant.startsWith("nola") ? 2.0 * k * R * (WIDTH + WIDTH) : 0;
        double flops = backward ? 2 * dense + 3 * lowRank + 2 * mix : dense + lowRank + mix;
        double bytes = 4.0 * (N * (double) WIDTH * (backward ? 4 : 2) + (double) WIDTH * WIDTH)
                + (variant.equals("nola_materialized") ? (backward ? 2.0 : 1.0) * basisBytes(k) : 0);
        String op = variant + (backward ? "_fwd_bwd" : "_fwd");
        return new Case(group, op, shape, flops, bytes, (a, check) -> {
            Device d = a.device();
            int rows = check ? KernelCases.CHECK_ROWS : N;
            Tensor x = a.random(1, 1, rows, WIDTH);
            Tensor w = a.random(2, 1 / Math.sqrt(WIDTH), WIDTH, WIDTH);
            Tensor bias = a.random(3, 0.1, WIDTH);
            Tensor y = a.zeros(rows, WIDTH);
            Tensor dy = a.random(4, 1, rows, WIDTH);
            Tensor dx = a.zeros(rows, WIDTH);
            Adapter adapter = adapter(d, variant, k);
            if (adapter != null) {
                a.keep(adapter);
            }
            Runnable forward = () -> {
                d.linalg().matmul(false, true, 1f, x, w, 0f, y);
                d.nn().biasForward(y, bias);
                if (adapter != null) {
                    adapter.forward(x, y);
                }
            };
            if (!backward) {
                return new Case.Prepared(forward, List.of(y));
            }
            return new Case.Prepared(() -> {
                forward.run();
                d.linalg().matmul(false, false, 1f, dy, w, 0f, dx);
                if (adapter != null) {
                    adapter.zeroGradients();
                    adapter.backward(dy, dx);
                }
            }, List.of(y, dx));
        });
    }

    /** The variant's adapter with non-zero trainable parameters (so no path is a multiplication by zero), or null. */
    private static Adapter adapter(Device d, String variant, int k) {
        Adapter adapter = switch (variant) {
            case "frozen" -> null;
            case "lora_r8" -> new LoraAdapter(d, WIDTH, WIDTH, R, R, 11, 0);
            case "nola_materialized", "nola_on_the_fly" -> NolaAdapter.create(d, NolaConfig.offset(R, k, k, R, 11,
                    List.of("q")).withBasisMode(variant.endsWith("materialized") ? NolaConfig.BasisMode.MATERIALIZED
                    : NolaConfig.BasisMode.ON_THE_FLY), WIDTH, WIDTH, 0, "q");
            default -> throw new IllegalArgumentException("no layer variant " + variant);
        };
        if (adapter != null) {
            adapter.setParameters(Fixtures.random(12, adapter.parameterCount(), 0.01));
        }
        return adapter;
    }
}
