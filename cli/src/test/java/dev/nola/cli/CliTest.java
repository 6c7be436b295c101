package dev.nola.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.kernels.BasisStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CliTest {

    record Result(int status, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(status, out.toString(), err.toString());
    }

    @ParameterizedTest
    @CsvSource({
        "0, 0, 0, 0, 1, 9",
        "18446744073709551615, 4294967295, 1, 5, 0.03125, 33",
        "12345678901234567890, 77, 0, 999, 0.0316227766, 1023",
    })
    void basisIsTheSpecOnReferenceAndCpu(String seed, String stream, String domain, int index, float scale, int count) {
        Result ref = run("basis", "--seed", seed, "--stream", stream, "--domain", domain, "--index", "" + index,
                "--count", "" + count, "--scale", "" + scale, "--device", "reference");
        Result cpu = run("basis", "--seed", seed, "--stream", stream, "--domain", domain, "--index", "" + index,
                "--count", "" + count, "--scale", "" + scale, "--device", "cpu");
        assertEquals(0, ref.status(), ref.err());
        assertEquals(ref.out(), cpu.out(), "reference and cpu print the same values");
        // every other available device prints the same bits (opencl:P:D on PoCL in CI, tornado where installed)
        for (dev.nola.kernels.Backend b : dev.nola.kernels.Backends.all()) {
            if (!b.availability().available() || b.name().equals("reference") || b.name().equals("cpu")) {
                continue;
            }
            for (dev.nola.kernels.DeviceInfo d : b.devices()) {
                Result other = run("basis", "--seed", seed, "--stream", stream, "--domain", domain, "--index", "" + index,
                        "--count", "" + count, "--scale", "" + scale, "--device", d.id());
                assertEquals(0, other.status(), other.err());
                assertEquals(ref.out(), other.out(), d.id() + " prints the same values as reference");
            }
        }
        String[] lines = ref.out().split("\n");
        assertEquals(count, lines.length);
        BasisStream s = new BasisStream(Long.parseUnsignedLong(seed), Integer.parseUnsignedInt(stream),
                Integer.parseUnsignedInt(domain), scale);
        for (int e = 0; e < count; e++) {
            assertEquals(Float.toString(s.element(index, e)), lines[e], "element " + e);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "basis --seed -1 --stream 0 --count 3|--seed",
        "basis --seed 18446744073709551616 --stream 0 --count 3|--seed",
        "basis --seed 1 --stream 4294967296 --count 3|--stream",
        "basis --seed 1 --stream 0 --count 0|--count",
        "basis --seed 1 --stream 0 --count -5|--count",
        "basis --seed 1 --stream 0 --count 3 --scale NaN|--scale",
        "basis --seed 1 --stream 0 --count 3 --scale Infinity|--scale",
        "basis --seed 1 --stream 0 --count 3 --index -1|--index",
        "basis --seed 1 --stream 0 --count 3 --device gpu:7|gpu:7",
        "basis --seed 1 --stream 0|--count",
        "basis --seed 1 --stream 0 --count x|--count",
        "frobnicate|frobnicate",
    })
    void badInputIsOneLineAndStatusTwo(String line, String mention) {
        Result r = run(line.split(" "));
        assertEquals(2, r.status(), "status for: " + line + " err=" + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertTrue(r.err().contains(mention), "mentions " + mention + ": " + r.err());
        assertEquals("", r.out());
    }

    @Test
    void devicesListsCpuAndReferenceFirstOnTheirLines() {
        Result r = run("devices");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("cpu ")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("reference ")), r.out());
    }

    @Test
    void paramsReproducesThePapersCounts() {
        Result r = run("params");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("96,000"), r.out());
        assertTrue(r.out().contains("144,000"), r.out());
        assertTrue(r.out().contains("98,304") && r.out().contains("393,216"), r.out());
    }

    @Test
    void toyTrainsAndReportsEveryMethod() {
        Result r = run("toy", "--steps", "3", "--device", "cpu");
        assertTrue(r.out().contains("generic planted rank-4"), r.out());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("NOLA k+l=96"), r.out());
        assertTrue(r.out().contains("LoRA r=1") && r.out().contains("LoRA r=4"), r.out());
        Result bad = run("toy", "--steps", "0");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--steps"), bad.err());
    }

    @Test
    void mixPrintsTheSameFactorOnEveryDevice() {
        String[] args = {"mix", "--seed", "7", "--stream", "3", "--count", "1023", "--scale", "0.0316",
                "--coefficients", "0.5,-1.25,3,0.001,-7", "--device", "reference"};
        Result ref = run(args);
        assertEquals(0, ref.status(), ref.err());
        String[] lines = ref.out().split("\n");
        assertEquals(1023, lines.length);
        // element 5 by the spec: fma in ascending i over the scaled basis
        BasisStream s = new BasisStream(7, 3, 0, 0.0316f);
        float[] c = {0.5f, -1.25f, 3f, 0.001f, -7f};
        float acc = 0f;
        for (int i = 0; i < c.length; i++) {
            acc = Math.fma(c[i], s.element(i, 5), acc);
        }
        assertEquals(Float.toString(acc), lines[5]);
        for (dev.nola.kernels.Backend b : dev.nola.kernels.Backends.all()) {
            if (!b.availability().available()) {
                continue;
            }
            for (dev.nola.kernels.DeviceInfo d : b.devices()) {
                args[args.length - 1] = d.id();
                Result other = run(args);
                assertEquals(ref.out(), other.out(), d.id() + " mixes the same factor as reference");
            }
        }
        Result bad = run("mix", "--seed", "7", "--stream", "3", "--count", "3", "--coefficients", "1,NaN");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--coefficients[1]"), bad.err());
    }

    @ParameterizedTest
    @CsvSource({"quickstart", "toy", "devices", "basis", "mix", "params", "inspect", "export-lora", "score", "finetune", "eval",
        "generate", "merge", "pretrain"})
    void everyCommandHasHelp(String command) {
        Result r = run(command, "--help");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("Usage: nola " + command), r.out());
        assertEquals("", r.err(), "nothing on the error stream");
    }
}
