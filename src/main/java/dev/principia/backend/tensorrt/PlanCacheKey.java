package dev.principia.backend.tensorrt;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What a serialized TensorRT plan was built from: the graph's content (SHA-256 of the ONNX file and its external data
 * files), the TensorRT version, the GPU and its compute capability, the optimization profiles and the dtype. Any
 * change gives another {@link #fileName()}, so a plan is never used with anything but what it was built for.
 */
public record PlanCacheKey(String graphSha256, String tensorRtVersion, String gpuName, String computeCapability, String profiles, String dtype) {
    public PlanCacheKey {
        for (String s : new String[] {graphSha256, tensorRtVersion, gpuName, computeCapability, profiles, dtype}) {
            if (s == null || s.isBlank()) throw new IllegalArgumentException("every plan key component must be set");
        }
    }

    public static PlanCacheKey of(Path onnx, GpuFacts facts, ProfileShapes shapes, String dtype) throws IOException {
        return new PlanCacheKey(graphSha256(onnx), facts.tensorRtVersion(), facts.gpuName(), facts.computeCapability(), shapes.describe(), dtype);
    }

    /** Canonical text of the key, stored in the plan file and compared on load. */
    public String text() {
        return "principia tensorrt plan v1\ngraph " + graphSha256 + "\ntensorrt " + tensorRtVersion + "\ngpu " + gpuName + "\ncompute "
                + computeCapability + "\ndtype " + dtype + "\nprofiles " + profiles + "\n";
    }

    /** {@code plan-<first 32 hex digits of SHA-256(text)>.trt}. */
    public String fileName() {
        return "plan-" + HexFormat.of().formatHex(sha256().digest(text().getBytes(StandardCharsets.UTF_8))).substring(0, 32) + ".trt";
    }

    /** SHA-256 over the graph file, then each external data file beside it ({@code *.data}, {@code *.onnx_data}) by name: name, size, bytes. */
    public static String graphSha256(Path onnx) throws IOException {
        List<Path> files = new ArrayList<>(List.of(onnx));
        try (var siblings = Files.list(onnx.toAbsolutePath().getParent())) {
            siblings.filter(p -> !p.getFileName().equals(onnx.getFileName()))
                    .filter(p -> p.getFileName().toString().endsWith(".data") || p.getFileName().toString().endsWith(".onnx_data"))
                    .sorted().forEach(files::add);
        }
        MessageDigest md = sha256();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        for (Path f : files) {
            md.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            md.update(ByteBuffer.allocate(Long.BYTES).putLong(0, Files.size(f)));
            try (FileChannel ch = FileChannel.open(f)) {
                while (ch.read(buf.clear()) >= 0) md.update(buf.flip());
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }
}
