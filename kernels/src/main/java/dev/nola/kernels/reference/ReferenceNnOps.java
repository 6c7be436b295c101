package dev.nola.kernels.reference;

import static dev.nola.kernels.host.HostTensor.at;
import static dev.nola.kernels.host.HostTensor.floats;
import static dev.nola.kernels.host.HostTensor.ints;

import dev.nola.kernels.AbstractNnOps;
import dev.nola.kernels.BFloat16;
import dev.nola.kernels.DType;
import dev.nola.kernels.Device;
import dev.nola.kernels.Tensor;
import dev.nola.kernels.host.HostTensor;

/**
 * The oracle of the nn family: plain loops in the order of the definitions, every sum and every
 * transcendental in double, stored as float32. RoPE is the exception: its contract specifies float32
 * operations in a fixed order, so the oracle performs exactly those. Attention is written out
 * directly, grouped-query heads included (each KV head's gradient gathers its query heads' sums in
 * double), around this class's softmax, rounding to float32 where the default composition of the
 * reference linalg family rounds: with as many KV heads as query heads it gives that composition's
 * bits, and with fewer it is an oracle independent of the composition's strides.
 */
public final class ReferenceNnOps extends AbstractNnOps {

    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    public ReferenceNnOps(Device device) {
        super(device);
    }

