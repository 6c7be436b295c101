package dev.nola.models.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.models.Messages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxFileTest {

    @TempDir
    Path tmp;

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(tmp.resolve(name), bytes);
    }

    private String fails(String name, byte[] bytes, int magic) throws IOException {
        Path f = write(name, bytes);
        String m = Messages.of(() -> IdxFile.read(f, magic));
        assertTrue(m.startsWith(f.toString()), m);
        return m;
    }

    @Test
    void readsPlainAndGzippedFilesAlike() throws IOException {
        byte[] im = Idx.images(5, 3, 4);
        IdxFile plain = IdxFile.read(write("im", im), IdxFile.IMAGES_MAGIC);
        IdxFile gz = IdxFile.read(write("im.gz", Idx.gzip(im)), IdxFile.IMAGES_MAGIC);
        assertArrayEquals(new int[] {5, 3, 4}, plain.dims());
        assertEquals(IdxFile.IMAGES_MAGIC, plain.magic());
        assertArrayEquals(Arrays.copyOfRange(im, 16, im.length), plain.data());
        assertArrayEquals(plain.data(), gz.data());
        assertArrayEquals(plain.dims(), gz.dims());
        IdxFile labels = IdxFile.read(write("lb", Idx.labels(7, 3)), IdxFile.LABELS_MAGIC);
        assertArrayEquals(new int[] {7}, labels.dims());
        assertEquals(2, labels.data()[5]);
    }

    @Test
    void aTruncatedFileIsNamedWithBothSizes() throws IOException {
        byte[] im = Idx.images(5, 3, 4);
        String m = fails("cut", Arrays.copyOf(im, im.length - 1), IdxFile.IMAGES_MAGIC);
        assertTrue(m.endsWith("the file is 75 bytes but its header [5, 3, 4] declares 16 + 60 = 76 (truncated)"), m);
        m = fails("long", Arrays.copyOf(im, im.length + 3), IdxFile.IMAGES_MAGIC);
        assertTrue(m.endsWith("(trailing bytes)"), m);
        m = fails("head", Arrays.copyOf(im, 10), IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("truncated in the header: 10 bytes, expected 16"), m);
        m = fails("tiny", new byte[] {0, 0}, IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("2 bytes, shorter than the 4-byte IDX magic number"), m);
        m = fails("empty", new byte[0], IdxFile.LABELS_MAGIC);
        assertTrue(m.contains("0 bytes"), m);
    }

    @Test
    void aTruncatedGzipFileIsNamed() throws IOException {
        byte[] im = Idx.images(5, 3, 4);
        // complete gzip of incomplete IDX data
        String m = fails("short.gz", Idx.gzip(Arrays.copyOf(im, im.length - 7)), IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("(decompressed): truncated: the data ends after 53 of 60 bytes"), m);
        // incomplete gzip stream
        byte[] gz = Idx.gzip(Idx.images(50, 8, 8));
        m = fails("cut.gz", Arrays.copyOf(gz, gz.length / 2), IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("the gzip stream is truncated"), m);
        m = fails("more.gz", Idx.gzip(Arrays.copyOf(im, im.length + 1)), IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("more data than its header [5, 3, 4] declares (76 bytes)"), m);
        m = fails("junk.gz", new byte[] {0x1F, (byte) 0x8B, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("not valid gzip data") || m.contains("gzip stream is truncated"), m);
    }

    @Test
    void aHeaderThatClaimsMoreThanTheStreamHoldsFailsWithoutAllocatingIt() throws IOException {
        // 60000 × 28 × 28 declared, 10 bytes present: read in chunks that grow only with the data
        byte[] lie = Idx.file(IdxFile.IMAGES_MAGIC, new int[] {60000, 28, 28}, new byte[10]);
        String m = fails("lie.gz", Idx.gzip(lie), IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("the data ends after 10 of 47040000 bytes"), m);
        byte[] huge = Idx.file(IdxFile.IMAGES_MAGIC, new int[] {Integer.MAX_VALUE, 65536, 65536}, new byte[0]);
        m = fails("huge", huge, IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("declare more than 2147483639 bytes"), m);
    }

    @Test
    void theMagicNumberAndExtentsAreChecked() throws IOException {
        String m = fails("labels-as-images", Idx.labels(4, 2), IdxFile.IMAGES_MAGIC);
        assertTrue(m.endsWith("magic number 0x00000801; expected 0x00000803 (unsigned-byte images [N, rows, cols])"), m);
        m = fails("images-as-labels.gz", Idx.gzip(Idx.images(1, 2, 2)), IdxFile.LABELS_MAGIC);
        assertTrue(m.contains("(decompressed): magic number 0x00000803; expected 0x00000801 (unsigned-byte labels [N])"), m);
        m = fails("text", "hello world\n".getBytes(), IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("magic number 0x68656C6C"), m);
        m = fails("zero", Idx.file(IdxFile.IMAGES_MAGIC, new int[] {0, 28, 28}, new byte[0]), IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("dimension 0 is 0; expected 1.."), m);
        m = fails("negative", Idx.file(IdxFile.IMAGES_MAGIC, new int[] {1, -1, 2}, new byte[0]), IdxFile.IMAGES_MAGIC);
        assertTrue(m.contains("dimension 1 is 4294967295"), m);
    }

    @Test
    void aMissingFileIsNamed() {
        Path f = tmp.resolve("absent-idx3-ubyte.gz");
        String m = Messages.of(() -> IdxFile.read(f, IdxFile.IMAGES_MAGIC));
        assertTrue(m.contains("absent-idx3-ubyte.gz") && m.contains("does not exist"), m);
    }
}
