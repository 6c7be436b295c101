package dev.nola.cli.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The paper's counts (nola-spec.md §1.3) and file sizes for GPT-2 M and L with q, v adapted. */
class ParameterReportTest {

    @Test
    void reproducesThePapersCounts() {
        List<ParameterReport.Row> rows = ParameterReport.gpt2(1000, 8, 4);
        long[] expected = {96_000, 98_304, 393_216, 144_000, 184_320, 737_280};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], rows.get(i).parameters(), rows.get(i).model() + " " + rows.get(i).method());
        }
        for (ParameterReport.Row r : rows) {
            assertTrue(r.weightsBytes() > 4 * r.parameters(), "the file holds every value plus a header");
            assertTrue(r.weightsBytes() < 4 * r.parameters() + 16_384, r + ": header under 16 KiB");
            if (r.quantizedBytes() >= 0) {
                assertTrue(r.quantizedBytes() < r.weightsBytes() / 4, r + ": 4-bit file is far smaller");
                assertTrue(r.quantizedBytes() >= r.parameters() / 2, r + ": 4-bit codes need params/2 bytes");
            }
        }
        System.out.print(ParameterReport.format(rows));
    }
}
