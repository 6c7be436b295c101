package dev.nola.cli;

import dev.nola.adapter.NolaConfig;
import dev.nola.cli.run.DataSpec;
import dev.nola.cli.run.MethodSpec;
import dev.nola.cli.run.ModelSource;
import dev.nola.cli.run.Progress;
import dev.nola.io.Echo;
import java.nio.file.Path;
import java.util.List;
import dev.nola.models.transformer.WeightPrecision;
import picocli.CommandLine.Option;

/** Options the training and evaluation commands share, as picocli mixins. */
final class RunOptions {

    private RunOptions() {
    }

    /** --quiet and --json. */
    static final class Output {
        @Option(names = "--quiet", description = "No progress (results only).")
        boolean quiet;

        @Option(names = "--json", description = "Print the result as one JSON object on stdout (progress stays on stderr).")
        boolean json;

        Progress.Mode mode() {
            return Progress.mode(quiet);
        }
    }

    /** --weights: how a language model's frozen base is held on the device. */
    static final class Weights {
        @Option(names = "--weights", defaultValue = "f32", paramLabel = "PRECISION",
                description = "f32, or bf16: a causal LM's frozen weight matrices, embedding and head held as bfloat16 (half"
                        + " the memory; sums stay float32). Default: ${DEFAULT-VALUE}.")
        String weights;

        /** The parsed value; a bad one is one line naming --weights. */
        WeightPrecision precision() {
            return WeightPrecision.parse("--weights", weights);
        }
    }

    /** --data, --format, --held-out, --classes, --shots. */
    static final class Data {
        @Option(names = "--data", paramLabel = "PATH", description = "Text, JSONL, prompt/completion JSONL, a fortunes file or"
                + " directory, or a directory of IDX images (train-images-idx3-ubyte[.gz], ...).")
        Path data;

        @Option(names = "--format", defaultValue = "auto", paramLabel = "FORMAT",
                description = "auto, text, jsonl, prompt-completion, fortunes or idx. Default: ${DEFAULT-VALUE}.")
        String format;

        @Option(names = "--held-out", defaultValue = "0", paramLabel = "N",
                description = "Evaluate at most N held-out windows / test images (0: all). Default: ${DEFAULT-VALUE}.")
        int heldOut;

        @Option(names = "--classes", paramLabel = "LIST", description = "Images: the classes to learn, e.g. 5-9 (default: all).")
        String classes;

        @Option(names = "--shots", defaultValue = "0", paramLabel = "K",
                description = "Images: train on K images per class (0: all). Default: ${DEFAULT-VALUE}.")
        int shots;

        DataSpec spec() {
            if (data == null) {
                throw new IllegalArgumentException("--data is missing; expected a text, JSONL or fortunes file, or a directory of IDX images");
            }
            if (shots < 0) {
                throw new IllegalArgumentException("--shots is " + shots + "; expected >= 0 (0 for all)");
            }
            return new DataSpec(data, format, heldOut);
        }
    }

    /** --method and its settings. */
    static final class Method {
        @Option(names = "--method", defaultValue = "nola", paramLabel = "METHOD",
                description = "nola, lora, or head (ViT: the new head alone). Default: ${DEFAULT-VALUE}.")
        String method;

        @Option(names = {"-r", "--rank"}, defaultValue = "4", paramLabel = "R", description = "Rank r. Default: ${DEFAULT-VALUE}.")
        int rank;

        @Option(names = "--k", defaultValue = "64", paramLabel = "K", description = "NOLA: basis matrices of A. Default: ${DEFAULT-VALUE}.")
        int k;

        @Option(names = "--l", defaultValue = "64", paramLabel = "L", description = "NOLA: basis matrices of B. Default: ${DEFAULT-VALUE}.")
        int l;

        @Option(names = "--alpha", paramLabel = "A", description = "NOLA scale numerator (s = alpha / r; offset scheme). Default: 2r.")
        Float alpha;

        @Option(names = "--scheme", defaultValue = "offset", paramLabel = "SCHEME",
                description = "NOLA init: offset (the ICLR scripts) or paper. Default: ${DEFAULT-VALUE}.")
        String scheme;

        @Option(names = "--basis", defaultValue = "materialized", paramLabel = "MODE",
                description = "NOLA bases: materialized or on-the-fly. Default: ${DEFAULT-VALUE}.")
        String basis;

        @Option(names = "--targets", split = ",", paramLabel = "MODULE",
                description = "Adapted modules of every block: q, v, fc, fc2 (GPT-2); q_proj, k_proj, ..., down_proj (LLaMA). Default: q,v (GPT-2), q_proj,v_proj (LLaMA), fc,fc2 (ViT).")
        List<String> targets;

        @Option(names = "--seed", defaultValue = "1", paramLabel = "SEED", description = "Seed of bases, init and batches. Default: ${DEFAULT-VALUE}.")
        long seed;

        /** The method for this model: targets among its modules (default {@link ModelSource#defaultTargets()}). */
        MethodSpec spec(ModelSource model) {
            List<String> t = targets != null ? targets : model.defaultTargets();
            if (method.equals("head") && !(model instanceof ModelSource.VitBase)) {
                throw new IllegalArgumentException("--method head trains a ViT's classification head; a " + model.displayName()
                        + " has none (use nola or lora)");
            }
            NolaConfig cfg = null;
            if (method.equals("nola")) {
                if (rank <= 0 || k <= 0 || l <= 0) {
                    throw new IllegalArgumentException("--rank, --k and --l are " + rank + ", " + k + ", " + l + "; expected each > 0");
                }
                NolaConfig.BasisMode mode = switch (basis) {
                    case "materialized" -> NolaConfig.BasisMode.MATERIALIZED;
                    case "on-the-fly" -> NolaConfig.BasisMode.ON_THE_FLY;
                    default -> throw new IllegalArgumentException("--basis " + Echo.quote(basis)
                            + " is not a basis mode; expected materialized or on-the-fly");
                };
                cfg = switch (scheme) {
                    case "offset" -> NolaConfig.offset(rank, k, l, alpha != null ? alpha : 2f * rank, seed, t);
                    case "paper" -> NolaConfig.paper(rank, k, l, seed, t);
                    default -> throw new IllegalArgumentException("--scheme " + Echo.quote(scheme)
                            + " is not an init scheme; expected offset or paper");
                };
                cfg = cfg.withBasisMode(mode);
            }
            return new MethodSpec(method, cfg, rank, t, seed).requireTargetsOf(model.spec());
        }
    }
}
