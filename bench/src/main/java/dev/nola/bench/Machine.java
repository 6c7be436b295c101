package dev.nola.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the report records of the machine (Linux files; "unknown" elsewhere). */
final class Machine {

    private Machine() {
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // below
        }
        return "unknown";
    }

    /** Cache level (L1d, L2, L3) to its size in bytes, as CPU 0 sees them. */
    static Map<String, Long> caches() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < 8; i++) {
            Path dir = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + i);
            if (!Files.isDirectory(dir)) {
                break;
            }
            try {
                String type = Files.readString(dir.resolve("type")).trim();
                if (type.equals("Instruction")) {
                    continue;
                }
                String level = "L" + Files.readString(dir.resolve("level")).trim() + (type.equals("Data") ? "d" : "");
                String size = Files.readString(dir.resolve("size")).trim();
                long bytes = Long.parseLong(size.replaceAll("[^0-9]", ""));
                bytes <<= size.endsWith("K") ? 10 : size.endsWith("M") ? 20 : 0;
                out.put(level, bytes);
            } catch (IOException | NumberFormatException e) {
                // leave this level out
            }
        }
        return out;
    }

    /** The last-level cache's size in bytes, or 0. */
    static long lastLevelCache() {
        return caches().values().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    /** MemTotal in bytes, or 0. */
    static long memoryBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // below
        }
        return 0;
    }
}
