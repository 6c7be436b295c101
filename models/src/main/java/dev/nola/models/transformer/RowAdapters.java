package dev.nola.models.transformer;

import dev.nola.adapter.Adapter;
import dev.nola.kernels.Checks;
import dev.nola.kernels.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which low-rank update each row of a batch gets: the batch's rows [N] fall into contiguous segments,
 * each with its own factors per adapter site (or none), so one forward pass serves many adapters at
 * once — the base matmuls run once over all N rows, then each segment's factors add into its own rows
 * (a segmented low-rank product, as Punica and S-LoRA do). A segment that lacks a site gets the base
 * layer alone there.
 *
 * @param segments the segments in row order, disjoint, each within the batch
 */
public record RowAdapters(List<Segment> segments) {

    /**
     * The factors of one site: {@code y += s·(x·Aᵀ)·Bᵀ}.
     *
     * @param a     A [r, in] (the mixed down factor)
     * @param b     B [out, r]
     * @param scale s
     */
    public record Factors(Tensor a, Tensor b, float scale) {
        public Factors {
            Checks.notNull("a", a);
            Checks.notNull("b", b);
            Checks.finite("scale", scale);
        }

        /** r. */
        public int rank() {
            return a.dim(0);
        }

        /** The current factors of a live adapter (views of its own tensors: valid while it is open and unchanged). */
        public static Factors of(Adapter adapter) {
            return new Factors(adapter.factorA(), adapter.factorB(), adapter.scale());
        }
    }

    /**
     * Rows {@code row0 .. row0 + rows − 1} and their factors by site name ({@code h.0.attn.q}, …).
     */
    public record Segment(int row0, int rows, Map<String, Factors> sites) {
        public Segment {
            if (row0 < 0 || rows < 1) {
                throw new IllegalArgumentException("segment rows " + row0 + " + " + rows + "; expected row0 ≥ 0 and rows ≥ 1");
            }
            sites = Map.copyOf(sites);
        }

        /** The same factors at another first row. */
        public Segment withRow0(int first) {
            return new Segment(first, rows, sites);
        }
    }

    public RowAdapters {
        segments = List.copyOf(segments);
        int end = 0;
        for (Segment s : segments) {
            if (s.row0() < end) {
                throw new IllegalArgumentException("segment at row " + s.row0() + " overlaps the one before (which ends at "
                        + end + "); expected disjoint segments in row order");
            }
            end = s.row0() + s.rows();
        }
    }

    /** One segment over all {@code rows} with a set of live adapters by site. */
    public static RowAdapters single(int rows, Map<String, ? extends Adapter> adapters) {
        Map<String, Factors> f = new LinkedHashMap<>();
        adapters.forEach((site, a) -> f.put(site, Factors.of(a)));
        return new RowAdapters(List.of(new Segment(0, rows, f)));
    }

    /** The largest rank of any factors (0 when there are none). */
    public int maxRank() {
        int r = 0;
        for (Segment s : segments) {
            for (Factors f : s.sites().values()) {
                r = Math.max(r, f.rank());
            }
        }
        return r;
    }

    /** The rows the segments cover up to (the batch must have at least this many). */
    public int end() {
        return segments.isEmpty() ? 0 : segments.getLast().row0() + segments.getLast().rows();
    }
}
