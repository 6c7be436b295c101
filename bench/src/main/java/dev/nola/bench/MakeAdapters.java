package dev.nola.bench;

import dev.nola.adapter.NolaConfig;
import dev.nola.adapter.StreamId;
import dev.nola.adapter.io.NolaAdapterFiles;
import dev.nola.adapter.io.SavedNola;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.lm.HfCheckpoint;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.ModelSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes N NOLA adapter directories for a base — the adapters a load test of {@code nola serve}
 * spreads its requests over: {@code OUT/n0000 … OUT/n{N−1}}, each on the given modules of every layer
 * (rank 8, k = l = 64, the offset scheme, one shared basis seed as adapters fine-tuned from one config
 * have), coefficients drawn from the adapter's index as seed (N(0, 0.05²): small updates, so every
 * adapter still writes text).
 *
 * <pre>java -cp bench/target/nola-bench.jar dev.nola.bench.MakeAdapters gpt2-fortunes|llama-fortunes|DIR OUT N [modules]</pre>
 */
public final class MakeAdapters {

    private MakeAdapters() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: MakeAdapters gpt2-fortunes|llama-fortunes|MODEL_DIR OUT_DIR COUNT [module,module]");
            System.exit(2);
        }
        ModelSpec spec = switch (args[0]) {
            case "gpt2-fortunes" -> SmallBases.GPT2_CONFIG.spec().model();
            case "llama-fortunes" -> SmallBases.LLAMA_CONFIG.spec().model();
            default -> HfCheckpoint.readConfig(Path.of(args[0])).spec().model();
        };
        Path out = Path.of(args[1]);
        int n = Integer.parseInt(args[2]);
        List<String> modules = args.length > 3 ? Arrays.asList(args[3].split(","))
                : spec.architecture().equals("gpt2") ? List.of("q", "v") : List.of("q_proj", "v_proj");
        NolaConfig cfg = NolaConfig.offset(8, 64, 64, 16f, 42L, modules);
        Files.createDirectories(out);
        for (int i = 0; i < n; i++) {
            SplittableRandom r = new SplittableRandom(i);
            List<SavedNola.Layer> layers = new ArrayList<>();
            for (AdapterSite s : spec.sitesOf(modules)) {
                int m = cfg.moduleIndex(s.module());
                layers.add(new SavedNola.Layer(s.name(), s.in(), s.out(), StreamId.of(s.layer(), false, m, StreamId.FACTOR_A),
                        StreamId.of(s.layer(), false, m, StreamId.FACTOR_B), gauss(r, cfg.basisA()), gauss(r, cfg.basisB())));
            }
            NolaAdapterFiles.save(out.resolve(String.format("n%04d", i)), new SavedNola(cfg, layers));
        }
        System.out.println(n + " NOLA adapters on " + modules + " in " + out);
    }

    private static float[] gauss(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 0.05);
        }
        return v;
    }
}
