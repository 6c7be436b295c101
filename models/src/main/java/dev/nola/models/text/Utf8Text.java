package dev.nola.models.text;

import dev.nola.io.InputFiles;
import dev.nola.io.InvalidFileException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Strict UTF-8 reading of a text file: invalid bytes are an error naming the line, never U+FFFD. */
final class Utf8Text {

    private Utf8Text() {
    }

    /** The text of {@code file} (at most {@code maxBytes}), without a leading byte-order mark; refused when blank. */
    static String read(Path file, long maxBytes) {
        // the bytes, the decoder's UTF-16 buffer (2 bytes a byte) and the String made from it (up to 2)
        byte[] bytes = InputFiles.readAll(file, maxBytes, 5);
        int start = bytes.length >= 3 && (bytes[0] & 0xFF) == 0xEF && (bytes[1] & 0xFF) == 0xBB && (bytes[2] & 0xFF) == 0xBF ? 3 : 0;
        if (bytes.length == start) {
            throw new InvalidFileException(file + ": the file is empty; expected UTF-8 text");
        }
        String text = decode(file, bytes, start);
        if (text.isBlank()) {
            throw new InvalidFileException(file + ": the file holds only whitespace (" + bytes.length + " bytes); expected text");
        }
        return text;
    }

    private static String decode(Path file, byte[] bytes, int start) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, start, bytes.length - start);
        CharBuffer out = CharBuffer.allocate(bytes.length - start);
        CoderResult r = d.decode(in, out, true);
        if (r.isUnderflow()) {
            r = d.flush(out);
        }
        if (r.isError()) {
            int at = in.position();
            int line = 1;
            for (int i = 0; i < at; i++) {
                if (bytes[i] == '\n') {
                    line++;
                }
            }
            throw new InvalidFileException(file + ":" + line + ": invalid UTF-8 at byte offset " + at + " (0x"
                    + String.format("%02X", bytes[at] & 0xFF) + "); expected UTF-8 text");
        }
        if (!r.isUnderflow()) {
            // cannot happen: UTF-8 never yields more chars than bytes
            throw new IllegalStateException("decoding " + file + " overflowed its buffer");
        }
        return out.flip().toString();
    }
}
