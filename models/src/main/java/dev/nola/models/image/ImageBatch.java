package dev.nola.models.image;

/**
 * A batch of B single-channel images and their class labels.
 *
 * @param pixels    row-major [B, H, W] floats (as the set holds them: [0, 1] or standardized)
 * @param labels    [B] class ids
 * @param batchSize B
 * @param height    H, rows
 * @param width     W, columns
 */
public record ImageBatch(float[] pixels, int[] labels, int batchSize, int height, int width) {

    public ImageBatch {
        if (batchSize < 1 || labels.length != batchSize || pixels.length != (long) batchSize * height * width) {
            throw new IllegalArgumentException("batch of " + pixels.length + " pixels and " + labels.length
                    + " labels; expected B·H·W = " + batchSize + "·" + height + "·" + width + " and B labels");
        }
    }
}
