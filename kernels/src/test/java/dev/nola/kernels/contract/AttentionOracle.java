package dev.nola.kernels.contract;

/**
 * Attention written plainly in double by the tests, independent of every backend (the reference's
 * included): the probabilities, the output and the gradients of q, k and v, with the grouped-query
 * heads, scale 1/√hs and causal mask of {@code NnOps}' attention. q, out, dout, dq: [B, T, C], head h
 * in columns h·hs ..; k, v, dk, dv: [B, T, CK], KV head h / (NH / KVH) in columns g·hs ..
 *
 * @param p   the probabilities [B, NH, T, T], masked entries 0 (what the bounds of {@link NnRuns} read)
 * @param out the output [B, T, C]
 * @param dq  the start of dq plus its gradient, [B, T, C]
 * @param dk  the start of dk plus its gradient, [B, T, CK]
 * @param dv  the start of dv plus its gradient, [B, T, CK]
 */
record AttentionOracle(float[] p, float[] out, float[] dq, float[] dk, float[] dv) {

    /** Forward and backward of one call; the starts are copied, not changed. */
    static AttentionOracle of(float[] q, float[] k, float[] v, float[] dout, float[] dq0, float[] dk0, float[] dv0, int b,
                              int t, int c, int nh, int kvh, boolean causal) {
        int hs = c / nh;
        int ck = kvh * hs;
        int group = nh / kvh;
        double scale = 1 / Math.sqrt(hs);
        float[] p = new float[b * nh * t * t];
        float[] out = new float[b * t * c];
        double[] dq = toDoubles(dq0);
        double[] dk = toDoubles(dk0);
        double[] dv = toDoubles(dv0);
        double[] row = new double[t];
        double[] o = new double[hs];
        for (int bb = 0; bb < b; bb++) {
            for (int h = 0; h < nh; h++) {
                int kv = h / group * hs;
                for (int i = 0; i < t; i++) {
                    int qi = (bb * t + i) * c + h * hs;
                    int len = causal ? i + 1 : t;
                    double m = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < len; j++) {
                        double s = 0;
                        for (int d = 0; d < hs; d++) {
                            s += (double) q[qi + d] * k[(bb * t + j) * ck + kv + d];
                        }
                        row[j] = scale * s;
                        m = Math.max(m, row[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < len; j++) {
                        row[j] = Math.exp(row[j] - m);
                        sum += row[j];
                    }
                    java.util.Arrays.fill(o, 0);
                    for (int j = 0; j < len; j++) {
                        row[j] /= sum;
                        p[((bb * nh + h) * t + i) * t + j] = (float) row[j];
                        for (int d = 0; d < hs; d++) {
                            o[d] += row[j] * v[(bb * t + j) * ck + kv + d];
                        }
                    }
                    // the softmax backward's row term D_i = Σ_j p_ij·(dout_i·v_j) = dout_i·out_i
                    double rowTerm = 0;
                    for (int d = 0; d < hs; d++) {
                        out[qi + d] = (float) o[d];
                        rowTerm += dout[qi + d] * o[d];
                    }
                    for (int j = 0; j < len; j++) {
                        int kj = (bb * t + j) * ck + kv;
                        double dp = 0;
                        for (int d = 0; d < hs; d++) {
                            dp += (double) dout[qi + d] * v[kj + d];
                        }
                        double ds = scale * row[j] * (dp - rowTerm);
                        for (int d = 0; d < hs; d++) {
                            dq[qi + d] += ds * k[kj + d];
                            dk[kj + d] += ds * q[qi + d];
                            dv[kj + d] += row[j] * dout[qi + d];
                        }
                    }
                }
            }
        }
        return new AttentionOracle(p, out, toFloats(dq), toFloats(dk), toFloats(dv));
    }

    private static double[] toDoubles(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    private static float[] toFloats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }
}
