package dev.principia.server;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The memory the process may use: a configured limit, else the tighter of the container's cgroup limit
 * (v2 {@code memory.max}, v1 {@code memory.limit_in_bytes}) and physical memory.
 *
 * @param source where {@code bytes} came from, for messages
 */
record MachineMemory(long bytes, String source) {
    static final Path CGROUP_V2 = Path.of("/sys/fs/cgroup/memory.max");
    static final Path CGROUP_V1 = Path.of("/sys/fs/cgroup/memory/memory.limit_in_bytes");

    /** @param configuredBytes {@code principia.engine.memory-limit-bytes}; 0 = detect */
    static MachineMemory detect(long configuredBytes) {
        if (configuredBytes > 0) return new MachineMemory(configuredBytes, "principia.engine.memory-limit-bytes");
        long physical = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        MachineMemory best = new MachineMemory(physical, "physical memory");
        for (Path p : new Path[]{CGROUP_V2, CGROUP_V1}) {
            long limit = readLimit(p);
            if (limit > 0 && limit < best.bytes()) best = new MachineMemory(limit, "cgroup " + p.getFileName());
        }
        return best;
    }

    /** A cgroup limit file's value; -1 for "max", absent or unreadable. */
    static long readLimit(Path file) {
        try {
            String s = Files.readString(file).trim();
            return s.equals("max") ? -1 : Long.parseLong(s);
        } catch (IOException | NumberFormatException | SecurityException e) {
            return -1;
        }
    }
}
