package dev.nola.kernels.tornado;

import static dev.nola.kernels.tornado.Lanes.fma16;
import static dev.nola.kernels.tornado.Lanes.fmaSplat16;
import static dev.nola.kernels.tornado.Lanes.sum16;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.vectors.Float16;

/**
 * The sgemm kernels of CPU devices, in {@link Float16} registers (OpenCL {@code float16}: PoCL
 * vectorises explicit vector types as written, so float16 code runs in 512-bit registers on AVX-512
 * and float8 code in 256-bit ones, about half the peak). Two shapes, as the OpenCL backend's CPU
 * layout:
 * <ul>
 * <li>{@link #matmulPanel}: op(B) in column panels of {@value #PANEL} (packed by {@link #packPanels},
 * 64-byte aligned, or a float32 B that is not transposed, n a multiple of {@value #PANEL}, read in
 * place: its rows are the panels' rows already), each work-item {@value #ROW_GROUP} row blocks of
 * {@value #PANEL_ROWS} x {@value #PANEL} of C in turn, as 24 float16 accumulators, over k in one pass
 * up to {@value #SLICE_ABOVE}, else in slices of about {@value #SLICE} so that a slice of the panel
 * stays in L2 while the row blocks reuse it, and then {@value #ROW_GROUP_SLICED} row blocks per
 * work-item.</li>
 * <li>{@link #matmulDots}: row-major A by Bᵀ of a large B (the LM head), both read in place along k,
 * each work-item a {@value #DOTS_ROWS} x {@value #DOTS_COLS} block of C as 18 float16 dot-product
 * sums, added across lanes at the end.</li>
 * </ul>
 * Each step is one 512-bit fma per accumulator ({@link Lanes#fmaSplat16}, {@link Lanes#fma16}):
 * {@code Float16} has no fma and TornadoVM fuses only scalar float multiply-adds ({@code OCLFMAPhase}),
 * so the helpers build each float16 lane by lane from scalar multiply-adds, which TornadoVM writes as
 * sixteen scalar {@code fma} and PoCL's LLVM packs into one {@code vfmadd231ps} on zmm registers. One
 * rounding per multiply-add instead of two, within the contract's tolerance.
 *
 * <p><b>The blocks</b> (read from PoCL's kernel cache with {@code objdump -d}: {@code POCL_CACHE_DIR=dir},
 * then {@code dir/…/matmulPanel/…/matmulPanel.so}; the loop that runs is in
 * {@code _pocl_kernel_matmulPanel_workgroup}, the plain {@code _pocl_kernel_matmulPanel} is not called).
 * Without a product register the OpenCL backend's 6 x 64 fits: 24 accumulators, 4 rows of the panel and
 * the broadcast values of A, the loop 53 instructions per step (24 fma, 6 broadcasts, 4 loads, 2 reloads
 * of an index from the stack), against 45 for 20 fma at 5 x 64; its CPU time was the same or lower on
 * 512 x 768 x 768 (B and Bᵀ) and the LM head's dx (medians of 21, alternated in one JVM). The dots
 * kernel stays at 3 x 6: 31 instructions per step, 18 fma, nothing on the stack; the OpenCL backend's
 * 4 x 6 spills here (84 instructions, 24 stack accesses for 24 fma), as TornadoVM emits all ten loads
 * of a step before its arithmetic (24 + 6 + 4 = 34 registers of 32), and so does 4 x 5 (60 instructions,
 * 15 stack accesses for 20 fma). 3 x 6 keeps the kernel's six rows of B per work-item, so A is read
 * from L2 as often as before.
 *
 * <p><b>Before the fma</b> (stops 32–33) each multiply-add was a {@code Float16.mult} and a
 * {@code Float16.add}, 40 {@code vmulps}/{@code vaddps} per step of a 5 x 64 block (65–69 instructions;
 * 6 x 64 then needed 35 registers and spilled, 121 instructions), and the tornado sgemm took 1.3–1.7x
 * opencl's CPU time per product. The fma brought the captured products' CPU time (process CPU time,
 * median of 11, old and new kernels and opencl:0:0 alternated in one JVM, stop 34; in parentheses the
 * ratio to opencl before → after) from 76 to 62 ms at 512 x 768 x 768 (8 per capture; 1.49 → 1.21x),
 * 82 to 65 with Bᵀ (1.46 → 1.15x), 82 to 71 at 512 x 3072 x 768 (2; 1.36 → 1.17x), 77 to 63 at
 * 512 x 768 x 3072 (2; 1.41 → 1.16x) and 204 to 161 for the LM head's dx, 128 x 768 x 50,257
 * (1.78 → 1.40x); its logits, 128 x 50,257 x 768 Bᵀ in {@link #matmulDots}, stayed at 140 / 139 ms
 * (1.27x; 159 → 147 in a noisier run of 9), though its loop went from 49 to 31 instructions.
 *
 * <p><b>The row groups.</b> With k in slices every work-item streams its whole panel of B (the LM
 * head's dx: 50,257 x 64 floats, 12.9 MB, from memory, as B is 154 MB), so a panel is read once per group
 * of row blocks: at 8 blocks per group the dx's 22 blocks made three groups. {@value #ROW_GROUP_SLICED}
 * (one group up to m = 144) took its CPU time from 192 to 131 ms (opencl 118: 1.63 → 1.11x) and
 * 512 x 768 x 3072's from 62 to 59 ms (opencl 53: 1.16 → 1.10x; medians of 11, alternated in one JVM).
 * One-pass products keep 8: 24 left 512 x 768 x 768 and 512 x 3072 x 768 within the noise (61 → 64 and
 * 61 → 63 ms), and smaller groups leave more work-items for more cores.
 *
 * <p><b>Tried and not kept</b> (stop 32). Of the 5 x 64 loop's 69 instructions
 * per step, 11 compute A's five int indices (a 32-bit add and a sign extension each, and a stack
 * reload). With A packed by row blocks they are one index plus constants: 59 per step at 5 x 64, and
 * 6 x 64 then fits without a spill, 68 for 24 multiply-adds (2.8 per multiply-add against 3.45; the
 * OpenCL backend's fma loop 1.6). The GPT-2 materialised step was not faster (A/B on a loaded machine,
 * 2.37/2.08 s before, 2.45/2.04 s after), and its peak RSS rose 115–240 MB: each graph of a segment
 * holds its own scratch, and the in-place products needed one for A. {@code -cl-unsafe-math-optimizations}
 * does not bring the fma back either: clang marks the operations reassociable, not contractable, and
 * PoCL's work-group function keeps the multiply and the add apart (the same 69-instruction loop).
 * Stop 33, measured by the process's CPU time (every thread's {@code schedstat}) of a captured call,
 * tornado and opencl:0:0 alternated in one JVM: A packed by row blocks again (a {@code packRows} task,
 * the loop 55 instructions at 5 x 64) left 512 x 768 x 768 Bᵀ, 512 x 3072 x 768 and the LM head's dx
 * within the noise (1.3–1.7x opencl's CPU time either way): the instruction count is not what bounds
 * the loop (its 40 vector multiplies and adds per step, most likely, where opencl's has 24 fma); slices of 1024 or 2048 for the LM head's dx
 * instead of 512 did not change it either; {@code -cl-fast-relaxed-math} leaves the multiply and the
 * add apart too (the same 40 {@code vmulps}/{@code vaddps} per step), and sixteen scalar accumulators,
 * which TornadoVM writes as scalar {@code fma}, stay scalar (PoCL's LLVM does not pack them). What did
 * pay is alignment: see {@link TornadoArenas}.
 *
 * <p>Parameters: the sgemm layout of {@link LinalgKernels} ({@code ip[0..12]}), then for the panel
 * kernel {@link #P_PACKED} .. {@link #P_PANELS_AT} and the offsets from {@link #PANEL_PARAMS}; the dots
 * kernel reads the offsets of a, b, c from {@link LinalgKernels#MATMUL_PARAMS}.
 */
