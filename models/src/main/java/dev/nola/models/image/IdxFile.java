package dev.nola.models.image;

import dev.nola.io.FileErrors;
import dev.nola.io.InputFiles;
import dev.nola.io.InvalidFileException;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * An IDX file of unsigned bytes (the MNIST / Fashion-MNIST format): a big-endian header — two zero
 * bytes, the type byte 0x08 (unsigned byte), the number of dimensions d, then d 32-bit extents — and
 * the product of the extents in bytes, row-major. Images are magic 0x00000803 ([N, rows, cols]),
 * labels 0x00000801 ([N]).
 *
 * <p>A gzip-compressed file (recognised by its first two bytes, 0x1F 0x8B, whatever its name) is
 * decompressed while reading. The file is untrusted: the header is checked before anything is
 * allocated from it, the data must be exactly as long as the header says (an uncompressed file's size
 * is compared before reading; a compressed one's data is read in growing chunks, so a lying header
 * cannot make it allocate more than the stream holds), and each problem is one line naming the file.
 *
 * @param source the file, for messages
 * @param dims   the extents, each ≥ 1
 * @param data   the values, row-major, product(dims) bytes (read them as {@code b & 0xFF})
 */
public record IdxFile(String source, int[] dims, byte[] data) {

    /** The magic number of an IDX file of unsigned-byte images [N, rows, cols]. */
    public static final int IMAGES_MAGIC = 0x00000803;
    /** The magic number of an IDX file of unsigned-byte labels [N]. */
    public static final int LABELS_MAGIC = 0x00000801;
    private static final int MAX_DIMS = 4;

    public IdxFile {
        dims = dims.clone();
    }

    @Override
    public int[] dims() {
        return dims.clone();
    }

    /** The magic number this file's header holds: 0x0800 + the number of dimensions. */
    public int magic() {
        return 0x0800 + dims.length;
    }

    /**
     * Reads {@code file} and checks that its magic number is {@code expectedMagic} ({@link #IMAGES_MAGIC}
     * or {@link #LABELS_MAGIC}).
     */
    public static IdxFile read(Path file, int expectedMagic) {
        try (FileChannel ch = InputFiles.open(file);
                InputStream raw = new BufferedInputStream(Channels.newInputStream(ch), 1 << 16)) {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            boolean gzip = b0 == 0x1F && b1 == 0x8B;
            long size = ch.size();
            if (gzip) {
                try (InputStream in = new GZIPInputStream(raw, 1 << 16)) {
                    return parse(file, in, -1, expectedMagic);
                } catch (EOFException e) {
                    throw new InvalidFileException(file + ": the gzip stream is truncated (" + size
                            + " compressed bytes); expected a complete gzip file");
                } catch (ZipException e) {
                    throw new InvalidFileException(file + ": not valid gzip data (" + e.getMessage()
                            + "); expected a gzip-compressed IDX file");
                }
            }
            return parse(file, raw, size, expectedMagic);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + FileErrors.describe(e), e);
        }
    }

    /** Parses the stream; {@code fileSize} is the exact size of an uncompressed file, or −1 when compressed. */
    private static IdxFile parse(Path file, InputStream in, long fileSize, int expectedMagic) throws IOException {
        String where = file + (fileSize < 0 ? " (decompressed)" : "");
        byte[] head = in.readNBytes(4);
        if (head.length < 4) {
            throw new InvalidFileException(where + ": " + head.length + " bytes, shorter than the 4-byte IDX magic number");
        }
        int magic = ((head[0] & 0xFF) << 24) | ((head[1] & 0xFF) << 16) | ((head[2] & 0xFF) << 8) | (head[3] & 0xFF);
        int d = head[3] & 0xFF;
        if (magic != expectedMagic) {
            throw new InvalidFileException(where + ": magic number 0x" + hex(magic) + "; expected 0x" + hex(expectedMagic)
                    + " (" + (expectedMagic == IMAGES_MAGIC ? "unsigned-byte images [N, rows, cols]"
                    : expectedMagic == LABELS_MAGIC ? "unsigned-byte labels [N]" : "IDX") + ")");
        }
        if (d < 1 || d > MAX_DIMS) {
            throw new InvalidFileException(where + ": " + d + " dimensions; expected 1.." + MAX_DIMS);
        }
        byte[] ext = in.readNBytes(4 * d);
        if (ext.length < 4 * d) {
            throw new InvalidFileException(where + ": truncated in the header: " + (4 + ext.length) + " bytes, expected "
                    + (4 + 4 * d) + " for " + d + " dimensions");
        }
        int[] dims = new int[d];
        long count = 1;
        for (int i = 0; i < d; i++) {
            long v = ((ext[4 * i] & 0xFFL) << 24) | ((ext[4 * i + 1] & 0xFF) << 16) | ((ext[4 * i + 2] & 0xFF) << 8)
                    | (ext[4 * i + 3] & 0xFF);
            if (v < 1 || v > Integer.MAX_VALUE) {
                throw new InvalidFileException(where + ": dimension " + i + " is " + v + "; expected 1.." + Integer.MAX_VALUE);
            }
            dims[i] = (int) v;
            // saturate past the limit: both factors stay below 2^32, so the product never overflows
            count = Math.min(count * v, InputFiles.MAX_ARRAY_BYTES + 1);
        }
        long headerBytes = 4 + 4L * d;
        if (count > InputFiles.MAX_ARRAY_BYTES) {
            throw new InvalidFileException(where + ": extents " + Arrays.toString(dims) + " declare more than "
                    + InputFiles.MAX_ARRAY_BYTES + " bytes; expected at most "
                    + InputFiles.MAX_ARRAY_BYTES + " (one array)");
        }
        if (fileSize >= 0 && fileSize != headerBytes + count) {
            throw new InvalidFileException(where + ": the file is " + fileSize + " bytes but its header "
                    + Arrays.toString(dims) + " declares " + headerBytes + " + " + count + " = " + (headerBytes + count)
                    + (fileSize < headerBytes + count ? " (truncated)" : " (trailing bytes)"));
        }
        byte[] data = readExactly(in, (int) count, where, headerBytes);
        if (in.read() >= 0) {
            throw new InvalidFileException(where + ": more data than its header " + Arrays.toString(dims) + " declares ("
                    + (headerBytes + count) + " bytes)");
        }
        return new IdxFile(file.toString(), dims, data);
    }

    /** Reads {@code n} bytes in chunks that grow only as data arrives. */
    private static byte[] readExactly(InputStream in, int n, String where, long headerBytes) throws IOException {
        byte[] buf = new byte[Math.min(n, 1 << 20)];
        int have = 0;
        while (have < n) {
            if (have == buf.length) {
                buf = Arrays.copyOf(buf, (int) Math.min(n, 2L * buf.length));
            }
            int r = in.read(buf, have, buf.length - have);
            if (r < 0) {
                throw new InvalidFileException(where + ": truncated: the data ends after " + have + " of " + n
                        + " bytes (" + (headerBytes + have) + " of " + (headerBytes + n) + " in all)");
            }
            have += r;
        }
        return buf;
    }

    private static String hex(int v) {
        return String.format("%08X", v);
    }
}
