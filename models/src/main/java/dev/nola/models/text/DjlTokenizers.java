package dev.nola.models.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.nola.io.Echo;
import dev.nola.io.InvalidFileException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Locale;
import java.util.Map;

/**
 * DJL's Hugging Face tokenizers binding, set up so that it never reaches the network: before its first
 * class loads, the system properties {@code ai.djl.offline=true} (the native library's flavor is then
 * {@code cpu}, the one inside the jar, instead of a CUDA build DJL would download, and DJL's telemetry
 * call is skipped), {@code OPT_OUT_TRACKING=true} (telemetry, again) and {@code RUST_FLAVOR=cpu} are
 * set unless already set. DJL extracts the jar's library to its cache ({@code $DJL_CACHE_DIR} or
 * {@code ENGINE_CACHE_DIR}, default {@code ~/.djl.ai/tokenizers}) and loads it from there. A platform
 * whose library the jar lacks is refused here, before DJL would try to download one. Environment
 * variables of the same names, which DJL reads before system properties, remain the user's to set
 * (as does {@code RUST_LIBRARY_PATH}, a library of one's own).
 */
final class DjlTokenizers {

    /** The platforms whose native library the DJL tokenizers jar holds. */
    static final String PLATFORMS = "linux-x86_64, linux-aarch64, osx-aarch64, win-x86_64";

    private static final Map<String, String> OPTIONS = Map.of("addSpecialTokens", "false", "truncation", "false",
            "padding", "false", "withOverflowingTokens", "false");

    private static volatile boolean ready;

    private DjlTokenizers() {
    }

    /**
     * A native tokenizer from {@code tokenizer.json} bytes already validated: no special tokens added,
     * no truncation, no padding.
     *
     * @throws InvalidFileException DJL (the Rust library) refuses the file, its reason on one line
     * @throws IllegalStateException the native library cannot be loaded
     */
    static HuggingFaceTokenizer create(byte[] json, String where) {
        prepare();
        try {
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), OPTIONS);
        } catch (ai.djl.engine.EngineException e) {
            throw unavailable(e);
        } catch (IOException | RuntimeException e) {
            throw new InvalidFileException(where + ": the Hugging Face tokenizers library refuses it: "
                    + Echo.line(firstLine(e.getMessage())), e);
        } catch (LinkageError e) {
            throw unavailable(e);
        }
    }

    /** Sets the properties once and checks that the jar holds this platform's library. */
    static synchronized void prepare() {
        if (ready) {
            return;
        }
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
        setIfAbsent("RUST_FLAVOR", "cpu");
        quietLogging();
        if (System.getenv("RUST_LIBRARY_PATH") == null && System.getProperty("RUST_LIBRARY_PATH") == null) {
            String platform = platform();
            String lib = "native/lib/" + platform + "/cpu/" + System.mapLibraryName("tokenizers");
            if (DjlTokenizers.class.getClassLoader().getResource(lib) == null) {
                throw new IllegalStateException("the Hugging Face tokenizers library (DJL) has no native build for "
                        + platform + " in its jar (it has " + PLATFORMS + "); nola does not download one: set "
                        + "RUST_LIBRARY_PATH to a libtokenizers built for DJL 0.38.0");
            }
        }
        ready = true;
    }

    static IllegalStateException unavailable(Throwable e) {
        Throwable c = e;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return new IllegalStateException("cannot load the Hugging Face tokenizers native library (DJL 0.38.0): "
                + Echo.line(firstLine(String.valueOf(c.getMessage()))), e);
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /**
     * DJL logs through SLF4J; with no SLF4J provider on the class path, SLF4J itself would print a
     * three-line warning. Nothing below the CLI prints, so then the API's own no-operation provider is
     * named and SLF4J's own notices are limited to warnings (naming a provider is otherwise announced);
     * an application with a provider, or with these properties set, keeps them.
     */
    private static void quietLogging() {
        if (System.getProperty("slf4j.provider") != null) {
            return;
        }
        try {
            if (java.util.ServiceLoader.load(org.slf4j.spi.SLF4JServiceProvider.class).findFirst().isEmpty()) {
                setIfAbsent("slf4j.internal.verbosity", "WARN");
                System.setProperty("slf4j.provider", "org.slf4j.helpers.NOP_FallbackServiceProvider");
            }
        } catch (java.util.ServiceConfigurationError e) {
            // a broken provider is SLF4J's to report
        }
    }

    /** DJL's name for this platform's directory in the jar ({@code linux-x86_64}, …). */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "osx" : os.startsWith("windows") ? "win" : os;
        String a = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return o + "-" + a;
    }

    private static String firstLine(String s) {
        if (s == null || s.isBlank()) {
            return "(no detail)";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
