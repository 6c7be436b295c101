package dev.nola.kernels;

/**
 * The default attention of {@link AbstractNnOps}: strided batched matmuls over the heads of each
 * sequence around the nn family's scaled, masked softmax, no copies. Head h of q, out (and dq, dout)
 * is the column slice h·hs .. h·hs + hs − 1 at ld = C (q's width); head g of k and v (and dk, dv) the
 * slice g·hs at ld = KVH·hs.
 *
 * <p>Grouped-query heads (G = NH / KVH query heads per KV head): query head h = g·G + r uses KV head
 * g, so for each r = 0 .. G−1 one batched matmul over the KVH groups covers query heads r, G + r,
 * 2G + r, … (q at offset r·hs with a batch stride of G·hs, att at r·T² with G·T², k and v at a
 * batch stride of hs). dk and dv gather the G query heads of a group by one accumulating matmul per r,
 * in ascending r, so the result is deterministic. With G = 1 the calls are exactly those of plain
 * multi-head attention.
 */
final class AttentionComposition {

    private AttentionComposition() {
    }

    /** att = softmax(q·kᵀ/√hs) and out = att·v per query head; c = q's width, nh = NH. */
    static void forward(NnOps nn, LinalgOps l, Tensor q, Tensor k, Tensor v, Tensor att, Tensor out, boolean causal,
                        int b, int t, int c, int nh) {
        Heads h = new Heads(k, t, c, nh);
        for (int s = 0; s < b; s++) {
            for (int r = 0; r < h.group; r++) {
                // preatt = q·kᵀ per head: [T, hs]·[hs, T]
                l.matmulBatched(false, true, h.kvh, t, t, h.hs, 1f, h.query(q, s, r), c, h.queryStride, h.keyValue(k, s), h.ck,
                        h.hs, 0f, h.scores(att, s, r), t, h.scoreStride);
            }
        }
        nn.softmaxForward(att, att, (float) (1.0 / Math.sqrt(h.hs)), causal);
        for (int s = 0; s < b; s++) {
            for (int r = 0; r < h.group; r++) {
                // out = att·v per head, heads side by side in out
                l.matmulBatched(false, false, h.kvh, t, h.hs, t, 1f, h.scores(att, s, r), t, h.scoreStride, h.keyValue(v, s),
                        h.ck, h.hs, 0f, h.query(out, s, r), c, h.queryStride);
            }
        }
    }

    /**
     * datt = dout·vᵀ, dv += attᵀ·dout, dpre = softmax backward (into datt), dq += dpre·k,
     * dk += dpreᵀ·q; all per head as strided batched matmuls.
     */
    static void backward(NnOps nn, LinalgOps l, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor att, Tensor datt,
                         Tensor dq, Tensor dk, Tensor dv, int b, int t, int c, int nh) {
        Heads h = new Heads(k, t, c, nh);
        for (int s = 0; s < b; s++) {
            for (int r = 0; r < h.group; r++) {
                Tensor a = h.scores(att, s, r);
                Tensor da = h.scores(datt, s, r);
                Tensor go = h.query(dout, s, r);
                l.matmulBatched(false, true, h.kvh, t, t, h.hs, 1f, go, c, h.queryStride, h.keyValue(v, s), h.ck, h.hs, 0f, da,
                        t, h.scoreStride);
                l.matmulBatched(true, false, h.kvh, t, h.hs, t, 1f, a, t, h.scoreStride, go, c, h.queryStride, 1f,
                        h.keyValue(dv, s), h.ck, h.hs);
            }
        }
        nn.softmaxBackward(att, datt, datt, (float) (1.0 / Math.sqrt(h.hs)));
        for (int s = 0; s < b; s++) {
            for (int r = 0; r < h.group; r++) {
                Tensor da = h.scores(datt, s, r);
                l.matmulBatched(false, false, h.kvh, t, h.hs, t, 1f, da, t, h.scoreStride, h.keyValue(k, s), h.ck, h.hs, 1f,
                        h.query(dq, s, r), c, h.queryStride);
                l.matmulBatched(true, false, h.kvh, t, h.hs, t, 1f, da, t, h.scoreStride, h.query(q, s, r), c, h.queryStride,
                        1f, h.keyValue(dk, s), h.ck, h.hs);
            }
        }
    }

    /** The head geometry of one call and the views of sequence s that its batched matmuls take. */
    private static final class Heads {
        final int t;
        final int c;
        final int nh;
        final int hs;
        /** k's and v's width, KVH·hs. */
        final int ck;
        final int kvh;
        /** Query heads per KV head, G. */
        final int group;
        final long tt;
        final int queryStride;
        final long scoreStride;

        Heads(Tensor k, int t, int c, int nh) {
            this.t = t;
            this.c = c;
            this.nh = nh;
            this.hs = c / nh;
            this.ck = k.shape()[2];
            this.kvh = ck / hs;
            this.group = nh / kvh;
            this.tt = (long) t * t;
            this.queryStride = group * hs;
            this.scoreStride = group * tt;
        }

        /** Sequence s of a [B, T, C] tensor from query head r on (heads r, G + r, … at a stride of G·hs). */
        Tensor query(Tensor x, int s, int r) {
            long seq = (long) t * c;
            return x.view(s * seq + (long) r * hs, (int) (seq - (long) r * hs));
        }

        /** Sequence s of a [B, T, KVH·hs] tensor. */
        Tensor keyValue(Tensor x, int s) {
            long seq = (long) t * ck;
            return x.view(s * seq, (int) seq);
        }

        /** The [T, T] score matrices of sequence s from query head r on (at a stride of G·T²). */
        Tensor scores(Tensor a, int s, int r) {
            long per = nh * tt;
            return a.view(s * per + r * tt, (int) (per - r * tt));
        }
    }
}
