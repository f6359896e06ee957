package dev.principia.backend.tensorrt;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Serialized TensorRT plans on disk, one file per {@link PlanCacheKey} in an envelope:
 * <pre>
 *   magic "PRNTRT01" | int key length | key text (UTF-8) | long payload length | SHA-256 of the payload | payload
 * </pre>
 * A plan is written to a temporary file beside its target and published by one rename, so a reader never sees a half
 * file. A file that is unreadable, truncated, of another key or whose payload does not match its digest is reported
 * through {@code warn}, deleted and treated as missing: the caller builds the plan again. The timing cache of a GPU
 * and TensorRT version lives beside the plans ({@link #timingCacheFile}).
 */
public final class PlanCache {
    static final byte[] MAGIC = "PRNTRT01".getBytes(StandardCharsets.US_ASCII);
    private static final int DIGEST_BYTES = 32;

    /** Where a valid plan's payload lies. */
    public record Entry(Path file, long payloadOffset, long payloadBytes) {
    }

    /** Writes a plan's bytes. */
    public interface PayloadWriter {
        void write(WritableByteChannel out) throws IOException;
    }

    private final Path dir;
    private final Consumer<String> warn;

    public PlanCache(Path dir, Consumer<String> warn) {
        this.dir = dir;
        this.warn = warn;
    }

    public Path dir() {
        return dir;
    }

    public Path file(PlanCacheKey key) {
        return dir.resolve(key.fileName());
    }

    /** The TensorRT timing cache for builds on this GPU and TensorRT version. */
    public Path timingCacheFile(GpuFacts facts) {
        String id = facts.tensorRtVersion() + "|" + facts.gpuName() + "|" + facts.computeCapability();
        return dir.resolve("timing-" + HexFormat.of().formatHex(PlanCacheKey.sha256().digest(id.getBytes(StandardCharsets.UTF_8))).substring(0, 16)
                + ".cache");
    }

    /** The valid plan of {@code key}; empty when there is none (a bad file is deleted with a warning). */
    public Optional<Entry> load(PlanCacheKey key) {
        Path file = file(key);
        if (!Files.isRegularFile(file)) return Optional.empty();
        String problem;
        try (FileChannel ch = FileChannel.open(file)) {
            problem = check(ch, key);
            if (problem == null) {
                long offset = headerBytes(key);
                return Optional.of(new Entry(file, offset, ch.size() - offset));
            }
        } catch (IOException e) {
            problem = "unreadable (" + e + ")";
        }
        warn.accept("TensorRT plan " + file + " is " + problem + "; deleting it, the plan is built again");
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            warn.accept("cannot delete " + file + ": " + e.getMessage());
        }
        return Optional.empty();
    }

    /** Why the file is not a valid plan of {@code key}, or null. */
    private static String check(FileChannel ch, PlanCacheKey key) throws IOException {
        byte[] keyBytes = key.text().getBytes(StandardCharsets.UTF_8);
        ByteBuffer head = ByteBuffer.allocate(MAGIC.length + Integer.BYTES);
        if (!readFully(ch, head, 0)) return "truncated (no header)";
        if (!Arrays.equals(Arrays.copyOf(head.array(), MAGIC.length), MAGIC)) return "not a plan file (wrong magic)";
        if (head.getInt(MAGIC.length) != keyBytes.length) return "of another key";
        ByteBuffer rest = ByteBuffer.allocate(keyBytes.length + Long.BYTES + DIGEST_BYTES);
        if (!readFully(ch, rest, head.capacity())) return "truncated (header)";
        if (!Arrays.equals(Arrays.copyOf(rest.array(), keyBytes.length), keyBytes)) return "of another key";
        long length = rest.getLong(keyBytes.length);
        long offset = headerBytes(key);
        if (ch.size() != offset + length) return "truncated or padded (" + (ch.size() - offset) + " payload bytes, header says " + length + ")";
        byte[] expected = Arrays.copyOfRange(rest.array(), keyBytes.length + Long.BYTES, rest.capacity());
        MessageDigest md = PlanCacheKey.sha256();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        ch.position(offset);
        while (ch.read(buf.clear()) >= 0) md.update(buf.flip());
        return Arrays.equals(md.digest(), expected) ? null : "corrupt (payload digest mismatch)";
    }

    private static boolean readFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) return false;
        }
        return true;
    }

    private static long headerBytes(PlanCacheKey key) {
        return MAGIC.length + Integer.BYTES + key.text().getBytes(StandardCharsets.UTF_8).length + Long.BYTES + DIGEST_BYTES;
    }

    /** Writes the plan {@code writer} produces under {@code key} (atomically) and returns it. */
    public Entry store(PlanCacheKey key, PayloadWriter writer) throws IOException {
        Files.createDirectories(dir);
        Path target = file(key);
        Path tmp = dir.resolve("." + key.fileName() + ".tmp-" + ProcessHandle.current().pid());
        byte[] keyBytes = key.text().getBytes(StandardCharsets.UTF_8);
        long offset = headerBytes(key);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate((int) offset).put(MAGIC).putInt(keyBytes.length).put(keyBytes);
            writeFully(ch, head.clear(), 0);
            ch.position(offset);
            MessageDigest md = PlanCacheKey.sha256();
            long[] count = {0};
            writer.write(new WritableByteChannel() {
                @Override
                public int write(ByteBuffer src) throws IOException {
                    ByteBuffer view = src.duplicate();
                    int n = ch.write(src);
                    md.update(view.limit(view.position() + n));
                    count[0] += n;
                    return n;
                }

                @Override
                public boolean isOpen() {
                    return ch.isOpen();
                }

                @Override
                public void close() {
                }
            });
            if (count[0] == 0) throw new IOException("the plan writer wrote nothing");
            ByteBuffer tail = ByteBuffer.allocate(Long.BYTES + DIGEST_BYTES).putLong(count[0]).put(md.digest());
            writeFully(ch, tail.flip(), offset - tail.capacity());
            ch.force(true);
        } catch (IOException | RuntimeException | Error e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return new Entry(target, offset, Files.size(target) - offset);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        while (b.hasRemaining()) ch.write(b, position + b.position());
    }

    /** Bytes {@code [offset, offset + length)} of a large (native) buffer as a {@link ByteBuffer}. */
    public interface Window {
        ByteBuffer at(long offset, int length);
    }

    private static final int WINDOW_BYTES = 1 << 30;

    /** Reads {@code entry}'s payload into {@code buffer}, window by window (a plan may pass 2 GiB). */
    public static void readPayload(Entry entry, Window buffer) throws IOException {
        try (FileChannel ch = FileChannel.open(entry.file())) {
            for (long off = 0; off < entry.payloadBytes(); ) {
                ByteBuffer b = buffer.at(off, (int) Math.min(WINDOW_BYTES, entry.payloadBytes() - off));
                while (b.hasRemaining()) {
                    if (ch.read(b, entry.payloadOffset() + off + b.position()) < 0) throw new EOFException(entry.file() + " ended early");
                }
                off += b.capacity();
            }
        }
    }

    /** Writes bytes {@code [0, size)} of {@code buffer} to {@code out}. */
    public static void writeAll(WritableByteChannel out, long size, Window buffer) throws IOException {
        for (long off = 0; off < size; ) {
            ByteBuffer b = buffer.at(off, (int) Math.min(WINDOW_BYTES, size - off));
            while (b.hasRemaining()) out.write(b);
            off += b.capacity();
        }
    }
}