    @Override
    protected void doEncoderForward(Tensor ids, Tensor wte, Tensor wpe, Tensor out, int n, int t, int c) {
        int[] id = ints(ids);
        float[] o = floats(out);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                double v = 0;
                if (wte != null) {
                    int e = at(wte) + id[at(ids) + i] * c + j;
                    v += wte.dtype() == DType.BF16 ? BFloat16.widen(HostTensor.halves(wte)[e]) : floats(wte)[e];
                }
                if (wpe != null) {
                    v += floats(wpe)[at(wpe) + (i % t) * c + j];
                }
                o[at(out) + i * c + j] = (float) v;
            }
        }
    }

    @Override
    protected void doEncoderBackward(Tensor ids, Tensor dout, Tensor dwte, Tensor dwpe, int n, int t, int c) {
        int[] id = ints(ids);
        float[] g = floats(dout);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                float d = g[at(dout) + i * c + j];
                if (dwte != null) {
                    floats(dwte)[at(dwte) + id[at(ids) + i] * c + j] += d;
                }
                if (dwpe != null) {
                    floats(dwpe)[at(dwpe) + (i % t) * c + j] += d;
                }
            }
        }
    }

    @Override
    protected void doLayerNormForward(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean,
                                      Tensor rstd, int n, int c) {
        float[] xv = floats(x);
        float[] w = floats(weight);
        float[] b = floats(bias);
        float[] o = floats(out);
        for (int i = 0; i < n; i++) {
            int row = at(x) + i * c;
            double m = 0;
            for (int j = 0; j < c; j++) {
                m += xv[row + j];
            }
            m /= c;
            double var = 0;
            for (int j = 0; j < c; j++) {
                double d = xv[row + j] - m;
                var += d * d;
            }
            var /= c;
            double s = 1.0 / Math.sqrt(var + eps);
            for (int j = 0; j < c; j++) {
                o[at(out) + i * c + j] = (float) ((xv[row + j] - m) * s * w[at(weight) + j] + b[at(bias) + j]);
            }
            floats(mean)[at(mean) + i] = (float) m;
            floats(rstd)[at(rstd) + i] = (float) s;
        }
    }

    @Override
    protected void doLayerNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                       Tensor dx, Tensor dweight, Tensor dbias, int n, int c) {
        float[] g = floats(dout);
        float[] xv = floats(x);
        float[] w = floats(weight);
        float[] dxv = floats(dx);
        // dweight and dbias are sums over the N rows: kept in double and added once, like every other reduction here
        double[] dw = dweight == null ? null : new double[c];
        double[] db = dbias == null ? null : new double[c];
        for (int i = 0; i < n; i++) {
            double m = floats(mean)[at(mean) + i];
            double s = floats(rstd)[at(rstd) + i];
            // dnorm = dout·w; dx = s·(dnorm − mean(dnorm) − norm·mean(dnorm·norm))
            double meanD = 0;
            double meanDN = 0;
            for (int j = 0; j < c; j++) {
                double norm = (xv[at(x) + i * c + j] - m) * s;
                double dn = (double) g[at(dout) + i * c + j] * w[at(weight) + j];
                meanD += dn;
                meanDN += dn * norm;
            }
            meanD /= c;
            meanDN /= c;
            for (int j = 0; j < c; j++) {
                double norm = (xv[at(x) + i * c + j] - m) * s;
                double gj = g[at(dout) + i * c + j];
                double dn = gj * w[at(weight) + j];
                int k = at(dx) + i * c + j;
                dxv[k] = (float) (dxv[k] + s * (dn - meanD - norm * meanDN));
                if (dw != null) {
                    dw[j] += gj * norm;
                }
                if (db != null) {
                    db[j] += gj;
                }
            }
        }
        for (int j = 0; j < c; j++) {
            if (dw != null) {
                floats(dweight)[at(dweight) + j] = (float) (floats(dweight)[at(dweight) + j] + dw[j]);
            }
            if (db != null) {
                floats(dbias)[at(dbias) + j] = (float) (floats(dbias)[at(dbias) + j] + db[j]);
            }
        }
    }

    /** gelu(x) and gelu'(x) in double. */
    static double gelu(Gelu kind, double x) {
        if (kind == Gelu.TANH) {
            return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
        }
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    static double geluGrad(Gelu kind, double x) {
        if (kind == Gelu.TANH) {
            double u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
            double th = Math.tanh(u);
            double du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
            return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du;
        }
        return 0.5 * (1 + erf(x / Math.sqrt(2))) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    }

    /**
     * erf in double to about 1e-15 relative: the Maclaurin series for |x| &lt; 2.5, else the continued
     * fraction of erfc (both converge fast there).
     */
    static double erf(double x) {
        double a = Math.abs(x);
        double r;
        if (a < 2.5) {
            double term = a;
            double sum = a;
            double x2 = a * a;
            for (int k = 1; k < 200; k++) {
                term *= -x2 / k;
                double add = term / (2 * k + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            // erfc(a) = exp(-a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...))))
            double f = a;
            for (int k = 60; k >= 1; k--) {
                f = a + (k / 2.0) / f;
            }
            r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }

    @Override
    protected void doGeluForward(Gelu kind, Tensor x, Tensor out, long n) {
        float[] xv = floats(x);
        float[] o = floats(out);
        for (int i = 0; i < n; i++) {
            o[at(out) + i] = (float) gelu(kind, xv[at(x) + i]);
        }
    }

    @Override
    protected void doGeluBackward(Gelu kind, Tensor x, Tensor dout, Tensor dx, long n) {
        float[] xv = floats(x);
        float[] g = floats(dout);
        float[] d = floats(dx);
        for (int i = 0; i < n; i++) {
            d[at(dx) + i] = (float) (d[at(dx) + i] + geluGrad(kind, xv[at(x) + i]) * g[at(dout) + i]);
        }
    }

    @Override
    protected void doBiasForward(Tensor x, Tensor bias, int n, int c) {
        float[] xv = floats(x);
        float[] b = floats(bias);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                xv[at(x) + i * c + j] += b[at(bias) + j];
            }
        }
    }

    @Override
    protected void doBiasBackward(Tensor dout, Tensor dbias, int n, int c) {
        float[] g = floats(dout);
        float[] d = floats(dbias);
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                s += g[at(dout) + i * c + j];
            }
            d[at(dbias) + j] = (float) (d[at(dbias) + j] + s);
        }
    }

    @Override
    protected void doResidualForward(Tensor a, Tensor b, Tensor out, long n) {
        float[] av = floats(a);
        float[] bv = floats(b);
        float[] o = floats(out);
        for (int i = 0; i < n; i++) {
            o[at(out) + i] = av[at(a) + i] + bv[at(b) + i];
        }
    }

    @Override
    protected void doSoftmaxForward(Tensor x, Tensor out, float scale, boolean causal, int rows, int l) {
        float[] xv = floats(x);
        float[] o = floats(out);
        double[] e = new double[l];
        for (int r = 0; r < rows; r++) {
            int last = causal ? r % l : l - 1;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j <= last; j++) {
                max = Math.max(max, (double) scale * xv[at(x) + r * l + j]);
            }
            double sum = 0;
            for (int j = 0; j <= last; j++) {
                e[j] = Math.exp((double) scale * xv[at(x) + r * l + j] - max);
                sum += e[j];
            }
            for (int j = 0; j < l; j++) {
                o[at(out) + r * l + j] = j <= last ? (float) (e[j] / sum) : 0f;
            }
        }
    }

    @Override
    protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx, float scale, int rows, int l) {
        float[] yv = floats(y);
        float[] g = floats(dy);
        float[] d = floats(dx);
        for (int r = 0; r < rows; r++) {
            double dot = 0;
            for (int j = 0; j < l; j++) {
                dot += (double) yv[at(y) + r * l + j] * g[at(dy) + r * l + j];
            }
            for (int j = 0; j < l; j++) {
                double yj = yv[at(y) + r * l + j];
                d[at(dx) + r * l + j] = (float) (scale * yj * (g[at(dy) + r * l + j] - dot));
            }
        }
    }

    @Override
    protected void doCrossEntropyForward(Tensor logits, Tensor targets, Tensor losses, float labelSmoothing,
                                         int ignoreIndex, int n, int v) {
        float[] x = floats(logits);
        int[] t = ints(targets);
        float[] o = floats(losses);
        for (int i = 0; i < n; i++) {
            int target = t[at(targets) + i];
            if (target == ignoreIndex) {
                o[at(losses) + i] = 0f;
                continue;
            }
            int row = at(logits) + i * v;
            double max = Double.NEGATIVE_INFINITY;
            double mean = 0;
            for (int j = 0; j < v; j++) {
                max = Math.max(max, x[row + j]);
                mean += x[row + j];
            }
            mean /= v;
            double sum = 0;
            for (int j = 0; j < v; j++) {
                sum += Math.exp(x[row + j] - max);
            }
            double lse = max + Math.log(sum);
            o[at(losses) + i] = (float) (lse - (1 - (double) labelSmoothing) * x[row + target] - labelSmoothing * mean);
        }
    }

    @Override
    protected void doCrossEntropyBackward(Tensor logits, Tensor targets, Tensor dlogits, float labelSmoothing,
                                          int ignoreIndex, float lossGradient, int n, int v) {
        float[] x = floats(logits);
        int[] t = ints(targets);
        float[] d = floats(dlogits);
        double[] p = new double[v];
        for (int i = 0; i < n; i++) {
            int target = t[at(targets) + i];
            int row = at(logits) + i * v;
            int drow = at(dlogits) + i * v;
            if (target == ignoreIndex) {
                java.util.Arrays.fill(d, drow, drow + v, 0f);
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) {
                max = Math.max(max, x[row + j]);
            }
            double sum = 0;
            for (int j = 0; j < v; j++) {
                p[j] = Math.exp(x[row + j] - max);
                sum += p[j];
            }
            double off = labelSmoothing / (double) v;
            for (int j = 0; j < v; j++) {
                double q = off + (j == target ? 1 - (double) labelSmoothing : 0);
                d[drow + j] = (float) (lossGradient * (p[j] / sum - q));
            }
        }
    }

    @Override
    protected void doPoolForward(Pool kind, Tensor x, Tensor out, int b, int t, int c) {
        float[] xv = floats(x);
        float[] o = floats(out);
        for (int s = 0; s < b; s++) {
            for (int j = 0; j < c; j++) {
                double v;
                if (kind == Pool.FIRST) {
                    v = xv[at(x) + s * t * c + j];
                } else {
                    v = 0;
                    for (int i = 0; i < t; i++) {
                        v += xv[at(x) + (s * t + i) * c + j];
                    }
                    v /= t;
                }
                o[at(out) + s * c + j] = (float) v;
            }
        }
    }

    @Override
    protected void doPoolBackward(Pool kind, Tensor dout, Tensor dx, int b, int t, int c) {
        float[] g = floats(dout);
        float[] d = floats(dx);
        for (int s = 0; s < b; s++) {
            for (int j = 0; j < c; j++) {
                double gj = g[at(dout) + s * c + j];
                if (kind == Pool.FIRST) {
                    d[at(dx) + s * t * c + j] += (float) gj;
                } else {
                    for (int i = 0; i < t; i++) {
                        d[at(dx) + (s * t + i) * c + j] += (float) (gj / t);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- attention

    /**
     * The fused attention's forward written plainly, one query row at a time in double: the scaled
     * scores of the visible keys, their maximum m, lse = m + log Σ exp(s − m), out = Σ exp(s − lse)·v.
     */
    @Override
    protected void doFusedAttentionForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, boolean causal, int b,
                                           int t, int c, int nh) {
        int hs = c / nh;
        int ck = k.shape()[2];
        int group = nh / (ck / hs);
        double scale = 1.0 / Math.sqrt(hs);
        float[] qv = floats(q);
        float[] kv = floats(k);
        float[] vv = floats(v);
        float[] o = floats(out);
        float[] l = floats(lse);
        double[] s = new double[t];
        for (int bb = 0; bb < b; bb++) {
            for (int h = 0; h < nh; h++) {
                int kh = at(k) + bb * t * ck + h / group * hs;
                int vh = at(v) + bb * t * ck + h / group * hs;
                for (int i = 0; i < t; i++) {
                    int qi = at(q) + (bb * t + i) * c + h * hs;
                    int len = causal ? i + 1 : t;
                    double m = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < len; j++) {
                        double acc = 0;
                        for (int d = 0; d < hs; d++) {
                            acc += (double) qv[qi + d] * kv[kh + j * ck + d];
                        }
                        s[j] = scale * acc;
                        m = Math.max(m, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < len; j++) {
                        sum += Math.exp(s[j] - m);
                    }
                    double lsei = m + Math.log(sum);
                    l[at(lse) + (bb * nh + h) * t + i] = (float) lsei;
                    int oi = at(out) + (bb * t + i) * c + h * hs;
                    for (int d = 0; d < hs; d++) {
                        double acc = 0;
                        for (int j = 0; j < len; j++) {
                            acc += Math.exp(s[j] - lsei) * vv[vh + j * ck + d];
                        }
                        o[oi + d] = (float) acc;
                    }
                }
            }
        }
    }

    /**
     * The fused attention's backward written plainly, one query row at a time in double: p = exp(s −
     * lse), dp_j = dout_i·v_j, D = dout_i·out_i, ds = p·(dp − D); dq_i += scale·Σ ds·k, and each visible
     * key's dk_j += scale·ds_j·q_i and dv_j += p_j·dout_i, gathered in double before one rounding.
     */
    @Override
    protected void doFusedAttentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dq,
                                            Tensor dk, Tensor dv, boolean causal, int b, int t, int c, int nh) {
        int hs = c / nh;
        int ck = k.shape()[2];
        int group = nh / (ck / hs);
        double scale = 1.0 / Math.sqrt(hs);
        float[] g = floats(dout);
        float[] qv = floats(q);
        float[] kv = floats(k);
        float[] vv = floats(v);
        float[] o = floats(out);
        float[] l = floats(lse);
        float[] dqv = floats(dq);
        float[] dkv = floats(dk);
        float[] dvv = floats(dv);
        double[] dkAcc = new double[b * t * ck];
        double[] dvAcc = new double[b * t * ck];
        for (int bb = 0; bb < b; bb++) {
            for (int h = 0; h < nh; h++) {
                int kvOff = bb * t * ck + h / group * hs;
                for (int i = 0; i < t; i++) {
                    int row = (bb * t + i) * c + h * hs;
                    int len = causal ? i + 1 : t;
                    double lsei = l[at(lse) + (bb * nh + h) * t + i];
                    double rowTerm = 0;
                    for (int d = 0; d < hs; d++) {
                        rowTerm += (double) g[at(dout) + row + d] * o[at(out) + row + d];
                    }
                    double[] dqi = new double[hs];
                    for (int j = 0; j < len; j++) {
                        double sc = 0;
                        double dp = 0;
                        for (int d = 0; d < hs; d++) {
                            sc += (double) qv[at(q) + row + d] * kv[at(k) + kvOff + j * ck + d];
                            dp += (double) g[at(dout) + row + d] * vv[at(v) + kvOff + j * ck + d];
                        }
                        double p = Math.exp(scale * sc - lsei);
                        double ds = p * (dp - rowTerm);
                        for (int d = 0; d < hs; d++) {
                            dqi[d] += scale * ds * kv[at(k) + kvOff + j * ck + d];
                            dkAcc[kvOff + j * ck + d] += scale * ds * qv[at(q) + row + d];
                            dvAcc[kvOff + j * ck + d] += p * g[at(dout) + row + d];
                        }
                    }
                    for (int d = 0; d < hs; d++) {
                        int e = at(dq) + row + d;
                        dqv[e] = (float) (dqi[d] + dqv[e]);
                    }
                }
            }
        }
        for (int e = 0; e < dkAcc.length; e++) {
            dkv[at(dk) + e] = (float) (dkAcc[e] + dkv[at(dk) + e]);
            dvv[at(dv) + e] = (float) (dvAcc[e] + dvv[at(dv) + e]);
        }
    }

    // ---------------------------------------------------------------- RMSNorm, RoPE, SwiGLU

    @Override
    protected void doRmsNormForward(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd, int n, int c) {
        float[] xv = floats(x);
        float[] w = floats(weight);
        float[] o = floats(out);
        for (int i = 0; i < n; i++) {
            int row = at(x) + i * c;
            double ss = 0;
            for (int j = 0; j < c; j++) {
                ss += (double) xv[row + j] * xv[row + j];
            }
            double s = 1.0 / Math.sqrt(ss / c + eps);
            for (int j = 0; j < c; j++) {
                o[at(out) + i * c + j] = (float) (xv[row + j] * s * w[at(weight) + j]);
            }
            floats(rstd)[at(rstd) + i] = (float) s;
        }
    }

    @Override
    protected void doRmsNormBackward(Tensor dout, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dweight, int n,
                                     int c) {
        float[] g = floats(dout);
        float[] xv = floats(x);
        float[] w = floats(weight);
        float[] dxv = floats(dx);
        double[] dw = dweight == null ? null : new double[c];
        for (int i = 0; i < n; i++) {
            double s = floats(rstd)[at(rstd) + i];
            // dn = dout·w, norm = x·rstd; dx = rstd·(dn − norm·mean(dn·norm))
            double meanDN = 0;
            for (int j = 0; j < c; j++) {
                meanDN += (double) g[at(dout) + i * c + j] * w[at(weight) + j] * xv[at(x) + i * c + j] * s;
            }
            meanDN /= c;
            for (int j = 0; j < c; j++) {
                double gj = g[at(dout) + i * c + j];
                double norm = xv[at(x) + i * c + j] * s;
                int e = at(dx) + i * c + j;
                dxv[e] = (float) (dxv[e] + s * (gj * w[at(weight) + j] - norm * meanDN));
                if (dw != null) {
                    dw[j] += gj * norm;
                }
            }
        }
        for (int j = 0; dw != null && j < c; j++) {
            floats(dweight)[at(dweight) + j] = (float) (floats(dweight)[at(dweight) + j] + dw[j]);
        }
    }

    /** In float32, in the order the contract specifies: each product rounded, then one subtraction or addition. */
    @Override
    protected void doRope(Tensor in, Tensor cos, Tensor sin, Tensor out, boolean transpose, int rows, int t, int w,
                          int headDim, int pos0) {
        float[] x = floats(in);
        float[] o = floats(out);
        float[] cv = floats(cos);
        float[] sv = floats(sin);
        int half = headDim / 2;
        for (int r = 0; r < rows; r++) {
            int p = pos0 + r % t;
            for (int head = 0; head < w / headDim; head++) {
                int xi = at(in) + r * w + head * headDim;
                int oi = at(out) + r * w + head * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cv[at(cos) + p * half + i];
                    float s = transpose ? -sv[at(sin) + p * half + i] : sv[at(sin) + p * half + i];
                    float a = x[xi + i];
                    float b = x[xi + i + half];
                    o[oi + i] = a * c - b * s;
                    o[oi + i + half] = b * c + a * s;
                }
            }
        }
    }

    /** σ(x) in double without overflow. */
    static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    @Override
    protected void doSwigluForward(Tensor gate, Tensor up, Tensor out, long n) {
        float[] gv = floats(gate);
        float[] uv = floats(up);
        float[] o = floats(out);
        for (int i = 0; i < n; i++) {
            double g = gv[at(gate) + i];
            double u = uv[at(up) + i];
            o[at(out) + i] = (float) (g * sigmoid(g) * u);
        }
    }

    @Override
    protected void doSwigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup, long n) {
        float[] gv = floats(gate);
        float[] uv = floats(up);
        float[] d = floats(dout);
        float[] dg = floats(dgate);
        float[] du = floats(dup);
        for (int i = 0; i < n; i++) {
            double g = gv[at(gate) + i];
            double sg = sigmoid(g);
            double go = d[at(dout) + i];
            dg[at(dgate) + i] = (float) (dg[at(dgate) + i] + go * uv[at(up) + i] * sg * (1 + g * (1 - sg)));
            du[at(dup) + i] = (float) (du[at(dup) + i] + go * g * sg);
        }
    }
}