final class SgemmKernels {

    /** Columns of a panel of op(B) and of a panel work-item's block of C. */
    static final int PANEL = 64;
    /** Rows of C per work-item of {@link #matmulPanel}. */
    static final int PANEL_ROWS = 6;
    /** Rows and columns of C per work-item of {@link #matmulDots}. */
    static final int DOTS_ROWS = 3;
    static final int DOTS_COLS = 6;
    /** Row blocks per work-item of {@link #matmulPanel} when k runs in one pass. */
    static final int ROW_GROUP = 8;
    /**
     * Row blocks per work-item when k runs in slices ({@link #rowGroup}): every group streams the whole
     * panel, so fewer groups read B fewer times (see the class comment).
     */
    static final int ROW_GROUP_SLICED = 24;
    /**
     * Above this depth k runs in slices of about {@value #SLICE} (as the OpenCL backend's CPU sgemm): each
     * work-item runs its row blocks over one slice of the panel (64 x 512 floats, 128 KiB, in L2) before
     * the next, adding into C after the first. At or below it, one pass: C is written once.
     */
    static final int SLICE_ABOVE = 2560;
    static final int SLICE = 512;
    /** Packed floats per batch (ceil(n/64)·64·k). */
    static final int P_PACKED = 13;
    /** Floats between panel q and q + 1 of the panel source (packed: 64·k; in place: 64). */
    static final int P_PANEL_STRIDE = 14;
    /** Floats between rows p and p + 1 of a panel (packed: 64; in place: ldb). */
    static final int P_ROW_STRIDE = 15;
    /** Floats between the panel sources of batches z and z + 1 (packed: P_PACKED; in place: strideB). */
    static final int P_PANEL_BATCH = 16;
    /**
     * 1 when B is read in place. The offsets follow {@link #PANEL_PARAMS}: packed, of a, b, the panels
     * and c; in place (one slot later), of a, b and c, so that the panel source and c sit at the same
     * places either way (TornadoVM builds no kernel that indexes its int parameters by one of them).
     */
    static final int P_IN_PLACE = 17;
    /** Depth of a slice of k: k itself up to {@link #SLICE_ABOVE}, else about {@link #SLICE}. */
    static final int P_SLICE = 18;
    /**
     * Where the packed panels start in the scratch ({@link #PANELS_AT}; 0 in place), so that their rows are
     * 64-byte aligned and each float16 load of a row touches one cache line, not two.
     */
    static final int P_PANELS_AT = 19;
    /** Panel sgemm parameters before the operands' offsets. */
    static final int PANEL_PARAMS = 20;
    /**
     * Floats before the packed panels in the scratch: a TornadoVM array's elements start 16 bytes into its
     * buffer (which PoCL aligns to 128 bytes, its CL_DEVICE_MEM_BASE_ADDR_ALIGN), and 16 + 4·12 = 64.
     */
    static final int PANELS_AT = 12;

    private SgemmKernels() {
    }

