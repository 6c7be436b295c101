package dev.nola.models.image;

import dev.nola.io.InvalidFileException;
import dev.nola.models.data.SeededShuffle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * N labelled single-channel images of H × W pixels, as floats: read from an IDX image file and an IDX
 * label file, pixels scaled from [0, 255] to [0, 1] (value / 255). Immutable: every operation returns
 * a new set. Class filtering, seeded k-shot sampling and standardization give the splits of the
 * project's ViT runs: base pretraining on classes 0–4 of Fashion-MNIST, few-shot tasks on 5–9.
 */
public final class ImageSet {

    /** Where Debian's {@code dataset-fashion-mnist} package installs the files. */
    public static final Path DEBIAN_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

    private final float[] pixels;
    private final int[] labels;
    private final int height;
    private final int width;

    /**
     * Images already in memory: pixels [N, height, width] row-major, labels [N] (≥ 0).
     *
     * @throws IllegalArgumentException when the sizes disagree or a label is negative
     */
    public static ImageSet of(float[] pixels, int[] labels, int height, int width) {
        if (height < 1 || width < 1 || labels.length == 0 || (long) labels.length * height * width != pixels.length) {
            throw new IllegalArgumentException(pixels.length + " pixels and " + labels.length + " labels are not "
                    + labels.length + " images of " + height + "×" + width);
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0) {
                throw new IllegalArgumentException("labels[" + i + "] = " + labels[i] + "; expected ≥ 0");
            }
        }
        return new ImageSet(pixels.clone(), labels.clone(), height, width);
    }

    private ImageSet(float[] pixels, int[] labels, int height, int width) {
        this.pixels = pixels;
        this.labels = labels;
        this.height = height;
        this.width = width;
    }

    /**
     * Reads images (magic 0x00000803, [N, H, W]) and labels (magic 0x00000801, [N]); either may be
     * gzip-compressed. The two counts must agree.
     */
    public static ImageSet read(Path images, Path labels) {
        IdxFile im = IdxFile.read(images, IdxFile.IMAGES_MAGIC);
        IdxFile lb = IdxFile.read(labels, IdxFile.LABELS_MAGIC);
        int[] d = im.dims();
        if (lb.dims()[0] != d[0]) {
            throw new InvalidFileException(labels + ": " + lb.dims()[0] + " labels, but " + images + " holds " + d[0]
                    + " images; expected one label per image");
        }
        byte[] raw = im.data();
        float[] px = new float[raw.length];
        for (int i = 0; i < raw.length; i++) {
            px[i] = (raw[i] & 0xFF) / 255f;
        }
        int[] lab = new int[d[0]];
        for (int i = 0; i < lab.length; i++) {
            lab[i] = lb.data()[i] & 0xFF;
        }
        return new ImageSet(px, lab, d[1], d[2]);
    }

    /**
     * The Fashion-MNIST training ({@code train-*}, 60,000 images) or test ({@code t10k-*}, 10,000) part
     * from {@code dir}, taking {@code NAME-idx3-ubyte} or, if absent, {@code NAME-idx3-ubyte.gz}.
     */
    public static ImageSet fashionMnist(Path dir, boolean train) {
        String p = train ? "train" : "t10k";
        return read(pick(dir, p + "-images-idx3-ubyte"), pick(dir, p + "-labels-idx1-ubyte"));
    }

    private static Path pick(Path dir, String name) {
        Path plain = dir.resolve(name);
        Path gz = dir.resolve(name + ".gz");
        if (Files.exists(plain) || !Files.exists(gz)) {
            return plain;
        }
        return gz;
    }

    /** N, the number of images. */
    public int size() {
        return labels.length;
    }

    /** H, rows per image. */
    public int height() {
        return height;
    }

    /** W, columns per image. */
    public int width() {
        return width;
    }

    /** A copy of all pixels, row-major [N, H, W]. */
    public float[] pixels() {
        return pixels.clone();
    }

    /** A copy of the labels [N]. */
    public int[] labels() {
        return labels.clone();
    }

    /** Image {@code i}'s label. */
    public int label(int i) {
        check(i);
        return labels[i];
    }

    /** A copy of image {@code i}, row-major [H, W]. */
    public float[] image(int i) {
        check(i);
        int n = height * width;
        return Arrays.copyOfRange(pixels, i * n, (i + 1) * n);
    }

    private void check(int i) {
        if (i < 0 || i >= size()) {
            throw new IllegalArgumentException("image " + i + " does not exist; expected 0.." + (size() - 1));
        }
    }

    /** The images at these indices, in this order (an index may repeat). */
    public ImageSet select(int[] indices) {
        int n = height * width;
        float[] px = new float[indices.length * n];
        int[] lab = new int[indices.length];
        for (int k = 0; k < indices.length; k++) {
            check(indices[k]);
            System.arraycopy(pixels, indices[k] * n, px, k * n, n);
            lab[k] = labels[indices[k]];
        }
        return new ImageSet(px, lab, height, width);
    }

    /** The images whose label is one of {@code classes}, in file order, labels unchanged. */
    public ImageSet filterClasses(int... classes) {
        return select(indicesOf(classes));
    }

    /**
     * The images whose label is one of {@code classes}, relabelled to the class's position in
     * {@code classes}: {@code renumberClasses(5, 6, 7, 8, 9)} maps labels 5..9 to 0..4, for a new head.
     */
    public ImageSet renumberClasses(int... classes) {
        ImageSet s = filterClasses(classes);
        for (int i = 0; i < s.labels.length; i++) {
            for (int c = 0; c < classes.length; c++) {
                if (s.labels[i] == classes[c]) {
                    s.labels[i] = c;
                    break;
                }
            }
        }
        return s;
    }

    private int[] indicesOf(int... classes) {
        if (classes.length == 0) {
            throw new IllegalArgumentException("no classes given; expected at least one class id");
        }
        boolean[] keep = new boolean[256];
        for (int c : classes) {
            if (c < 0 || c > 255) {
                throw new IllegalArgumentException("class " + c + "; expected a class id in [0, 255]");
            }
            if (keep[c]) {
                throw new IllegalArgumentException("class " + c + " is given twice; expected distinct class ids");
            }
            keep[c] = true;
        }
        return IntStream.range(0, size()).filter(i -> keep[labels[i]]).toArray();
    }

    /** Images per class, by class id (ascending). */
    public TreeMap<Integer, Integer> classCounts() {
        TreeMap<Integer, Integer> m = new TreeMap<>();
        for (int l : labels) {
            m.merge(l, 1, Integer::sum);
        }
        return m;
    }

    /**
     * {@code k} images of every class present, drawn without replacement by a seeded permutation of
     * each class's images (class c uses stream c of the seed); ordered by class, then by draw. The same
     * seed and set give the same images. A class with fewer than k images is an error naming it.
     */
    public ImageSet kShot(int k, long seed) {
        if (k < 1) {
            throw new IllegalArgumentException("k = " + k + "; expected ≥ 1 images per class");
        }
        List<Integer> chosen = new ArrayList<>();
        for (var e : classCounts().entrySet()) {
            int c = e.getKey();
            if (e.getValue() < k) {
                throw new IllegalArgumentException("class " + c + " has " + e.getValue() + " images; expected at least k = " + k);
            }
            int[] members = indicesOf(c);
            int[] order = SeededShuffle.permutation(members.length, seed, c);
            for (int j = 0; j < k; j++) {
                chosen.add(members[order[j]]);
            }
        }
        return select(chosen.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The mean and standard deviation of all pixels (population, accumulated in double). */
    public record Stats(float mean, float std) {
    }

    /** This set's pixel statistics, e.g. of the training set, to standardize every split with. */
    public Stats stats() {
        if (pixels.length == 0) {
            throw new IllegalArgumentException("the set holds no images; expected at least one to compute statistics");
        }
        double sum = 0;
        double sq = 0;
        for (float p : pixels) {
            sum += p;
            sq += (double) p * p;
        }
        double mean = sum / pixels.length;
        return new Stats((float) mean, (float) Math.sqrt(Math.max(0, sq / pixels.length - mean * mean)));
    }

    /** Pixels mapped to (x − mean) / std. */
    public ImageSet standardized(Stats s) {
        if (!(s.std() > 0) || !Float.isFinite(s.std()) || !Float.isFinite(s.mean())) {
            throw new IllegalArgumentException("mean = " + s.mean() + ", std = " + s.std()
                    + "; expected finite numbers with std > 0");
        }
        float[] px = new float[pixels.length];
        for (int i = 0; i < px.length; i++) {
            px[i] = (pixels[i] - s.mean()) / s.std();
        }
        return new ImageSet(px, labels.clone(), height, width);
    }

    /** The batch of these images, [indices.length, H, W]. */
    public ImageBatch batch(int[] indices) {
        ImageSet s = select(indices);
        return new ImageBatch(s.pixels, s.labels, indices.length, height, width);
    }

    /** One training epoch in a seeded order (new for each epoch), full batches of {@code batchSize} only. */
    public List<ImageBatch> epoch(int batchSize, long seed, int epoch) {
        if (batchSize < 1 || batchSize > size()) {
            throw new IllegalArgumentException("batch size B = " + batchSize + "; expected 1 ≤ B ≤ " + size()
                    + " (the number of images)");
        }
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch = " + epoch + "; expected ≥ 0");
        }
        int[] order = SeededShuffle.permutation(size(), seed, epoch);
        List<ImageBatch> out = new ArrayList<>();
        for (int b = 0; b + batchSize <= order.length; b += batchSize) {
            out.add(batch(Arrays.copyOfRange(order, b, b + batchSize)));
        }
        return out;
    }

    /** Every image once, in order, in batches of {@code batchSize}; the last may be smaller. For evaluation. */
    public List<ImageBatch> inOrder(int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size B = " + batchSize + "; expected ≥ 1");
        }
        List<ImageBatch> out = new ArrayList<>();
        for (int b = 0; b < size(); b += batchSize) {
            int n = Math.min(batchSize, size() - b);
            int first = b;
            int[] idx = new int[n];
            Arrays.setAll(idx, i -> first + i);
            out.add(batch(idx));
        }
        return out;
    }
}
