package dev.nola.models.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.zip.GZIPOutputStream;

/** Test helper: IDX bytes built by hand (big-endian header, unsigned-byte data), and gzip. */
final class Idx {

    private Idx() {
    }

    /** An IDX file with this magic, these extents and data. */
    static byte[] file(int magic, int[] dims, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.putInt(magic);
        for (int d : dims) {
            b.putInt(d);
        }
        return b.put(data).array();
    }

    /** N images of H × W whose pixel (i, r, c) is (i·31 + r·7 + c) mod 256. */
    static byte[] images(int n, int h, int w) {
        byte[] d = new byte[n * h * w];
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < h; r++) {
                for (int c = 0; c < w; c++) {
                    d[(i * h + r) * w + c] = (byte) ((i * 31 + r * 7 + c) % 256);
                }
            }
        }
        return file(IdxFile.IMAGES_MAGIC, new int[] {n, h, w}, d);
    }

    /** Labels 0..n−1 cycling through {@code classes} classes. */
    static byte[] labels(int n, int classes) {
        byte[] d = new byte[n];
        for (int i = 0; i < n; i++) {
            d[i] = (byte) (i % classes);
        }
        return file(IdxFile.LABELS_MAGIC, new int[] {n}, d);
    }

    static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
