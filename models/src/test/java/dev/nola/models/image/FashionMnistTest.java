package dev.nola.models.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Reads the real Fashion-MNIST files where Debian's dataset-fashion-mnist is installed; skipped elsewhere. */
class FashionMnistTest {

    private static void assumeInstalled() {
        assumeTrue(Files.isRegularFile(ImageSet.DEBIAN_FASHION_MNIST.resolve("train-images-idx3-ubyte.gz")),
                "Fashion-MNIST is not installed at " + ImageSet.DEBIAN_FASHION_MNIST
                        + " (apt-get install dataset-fashion-mnist); the IDX reader is tested on written files instead");
    }

    @Test
    void theTrainingSetHasTheKnownShapeCountsAndStatistics() {
        assumeInstalled();
        ImageSet train = ImageSet.fashionMnist(ImageSet.DEBIAN_FASHION_MNIST, true);
        assertEquals(60000, train.size());
        assertEquals(28, train.height());
        assertEquals(28, train.width());
        Map<Integer, Integer> perClass = new TreeMap<>();
        for (int c = 0; c < 10; c++) {
            perClass.put(c, 6000);
        }
        assertEquals(perClass, train.classCounts());
        // the widely quoted normalisation constants of Fashion-MNIST's training set
        ImageSet.Stats s = train.stats();
        assertEquals(0.2860, s.mean(), 5e-4);
        assertEquals(0.3530, s.std(), 5e-4);

        ImageSet fewShot = train.renumberClasses(5, 6, 7, 8, 9).kShot(10, 0);
        assertEquals(50, fewShot.size());
        assertEquals(30000, train.filterClasses(0, 1, 2, 3, 4).size());
    }

    @Test
    void theTestSetHasTenThousandImages() {
        assumeInstalled();
        ImageSet test = ImageSet.fashionMnist(ImageSet.DEBIAN_FASHION_MNIST, false);
        assertEquals(10000, test.size());
        assertEquals(1000, test.classCounts().get(9));
    }
}
