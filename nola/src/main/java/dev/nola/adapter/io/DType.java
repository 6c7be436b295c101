package dev.nola.adapter.io;

import dev.nola.io.Echo;
import dev.nola.io.InvalidFileException;

/** The safetensors element types this reader accepts in a header, with their sizes in bytes. */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The type named in a header, or an exception listing the accepted names. */
    public static DType parse(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        throw new InvalidFileException("unknown dtype " + Echo.quote(name) + "; accepted: "
                + java.util.Arrays.toString(values()));
    }
}
