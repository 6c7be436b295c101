package dev.nola.models.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.models.Messages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageSetTest {

    @TempDir
    Path tmp;

    /** 100 images of 4 × 5, labels cycling 0..9 (10 per class). */
    private ImageSet set;

    @BeforeEach
    void write() throws IOException {
        Files.write(tmp.resolve("train-images-idx3-ubyte.gz"), Idx.gzip(Idx.images(100, 4, 5)));
        Files.write(tmp.resolve("train-labels-idx1-ubyte"), Idx.labels(100, 10));
        set = ImageSet.fashionMnist(tmp, true);
    }

    @Test
    void pixelsAreScaledToTheUnitInterval() {
        assertEquals(100, set.size());
        assertEquals(4, set.height());
        assertEquals(5, set.width());
        float[] im = set.image(3);
        // pixel (3, r, c) = (93 + 7r + c) mod 256
        assertEquals(93 / 255f, im[0]);
        assertEquals((93 + 7 * 3 + 4) / 255f, im[19]);
        for (float p : set.pixels()) {
            assertTrue(p >= 0 && p <= 1);
        }
        assertEquals(7, set.label(17));
    }

    @Test
    void classesAreFilteredAndRenumbered() {
        ImageSet base = set.filterClasses(0, 1, 2, 3, 4);
        assertEquals(50, base.size());
        assertEquals(Map.of(0, 10, 1, 10, 2, 10, 3, 10, 4, 10), base.classCounts());
        assertArrayEquals(set.image(1), base.image(1));
        ImageSet fewShot = set.renumberClasses(5, 6, 7, 8, 9);
        assertEquals(new TreeMap<>(Map.of(0, 10, 1, 10, 2, 10, 3, 10, 4, 10)), fewShot.classCounts());
        assertArrayEquals(set.image(5), fewShot.image(0), "label 5 became 0, pixels unchanged");
        assertEquals("class 3 is given twice; expected distinct class ids", Messages.of(() -> set.filterClasses(3, 3)));
        assertEquals("class 300; expected a class id in [0, 255]", Messages.of(() -> set.filterClasses(300)));
    }

    @Test
    void kShotIsSeededPerClassWithoutRepeats() {
        ImageSet fewShot = set.renumberClasses(5, 6, 7, 8, 9);
        ImageSet a = fewShot.kShot(3, 11);
        assertEquals(15, a.size());
        assertEquals(Map.of(0, 3, 1, 3, 2, 3, 3, 3, 4, 3), a.classCounts());
        assertArrayEquals(a.pixels(), fewShot.kShot(3, 11).pixels(), "same seed, same images");
        assertFalse(java.util.Arrays.equals(a.pixels(), fewShot.kShot(3, 12).pixels()), "another seed, other images");
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i < a.size(); i++) {
            assertTrue(distinct.add(java.util.Arrays.toString(a.image(i))), "image drawn twice");
            assertEquals(i / 3, a.label(i), "ordered by class");
        }
        assertEquals("class 0 has 10 images; expected at least k = 11", Messages.of(() -> set.kShot(11, 1)));
    }

    @Test
    void standardizationUsesTheGivenStatistics() {
        ImageSet.Stats s = set.stats();
        ImageSet z = set.standardized(s);
        ImageSet.Stats t = z.stats();
        assertEquals(0, t.mean(), 1e-5);
        assertEquals(1, t.std(), 1e-5);
        assertEquals((set.image(0)[0] - s.mean()) / s.std(), z.image(0)[0]);
        Messages.of(() -> set.standardized(new ImageSet.Stats(0.5f, 0)));
    }

    @Test
    void batchesHaveTheirShapes() {
        List<ImageBatch> e = set.epoch(32, 3, 0);
        assertEquals(3, e.size());
        Set<String> seen = new HashSet<>();
        for (ImageBatch b : e) {
            assertEquals(32 * 20, b.pixels().length);
            for (int i = 0; i < 32; i++) {
                float[] im = java.util.Arrays.copyOfRange(b.pixels(), i * 20, (i + 1) * 20);
                assertTrue(seen.add(java.util.Arrays.toString(im)));
            }
        }
        assertFalse(java.util.Arrays.equals(e.get(0).labels(), set.epoch(32, 3, 1).get(0).labels()));
        List<ImageBatch> all = set.inOrder(32);
        assertEquals(List.of(32, 32, 32, 4), all.stream().map(ImageBatch::batchSize).toList());
        assertEquals("batch size B = 101; expected 1 ≤ B ≤ 100 (the number of images)", Messages.of(() -> set.epoch(101, 1, 0)));
    }

    @Test
    void imageAndLabelCountsMustAgree() throws IOException {
        Path im = Files.write(tmp.resolve("im"), Idx.images(4, 2, 2));
        Path lb = Files.write(tmp.resolve("lb"), Idx.labels(5, 2));
        String m = Messages.of(() -> ImageSet.read(im, lb));
        assertEquals(lb + ": 5 labels, but " + im + " holds 4 images; expected one label per image", m);
    }
}