    /**
     * op(B) of every batch packed into column panels of {@value #PANEL},
     * {@code packed[z·P + (q·k + p)·64 + j] = op(B)_z(p, 64q + j)}, zeros past n (P = ip[P_PACKED]), so
     * that {@link #matmulPanel} streams each panel in address order. One work-item per (z, q, p).
     * Global size batch·ceil(n/64)·k.
     */
    static void packPanels(KernelContext ctx, IntArray ip, FloatArray b, FloatArray packed) {
        int id = ctx.globalIdx;
        int n = ip.get(LinalgKernels.P_N);
        int k = ip.get(LinalgKernels.P_K);
        int perBatch = ((n + PANEL - 1) / PANEL) * k;
        if (id < ip.get(LinalgKernels.P_BATCH) * perBatch) {
            int z = id / perBatch;
            int r = id - z * perBatch;
            int q = r / k;
            int p = r - q * k;
            int sb1 = ip.get(LinalgKernels.P_SB1);
            int bp = ip.get(PANEL_PARAMS + 1) + z * ip.get(LinalgKernels.P_STRIDE_B) + p * ip.get(LinalgKernels.P_SB0);
            int dst = ip.get(PANEL_PARAMS + 2) + ip.get(P_PANELS_AT) + z * ip.get(P_PACKED) + r * PANEL;
            for (int j = 0; j < PANEL; j++) {
                int col = q * PANEL + j;
                float v = 0f;
                if (col < n) {
                    v = b.get(bp + col * sb1);
                }
                packed.set(dst + j, v);
            }
        }
    }

    /** Row blocks per work-item of {@link #matmulPanel}: {@value #ROW_GROUP_SLICED} when k runs in slices, else {@value #ROW_GROUP}. */
    static int rowGroup(int k, int slice) {
        int g = ROW_GROUP;
        if (slice < k) {
            g = ROW_GROUP_SLICED;
        }
        return g;
    }

