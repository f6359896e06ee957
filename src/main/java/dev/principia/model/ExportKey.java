package dev.principia.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The content fingerprint an export is cached under: SHA-256 over the exporter's version, the export
 * options, {@code config.json}'s bytes and, for each safetensors file (in index order), its name, size,
 * header and {@value #SAMPLED_PAGES} pages of {@value #PAGE_BYTES} bytes spread evenly over its data.
 *
 * <p>Not a path or a modification time: a copied directory reuses its export, and new weights under an
 * unchanged {@code config.json} (a fine-tune has the same header, sizes and offsets) change the sampled
 * pages, since training moves essentially every value. Reading the headers and 64 sampled pages per
 * shard costs milliseconds where hashing 54 GB of weights would cost minutes on every start.
 */
public final class ExportKey {
    static final int SAMPLED_PAGES = 64;
    static final int PAGE_BYTES = 4096;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ExportKey() {
    }

    /**
     * The fingerprint of {@code modelDir}'s weights and config under an exporter {@code version} and
     * {@code options} (any string that changes whenever the graph would), as 16 hex digits.
     */
    public static String of(Path modelDir, String version, String options) throws IOException {
        MessageDigest sha = sha256();
        update(sha, "exporter " + version);
        update(sha, "options " + options);
        sha.update(Files.readAllBytes(modelDir.resolve(ModelConfig.FILE_NAME)));
        for (String file : safetensorsFiles(modelDir)) {
            update(sha, "file " + file);
            fingerprint(sha, modelDir.resolve(file));
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 8);
    }

    /** The safetensors files of a model directory: the index's shards in first-listed order, else the single file. */
    static Set<String> safetensorsFiles(Path modelDir) throws IOException {
        Set<String> files = new LinkedHashSet<>();
        Path index = modelDir.resolve(Safetensors.INDEX_FILE);
        if (Files.isRegularFile(index)) {
            JsonNode map = JSON.readTree(index.toFile()).get("weight_map");
            if (map == null || !map.isObject()) throw new IOException(index + ": missing object field 'weight_map'");
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) files.add(it.next().getValue().asText());
        } else {
            files.add(Safetensors.SINGLE_FILE);
        }
        return files;
    }

    private static void fingerprint(MessageDigest sha, Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            update(sha, "size " + size);
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            read(ch, len, 0);
            long headerLen = size >= 8 ? len.getLong(0) : 0;
            if (headerLen < 0 || headerLen > size - 8) throw new IOException(file + ": corrupt safetensors header length " + headerLen);
            ByteBuffer header = ByteBuffer.allocate((int) Math.min(headerLen, 100L << 20));
            read(ch, header, 8);
            sha.update(header.array(), 0, header.position());
            long dataStart = 8 + headerLen, dataLen = size - dataStart;
            ByteBuffer page = ByteBuffer.allocate(PAGE_BYTES);
            for (int i = 0; i < SAMPLED_PAGES && dataLen > 0; i++) {
                long at = dataStart + (dataLen - Math.min(dataLen, PAGE_BYTES)) * i / Math.max(1, SAMPLED_PAGES - 1);
                page.clear().limit((int) Math.min(PAGE_BYTES, dataLen));
                read(ch, page, at);
                sha.update(page.array(), 0, page.position());
            }
        }
    }

    private static void read(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) break;
            pos += n;
        }
    }

    private static void update(MessageDigest sha, String s) {
        sha.update(s.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }
}
