package dev.nola.kernels;

import static dev.nola.kernels.Checks.finite;
import static dev.nola.kernels.Checks.matrix;
import static dev.nola.kernels.Checks.noOverlap;

/**
 * The checking layer of {@link AdapterOps}. The kernels default to a composition of four matmuls of
 * the device's {@link LinalgOps}, so a backend is correct before it has fused adapter kernels; a
 * backend may override them.
 */
public abstract class AbstractAdapterOps extends AbstractFamilyOps implements AdapterOps {

    protected AbstractAdapterOps(Device device) {
        super(device);
    }

    @Override
    public final void forward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor y) {
        finite("scale", scale);
        open();
        int[] dims = dims(x, a, b, h);
        on("y", y);
        matrix("y", y, dims[0], dims[3], "tokens by out = rows of b");
        noOverlap("y", y, "x", x);
        noOverlap("y", y, "a", a);
        noOverlap("y", y, "b", b);
        noOverlap("h", h, "x", x);
        noOverlap("h", h, "a", a);
        noOverlap("h", h, "y", y);
        doForward(x, a, b, scale, h, y, dims[0], dims[1], dims[2], dims[3]);
    }

    @Override
    public final void backward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor dy,
                               Tensor dh, Tensor dx, Tensor da, Tensor db) {
        finite("scale", scale);
        open();
        int[] d = dims(x, a, b, h);
        int tokens = d[0];
        int in = d[1];
        int r = d[2];
        int out = d[3];
        on("dy", dy);
        on("dh", dh);
        on("da", da);
        on("db", db);
        matrix("dy", dy, tokens, out, "tokens by out");
        matrix("dh", dh, tokens, r, "tokens by rank");
        matrix("da", da, r, in, "the shape of a");
        matrix("db", db, out, r, "the shape of b");
        if (dx != null) {
            on("dx", dx);
            matrix("dx", dx, tokens, in, "the shape of x");
        }
        Tensor[] outputs = {dh, dx, da, db};
        String[] outNames = {"dh", "dx", "da", "db"};
        Tensor[] inputs = {x, a, b, h, dy};
        String[] inNames = {"x", "a", "b", "h", "dy"};
        Checks.outputsApart(outNames, outputs, inNames, inputs);
        doBackward(x, a, b, scale, h, dy, dh, dx, da, db, tokens, in, r, out);
    }

    /** Returns {tokens, in, r, out} after checking x [N,in], a [r,in], b [out,r], h [N,r]. */
    private int[] dims(Tensor x, Tensor a, Tensor b, Tensor h) {
        on("x", x);
        on("a", a);
        on("b", b);
        on("h", h);
        int[] xs = matrix("x", x);
        int[] as = matrix("a", a);
        int[] bs = matrix("b", b);
        int tokens = xs[0];
        int in = xs[1];
        int r = as[0];
        if (as[1] != in) {
            throw new IllegalArgumentException("a has shape [" + as[0] + ", " + as[1] + "], expected [r, " + in
                    + "] (columns = x's columns)");
        }
        if (bs[1] != r) {
            throw new IllegalArgumentException("b has shape [" + bs[0] + ", " + bs[1] + "], expected [out, " + r
                    + "] (columns = a's rows, the rank)");
        }
        matrix("h", h, tokens, r, "tokens by rank");
        return new int[] {tokens, in, r, bs[0]};
    }

    /** h = x·aᵀ; y += s·h·bᵀ (default: two matmuls). */
    protected void doForward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor y,
                             int tokens, int in, int r, int out) {
        LinalgOps l = device.linalg();
        l.matmul(false, true, 1f, x, a, 0f, h);
        l.matmul(false, true, scale, h, b, 1f, y);
    }

    /** db = s·dyᵀ·h; dh = s·dy·b; da = dhᵀ·x; dx += dh·a, dx may be null (default: four matmuls). */
    protected void doBackward(Tensor x, Tensor a, Tensor b, float scale, Tensor h, Tensor dy,
                              Tensor dh, Tensor dx, Tensor da, Tensor db, int tokens, int in, int r, int out) {
        LinalgOps l = device.linalg();
        l.matmul(true, false, scale, dy, h, 0f, db);
        l.matmul(false, false, scale, dy, b, 0f, dh);
        l.matmul(true, false, 1f, dh, x, 0f, da);
        if (dx != null) {
            l.matmul(false, false, 1f, dh, a, 1f, dx);
        }
    }
}