    /**
     * C = alpha·op(A)·op(B) + beta·C, each work-item {@link #rowGroup} blocks of {@value #PANEL_ROWS} x
     * {@value #PANEL} of one panel, slice by slice of k: per step p four float16 loads of the panel's row
     * and six values of op(A), 24 vector fma; the first slice applies beta, later ones add
     * to C. Groups vary fastest, so neighbouring work-items share one panel in cache. Rows past m read
     * row m-1 and are not stored; columns past n are zeros in a packed panel and never stored.
     * Global size batch·ceil(n/64)·ceil(ceil(m/6)/8).
     */
    static void matmulPanel(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray a, FloatArray src, FloatArray c) {
        int id = ctx.globalIdx;
        int m = ip.get(LinalgKernels.P_M);
        int n = ip.get(LinalgKernels.P_N);
        int k = ip.get(LinalgKernels.P_K);
        int slice = ip.get(P_SLICE);
        int rowGroup = rowGroup(k, slice);
        int rowBlocks = (m + PANEL_ROWS - 1) / PANEL_ROWS;
        int groups = (rowBlocks + rowGroup - 1) / rowGroup;
        int perBatch = ((n + PANEL - 1) / PANEL) * groups;
        if (id < ip.get(LinalgKernels.P_BATCH) * perBatch) {
            int sa0 = ip.get(LinalgKernels.P_SA0);
            int sa1 = ip.get(LinalgKernels.P_SA1);
            int ps = ip.get(P_ROW_STRIDE);
            int z = id / perBatch;
            int r = id - z * perBatch;
            int q = r / groups;
            int g = r - q * groups;
            int aAt = PANEL_PARAMS;
            if (ip.get(P_IN_PLACE) != 0) {
                aAt = PANEL_PARAMS + 1;
            }
            int ao = ip.get(aAt) + z * ip.get(LinalgKernels.P_STRIDE_A);
            int panel = ip.get(PANEL_PARAMS + 2) + ip.get(P_PANELS_AT) + z * ip.get(P_PANEL_BATCH) + q * ip.get(P_PANEL_STRIDE);
            float alpha = fp.get(0);
            float beta = fp.get(1);
            boolean readC = ip.get(LinalgKernels.P_READ_C) != 0;
            int co = ip.get(PANEL_PARAMS + 3) + z * ip.get(LinalgKernels.P_STRIDE_C);
            int ldc = ip.get(LinalgKernels.P_LDC);
            int j0 = q * PANEL;
            int rbEnd = Math.min(rowBlocks, (g + 1) * rowGroup);
            float[] t = new float[PANEL_ROWS * PANEL];
            for (int p0 = 0; p0 < k; p0 += slice) {
                int p1 = Math.min(k, p0 + slice);
                for (int rb = g * rowGroup; rb < rbEnd; rb++) {
                    int i0 = rb * PANEL_ROWS;
                    int ra0 = ao + Math.min(i0 + 0, m - 1) * sa0;
                    int ra1 = ao + Math.min(i0 + 1, m - 1) * sa0;
                    int ra2 = ao + Math.min(i0 + 2, m - 1) * sa0;
                    int ra3 = ao + Math.min(i0 + 3, m - 1) * sa0;
                    int ra4 = ao + Math.min(i0 + 4, m - 1) * sa0;
                    int ra5 = ao + Math.min(i0 + 5, m - 1) * sa0;
                    Float16 c00 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c01 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c02 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c03 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c10 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c11 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c12 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c13 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c20 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c21 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c22 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c23 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c30 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c31 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c32 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c33 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c40 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c41 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c42 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c43 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c50 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c51 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c52 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    Float16 c53 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
                    for (int p = p0; p < p1; p++) {
                        int pb = panel + p * ps;
                        Float16 b0 = new Float16(src.get(pb), src.get(pb + 1), src.get(pb + 2), src.get(pb + 3),
                                src.get(pb + 4), src.get(pb + 5), src.get(pb + 6), src.get(pb + 7),
                                src.get(pb + 8), src.get(pb + 9), src.get(pb + 10), src.get(pb + 11),
                                src.get(pb + 12), src.get(pb + 13), src.get(pb + 14), src.get(pb + 15));
                        Float16 b1 = new Float16(src.get(pb + 16), src.get(pb + 17), src.get(pb + 18), src.get(pb + 19),
                                src.get(pb + 20), src.get(pb + 21), src.get(pb + 22), src.get(pb + 23),
                                src.get(pb + 24), src.get(pb + 25), src.get(pb + 26), src.get(pb + 27),
                                src.get(pb + 28), src.get(pb + 29), src.get(pb + 30), src.get(pb + 31));
                        Float16 b2 = new Float16(src.get(pb + 32), src.get(pb + 33), src.get(pb + 34), src.get(pb + 35),
                                src.get(pb + 36), src.get(pb + 37), src.get(pb + 38), src.get(pb + 39),
                                src.get(pb + 40), src.get(pb + 41), src.get(pb + 42), src.get(pb + 43),
                                src.get(pb + 44), src.get(pb + 45), src.get(pb + 46), src.get(pb + 47));
                        Float16 b3 = new Float16(src.get(pb + 48), src.get(pb + 49), src.get(pb + 50), src.get(pb + 51),
                                src.get(pb + 52), src.get(pb + 53), src.get(pb + 54), src.get(pb + 55),
                                src.get(pb + 56), src.get(pb + 57), src.get(pb + 58), src.get(pb + 59),
                                src.get(pb + 60), src.get(pb + 61), src.get(pb + 62), src.get(pb + 63));
                        int pa = p * sa1;
                        // each value of A in all lanes, so that the products are float16 x float16 (see Lanes)
                        float x0 = a.get(ra0 + pa);
                        c00 = fmaSplat16(x0, b0, c00);
                        c01 = fmaSplat16(x0, b1, c01);
                        c02 = fmaSplat16(x0, b2, c02);
                        c03 = fmaSplat16(x0, b3, c03);
                        float x1 = a.get(ra1 + pa);
                        c10 = fmaSplat16(x1, b0, c10);
                        c11 = fmaSplat16(x1, b1, c11);
                        c12 = fmaSplat16(x1, b2, c12);
                        c13 = fmaSplat16(x1, b3, c13);
                        float x2 = a.get(ra2 + pa);
                        c20 = fmaSplat16(x2, b0, c20);
                        c21 = fmaSplat16(x2, b1, c21);
                        c22 = fmaSplat16(x2, b2, c22);
                        c23 = fmaSplat16(x2, b3, c23);
                        float x3 = a.get(ra3 + pa);
                        c30 = fmaSplat16(x3, b0, c30);
                        c31 = fmaSplat16(x3, b1, c31);
                        c32 = fmaSplat16(x3, b2, c32);
                        c33 = fmaSplat16(x3, b3, c33);
                        float x4 = a.get(ra4 + pa);
                        c40 = fmaSplat16(x4, b0, c40);
                        c41 = fmaSplat16(x4, b1, c41);
                        c42 = fmaSplat16(x4, b2, c42);
                        c43 = fmaSplat16(x4, b3, c43);
                        float x5 = a.get(ra5 + pa);
                        c50 = fmaSplat16(x5, b0, c50);
                        c51 = fmaSplat16(x5, b1, c51);
                        c52 = fmaSplat16(x5, b2, c52);
                        c53 = fmaSplat16(x5, b3, c53);
                    }
                    // the block through a private array, so that the stores are one loop (TornadoVM inlines a
                    // kernel's helpers only up to a size, and the stores written out are past it)
                    t[0] = c00.getS0(); t[1] = c00.getS1(); t[2] = c00.getS2(); t[3] = c00.getS3();
                    t[4] = c00.getS4(); t[5] = c00.getS5(); t[6] = c00.getS6(); t[7] = c00.getS7();
                    t[8] = c00.getS8(); t[9] = c00.getS9(); t[10] = c00.getS10(); t[11] = c00.getS11();
                    t[12] = c00.getS12(); t[13] = c00.getS13(); t[14] = c00.getS14(); t[15] = c00.getS15();
                    t[16] = c01.getS0(); t[17] = c01.getS1(); t[18] = c01.getS2(); t[19] = c01.getS3();
                    t[20] = c01.getS4(); t[21] = c01.getS5(); t[22] = c01.getS6(); t[23] = c01.getS7();
                    t[24] = c01.getS8(); t[25] = c01.getS9(); t[26] = c01.getS10(); t[27] = c01.getS11();
                    t[28] = c01.getS12(); t[29] = c01.getS13(); t[30] = c01.getS14(); t[31] = c01.getS15();
                    t[32] = c02.getS0(); t[33] = c02.getS1(); t[34] = c02.getS2(); t[35] = c02.getS3();
                    t[36] = c02.getS4(); t[37] = c02.getS5(); t[38] = c02.getS6(); t[39] = c02.getS7();
                    t[40] = c02.getS8(); t[41] = c02.getS9(); t[42] = c02.getS10(); t[43] = c02.getS11();
                    t[44] = c02.getS12(); t[45] = c02.getS13(); t[46] = c02.getS14(); t[47] = c02.getS15();
                    t[48] = c03.getS0(); t[49] = c03.getS1(); t[50] = c03.getS2(); t[51] = c03.getS3();
                    t[52] = c03.getS4(); t[53] = c03.getS5(); t[54] = c03.getS6(); t[55] = c03.getS7();
                    t[56] = c03.getS8(); t[57] = c03.getS9(); t[58] = c03.getS10(); t[59] = c03.getS11();
                    t[60] = c03.getS12(); t[61] = c03.getS13(); t[62] = c03.getS14(); t[63] = c03.getS15();
                    t[64] = c10.getS0(); t[65] = c10.getS1(); t[66] = c10.getS2(); t[67] = c10.getS3();
                    t[68] = c10.getS4(); t[69] = c10.getS5(); t[70] = c10.getS6(); t[71] = c10.getS7();
                    t[72] = c10.getS8(); t[73] = c10.getS9(); t[74] = c10.getS10(); t[75] = c10.getS11();
                    t[76] = c10.getS12(); t[77] = c10.getS13(); t[78] = c10.getS14(); t[79] = c10.getS15();
                    t[80] = c11.getS0(); t[81] = c11.getS1(); t[82] = c11.getS2(); t[83] = c11.getS3();
                    t[84] = c11.getS4(); t[85] = c11.getS5(); t[86] = c11.getS6(); t[87] = c11.getS7();
                    t[88] = c11.getS8(); t[89] = c11.getS9(); t[90] = c11.getS10(); t[91] = c11.getS11();
                    t[92] = c11.getS12(); t[93] = c11.getS13(); t[94] = c11.getS14(); t[95] = c11.getS15();
                    t[96] = c12.getS0(); t[97] = c12.getS1(); t[98] = c12.getS2(); t[99] = c12.getS3();
                    t[100] = c12.getS4(); t[101] = c12.getS5(); t[102] = c12.getS6(); t[103] = c12.getS7();
                    t[104] = c12.getS8(); t[105] = c12.getS9(); t[106] = c12.getS10(); t[107] = c12.getS11();
                    t[108] = c12.getS12(); t[109] = c12.getS13(); t[110] = c12.getS14(); t[111] = c12.getS15();
                    t[112] = c13.getS0(); t[113] = c13.getS1(); t[114] = c13.getS2(); t[115] = c13.getS3();
                    t[116] = c13.getS4(); t[117] = c13.getS5(); t[118] = c13.getS6(); t[119] = c13.getS7();
                    t[120] = c13.getS8(); t[121] = c13.getS9(); t[122] = c13.getS10(); t[123] = c13.getS11();
                    t[124] = c13.getS12(); t[125] = c13.getS13(); t[126] = c13.getS14(); t[127] = c13.getS15();
                    t[128] = c20.getS0(); t[129] = c20.getS1(); t[130] = c20.getS2(); t[131] = c20.getS3();
                    t[132] = c20.getS4(); t[133] = c20.getS5(); t[134] = c20.getS6(); t[135] = c20.getS7();
                    t[136] = c20.getS8(); t[137] = c20.getS9(); t[138] = c20.getS10(); t[139] = c20.getS11();
                    t[140] = c20.getS12(); t[141] = c20.getS13(); t[142] = c20.getS14(); t[143] = c20.getS15();
                    t[144] = c21.getS0(); t[145] = c21.getS1(); t[146] = c21.getS2(); t[147] = c21.getS3();
                    t[148] = c21.getS4(); t[149] = c21.getS5(); t[150] = c21.getS6(); t[151] = c21.getS7();
                    t[152] = c21.getS8(); t[153] = c21.getS9(); t[154] = c21.getS10(); t[155] = c21.getS11();
                    t[156] = c21.getS12(); t[157] = c21.getS13(); t[158] = c21.getS14(); t[159] = c21.getS15();
                    t[160] = c22.getS0(); t[161] = c22.getS1(); t[162] = c22.getS2(); t[163] = c22.getS3();
                    t[164] = c22.getS4(); t[165] = c22.getS5(); t[166] = c22.getS6(); t[167] = c22.getS7();
                    t[168] = c22.getS8(); t[169] = c22.getS9(); t[170] = c22.getS10(); t[171] = c22.getS11();
                    t[172] = c22.getS12(); t[173] = c22.getS13(); t[174] = c22.getS14(); t[175] = c22.getS15();
                    t[176] = c23.getS0(); t[177] = c23.getS1(); t[178] = c23.getS2(); t[179] = c23.getS3();
                    t[180] = c23.getS4(); t[181] = c23.getS5(); t[182] = c23.getS6(); t[183] = c23.getS7();
                    t[184] = c23.getS8(); t[185] = c23.getS9(); t[186] = c23.getS10(); t[187] = c23.getS11();
                    t[188] = c23.getS12(); t[189] = c23.getS13(); t[190] = c23.getS14(); t[191] = c23.getS15();
                    t[192] = c30.getS0(); t[193] = c30.getS1(); t[194] = c30.getS2(); t[195] = c30.getS3();
                    t[196] = c30.getS4(); t[197] = c30.getS5(); t[198] = c30.getS6(); t[199] = c30.getS7();
                    t[200] = c30.getS8(); t[201] = c30.getS9(); t[202] = c30.getS10(); t[203] = c30.getS11();
                    t[204] = c30.getS12(); t[205] = c30.getS13(); t[206] = c30.getS14(); t[207] = c30.getS15();
                    t[208] = c31.getS0(); t[209] = c31.getS1(); t[210] = c31.getS2(); t[211] = c31.getS3();
                    t[212] = c31.getS4(); t[213] = c31.getS5(); t[214] = c31.getS6(); t[215] = c31.getS7();
                    t[216] = c31.getS8(); t[217] = c31.getS9(); t[218] = c31.getS10(); t[219] = c31.getS11();
                    t[220] = c31.getS12(); t[221] = c31.getS13(); t[222] = c31.getS14(); t[223] = c31.getS15();
                    t[224] = c32.getS0(); t[225] = c32.getS1(); t[226] = c32.getS2(); t[227] = c32.getS3();
                    t[228] = c32.getS4(); t[229] = c32.getS5(); t[230] = c32.getS6(); t[231] = c32.getS7();
                    t[232] = c32.getS8(); t[233] = c32.getS9(); t[234] = c32.getS10(); t[235] = c32.getS11();
                    t[236] = c32.getS12(); t[237] = c32.getS13(); t[238] = c32.getS14(); t[239] = c32.getS15();
                    t[240] = c33.getS0(); t[241] = c33.getS1(); t[242] = c33.getS2(); t[243] = c33.getS3();
                    t[244] = c33.getS4(); t[245] = c33.getS5(); t[246] = c33.getS6(); t[247] = c33.getS7();
                    t[248] = c33.getS8(); t[249] = c33.getS9(); t[250] = c33.getS10(); t[251] = c33.getS11();
                    t[252] = c33.getS12(); t[253] = c33.getS13(); t[254] = c33.getS14(); t[255] = c33.getS15();
                    t[256] = c40.getS0(); t[257] = c40.getS1(); t[258] = c40.getS2(); t[259] = c40.getS3();
                    t[260] = c40.getS4(); t[261] = c40.getS5(); t[262] = c40.getS6(); t[263] = c40.getS7();
                    t[264] = c40.getS8(); t[265] = c40.getS9(); t[266] = c40.getS10(); t[267] = c40.getS11();
                    t[268] = c40.getS12(); t[269] = c40.getS13(); t[270] = c40.getS14(); t[271] = c40.getS15();
                    t[272] = c41.getS0(); t[273] = c41.getS1(); t[274] = c41.getS2(); t[275] = c41.getS3();
                    t[276] = c41.getS4(); t[277] = c41.getS5(); t[278] = c41.getS6(); t[279] = c41.getS7();
                    t[280] = c41.getS8(); t[281] = c41.getS9(); t[282] = c41.getS10(); t[283] = c41.getS11();
                    t[284] = c41.getS12(); t[285] = c41.getS13(); t[286] = c41.getS14(); t[287] = c41.getS15();
                    t[288] = c42.getS0(); t[289] = c42.getS1(); t[290] = c42.getS2(); t[291] = c42.getS3();
                    t[292] = c42.getS4(); t[293] = c42.getS5(); t[294] = c42.getS6(); t[295] = c42.getS7();
                    t[296] = c42.getS8(); t[297] = c42.getS9(); t[298] = c42.getS10(); t[299] = c42.getS11();
                    t[300] = c42.getS12(); t[301] = c42.getS13(); t[302] = c42.getS14(); t[303] = c42.getS15();
                    t[304] = c43.getS0(); t[305] = c43.getS1(); t[306] = c43.getS2(); t[307] = c43.getS3();
                    t[308] = c43.getS4(); t[309] = c43.getS5(); t[310] = c43.getS6(); t[311] = c43.getS7();
                    t[312] = c43.getS8(); t[313] = c43.getS9(); t[314] = c43.getS10(); t[315] = c43.getS11();
                    t[316] = c43.getS12(); t[317] = c43.getS13(); t[318] = c43.getS14(); t[319] = c43.getS15();
                    t[320] = c50.getS0(); t[321] = c50.getS1(); t[322] = c50.getS2(); t[323] = c50.getS3();
                    t[324] = c50.getS4(); t[325] = c50.getS5(); t[326] = c50.getS6(); t[327] = c50.getS7();
                    t[328] = c50.getS8(); t[329] = c50.getS9(); t[330] = c50.getS10(); t[331] = c50.getS11();
                    t[332] = c50.getS12(); t[333] = c50.getS13(); t[334] = c50.getS14(); t[335] = c50.getS15();
                    t[336] = c51.getS0(); t[337] = c51.getS1(); t[338] = c51.getS2(); t[339] = c51.getS3();
                    t[340] = c51.getS4(); t[341] = c51.getS5(); t[342] = c51.getS6(); t[343] = c51.getS7();
                    t[344] = c51.getS8(); t[345] = c51.getS9(); t[346] = c51.getS10(); t[347] = c51.getS11();
                    t[348] = c51.getS12(); t[349] = c51.getS13(); t[350] = c51.getS14(); t[351] = c51.getS15();
                    t[352] = c52.getS0(); t[353] = c52.getS1(); t[354] = c52.getS2(); t[355] = c52.getS3();
                    t[356] = c52.getS4(); t[357] = c52.getS5(); t[358] = c52.getS6(); t[359] = c52.getS7();
                    t[360] = c52.getS8(); t[361] = c52.getS9(); t[362] = c52.getS10(); t[363] = c52.getS11();
                    t[364] = c52.getS12(); t[365] = c52.getS13(); t[366] = c52.getS14(); t[367] = c52.getS15();
                    t[368] = c53.getS0(); t[369] = c53.getS1(); t[370] = c53.getS2(); t[371] = c53.getS3();
                    t[372] = c53.getS4(); t[373] = c53.getS5(); t[374] = c53.getS6(); t[375] = c53.getS7();
                    t[376] = c53.getS8(); t[377] = c53.getS9(); t[378] = c53.getS10(); t[379] = c53.getS11();
                    t[380] = c53.getS12(); t[381] = c53.getS13(); t[382] = c53.getS14(); t[383] = c53.getS15();
                    for (int rr = 0; rr < PANEL_ROWS; rr++) {
                        if (i0 + rr < m) {
                            int o = co + (i0 + rr) * ldc + j0;
                            for (int j = 0; j < PANEL; j++) {
                                if (j0 + j < n) {
                                    // the first slice applies beta (C not read when it is 0), later ones add
                                    float v = alpha * t[rr * PANEL + j];
                                    if (p0 > 0) {
                                        v = c.get(o + j) + v;
                                    } else if (readC) {
                                        v = beta * c.get(o + j) + v;
                                    }
                                    c.set(o + j, v);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * C = alpha·A·Bᵀ + beta·C for row-major A and B (op(A)(i, p) = a[i·sa0 + p], op(B)(p, j) =
     * b[j·sb1 + p]), each element of C a dot product along k, sixteen lanes at a time: a work-item holds
     * a {@value #DOTS_ROWS} x {@value #DOTS_COLS} block of C as 18 float16 sums and reads its rows of A
     * and B in address order; the lanes are added at the end, then the k % 16 tail. Row blocks vary
     * fastest, so a work-group's work-items share their six rows of B in cache. Rows and columns past
     * the edge read the last one and are not stored. Global size batch·ceil(n/6)·ceil(m/3).
     */
    static void matmulDots(KernelContext ctx, IntArray ip, FloatArray fp, FloatArray a, FloatArray b, FloatArray c) {
        int id = ctx.globalIdx;
        int m = ip.get(LinalgKernels.P_M);
        int n = ip.get(LinalgKernels.P_N);
        int rowBlocks = (m + DOTS_ROWS - 1) / DOTS_ROWS;
        int perBatch = ((n + DOTS_COLS - 1) / DOTS_COLS) * rowBlocks;
        if (id < ip.get(LinalgKernels.P_BATCH) * perBatch) {
            int k = ip.get(LinalgKernels.P_K);
            int sa0 = ip.get(LinalgKernels.P_SA0);
            int sb1 = ip.get(LinalgKernels.P_SB1);
            int z = id / perBatch;
            int r = id - z * perBatch;
            int q = r / rowBlocks;
            int i0 = (r - q * rowBlocks) * DOTS_ROWS;
            int j0 = q * DOTS_COLS;
            int ao = ip.get(LinalgKernels.MATMUL_PARAMS) + z * ip.get(LinalgKernels.P_STRIDE_A);
            int bo = ip.get(LinalgKernels.MATMUL_PARAMS + 1) + z * ip.get(LinalgKernels.P_STRIDE_B);
            int ra0 = ao + Math.min(i0 + 0, m - 1) * sa0;
            int ra1 = ao + Math.min(i0 + 1, m - 1) * sa0;
            int ra2 = ao + Math.min(i0 + 2, m - 1) * sa0;
            int rb0 = bo + Math.min(j0 + 0, n - 1) * sb1;
            int rb1 = bo + Math.min(j0 + 1, n - 1) * sb1;
            int rb2 = bo + Math.min(j0 + 2, n - 1) * sb1;
            int rb3 = bo + Math.min(j0 + 3, n - 1) * sb1;
            int rb4 = bo + Math.min(j0 + 4, n - 1) * sb1;
            int rb5 = bo + Math.min(j0 + 5, n - 1) * sb1;
            Float16 d00 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d01 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d02 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d03 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d04 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d05 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d10 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d11 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d12 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d13 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d14 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d15 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d20 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d21 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d22 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d23 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d24 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            Float16 d25 = new Float16(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
            int k16 = k - k % 16;
            for (int p = 0; p < k16; p += 16) {
                Float16 b0 = new Float16(b.get(rb0 + p), b.get(rb0 + p + 1), b.get(rb0 + p + 2), b.get(rb0 + p + 3),
                        b.get(rb0 + p + 4), b.get(rb0 + p + 5), b.get(rb0 + p + 6), b.get(rb0 + p + 7),
                        b.get(rb0 + p + 8), b.get(rb0 + p + 9), b.get(rb0 + p + 10), b.get(rb0 + p + 11),
                        b.get(rb0 + p + 12), b.get(rb0 + p + 13), b.get(rb0 + p + 14), b.get(rb0 + p + 15));
                Float16 b1 = new Float16(b.get(rb1 + p), b.get(rb1 + p + 1), b.get(rb1 + p + 2), b.get(rb1 + p + 3),
                        b.get(rb1 + p + 4), b.get(rb1 + p + 5), b.get(rb1 + p + 6), b.get(rb1 + p + 7),
                        b.get(rb1 + p + 8), b.get(rb1 + p + 9), b.get(rb1 + p + 10), b.get(rb1 + p + 11),
                        b.get(rb1 + p + 12), b.get(rb1 + p + 13), b.get(rb1 + p + 14), b.get(rb1 + p + 15));
                Float16 b2 = new Float16(b.get(rb2 + p), b.get(rb2 + p + 1), b.get(rb2 + p + 2), b.get(rb2 + p + 3),
                        b.get(rb2 + p + 4), b.get(rb2 + p + 5), b.get(rb2 + p + 6), b.get(rb2 + p + 7),
                        b.get(rb2 + p + 8), b.get(rb2 + p + 9), b.get(rb2 + p + 10), b.get(rb2 + p + 11),
                        b.get(rb2 + p + 12), b.get(rb2 + p + 13), b.get(rb2 + p + 14), b.get(rb2 + p + 15));
                Float16 b3 = new Float16(b.get(rb3 + p), b.get(rb3 + p + 1), b.get(rb3 + p + 2), b.get(rb3 + p + 3),
                        b.get(rb3 + p + 4), b.get(rb3 + p + 5), b.get(rb3 + p + 6), b.get(rb3 + p + 7),
                        b.get(rb3 + p + 8), b.get(rb3 + p + 9), b.get(rb3 + p + 10), b.get(rb3 + p + 11),
                        b.get(rb3 + p + 12), b.get(rb3 + p + 13), b.get(rb3 + p + 14), b.get(rb3 + p + 15));
                Float16 b4 = new Float16(b.get(rb4 + p), b.get(rb4 + p + 1), b.get(rb4 + p + 2), b.get(rb4 + p + 3),
                        b.get(rb4 + p + 4), b.get(rb4 + p + 5), b.get(rb4 + p + 6), b.get(rb4 + p + 7),
                        b.get(rb4 + p + 8), b.get(rb4 + p + 9), b.get(rb4 + p + 10), b.get(rb4 + p + 11),
                        b.get(rb4 + p + 12), b.get(rb4 + p + 13), b.get(rb4 + p + 14), b.get(rb4 + p + 15));
                Float16 b5 = new Float16(b.get(rb5 + p), b.get(rb5 + p + 1), b.get(rb5 + p + 2), b.get(rb5 + p + 3),
                        b.get(rb5 + p + 4), b.get(rb5 + p + 5), b.get(rb5 + p + 6), b.get(rb5 + p + 7),
                        b.get(rb5 + p + 8), b.get(rb5 + p + 9), b.get(rb5 + p + 10), b.get(rb5 + p + 11),
                        b.get(rb5 + p + 12), b.get(rb5 + p + 13), b.get(rb5 + p + 14), b.get(rb5 + p + 15));
                Float16 x0 = new Float16(a.get(ra0 + p), a.get(ra0 + p + 1), a.get(ra0 + p + 2), a.get(ra0 + p + 3),
                        a.get(ra0 + p + 4), a.get(ra0 + p + 5), a.get(ra0 + p + 6), a.get(ra0 + p + 7),
                        a.get(ra0 + p + 8), a.get(ra0 + p + 9), a.get(ra0 + p + 10), a.get(ra0 + p + 11),
                        a.get(ra0 + p + 12), a.get(ra0 + p + 13), a.get(ra0 + p + 14), a.get(ra0 + p + 15));
                d00 = fma16(x0, b0, d00);
                d01 = fma16(x0, b1, d01);
                d02 = fma16(x0, b2, d02);
                d03 = fma16(x0, b3, d03);
                d04 = fma16(x0, b4, d04);
                d05 = fma16(x0, b5, d05);
                Float16 x1 = new Float16(a.get(ra1 + p), a.get(ra1 + p + 1), a.get(ra1 + p + 2), a.get(ra1 + p + 3),
                        a.get(ra1 + p + 4), a.get(ra1 + p + 5), a.get(ra1 + p + 6), a.get(ra1 + p + 7),
                        a.get(ra1 + p + 8), a.get(ra1 + p + 9), a.get(ra1 + p + 10), a.get(ra1 + p + 11),
                        a.get(ra1 + p + 12), a.get(ra1 + p + 13), a.get(ra1 + p + 14), a.get(ra1 + p + 15));
                d10 = fma16(x1, b0, d10);
                d11 = fma16(x1, b1, d11);
                d12 = fma16(x1, b2, d12);
                d13 = fma16(x1, b3, d13);
                d14 = fma16(x1, b4, d14);
                d15 = fma16(x1, b5, d15);
                Float16 x2 = new Float16(a.get(ra2 + p), a.get(ra2 + p + 1), a.get(ra2 + p + 2), a.get(ra2 + p + 3),
                        a.get(ra2 + p + 4), a.get(ra2 + p + 5), a.get(ra2 + p + 6), a.get(ra2 + p + 7),
                        a.get(ra2 + p + 8), a.get(ra2 + p + 9), a.get(ra2 + p + 10), a.get(ra2 + p + 11),
                        a.get(ra2 + p + 12), a.get(ra2 + p + 13), a.get(ra2 + p + 14), a.get(ra2 + p + 15));
                d20 = fma16(x2, b0, d20);
                d21 = fma16(x2, b1, d21);
                d22 = fma16(x2, b2, d22);
                d23 = fma16(x2, b3, d23);
                d24 = fma16(x2, b4, d24);
                d25 = fma16(x2, b5, d25);
            }
            float alpha = fp.get(0);
            float beta = fp.get(1);
            boolean readC = ip.get(LinalgKernels.P_READ_C) != 0;
            int co = ip.get(LinalgKernels.MATMUL_PARAMS + 2) + z * ip.get(LinalgKernels.P_STRIDE_C);
            int ldc = ip.get(LinalgKernels.P_LDC);
            float[] t = new float[DOTS_ROWS * DOTS_COLS];
            t[0] = sum16(d00);
            t[1] = sum16(d01);
            t[2] = sum16(d02);
            t[3] = sum16(d03);
            t[4] = sum16(d04);
            t[5] = sum16(d05);
            t[6] = sum16(d10);
            t[7] = sum16(d11);
            t[8] = sum16(d12);
            t[9] = sum16(d13);
            t[10] = sum16(d14);
            t[11] = sum16(d15);
            t[12] = sum16(d20);
            t[13] = sum16(d21);
            t[14] = sum16(d22);
            t[15] = sum16(d23);
            t[16] = sum16(d24);
            t[17] = sum16(d25);
            for (int rr = 0; rr < DOTS_ROWS; rr++) {
                int ra = ao + Math.min(i0 + rr, m - 1) * sa0;
                for (int jj = 0; jj < DOTS_COLS; jj++) {
                    int rb = bo + Math.min(j0 + jj, n - 1) * sb1;
                    float v = t[rr * DOTS_COLS + jj];
                    for (int p = k16; p < k; p++) {
                        v = a.get(ra + p) * b.get(rb + p) + v;
                    }
                    if (i0 + rr < m && j0 + jj < n) {
                        int o = co + (i0 + rr) * ldc + j0 + jj;
                        v = alpha * v;
                        if (readC) {
                            v = beta * c.get(o) + v;
                        }
                        c.set(o, v);
                    }
                }
            }
        }
    }
}
