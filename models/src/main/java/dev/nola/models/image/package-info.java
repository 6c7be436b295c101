/**
 * Images for the ViT: IDX files ({@link dev.nola.models.image.IdxFile}, plain or gzip) and labelled
 * float images ({@link dev.nola.models.image.ImageSet}) with class filters, seeded k-shot sampling,
 * standardization and batches [B, H, W].
 */
package dev.nola.models.image;
