package dev.principia.model.onnx;

import dev.principia.model.ModelConfig;
import dev.principia.model.onnx.OnnxGraph.Attr;

import java.io.IOException;
import java.util.List;

/**
 * The decoder graph of {@link OnnxExporter.Attention#PORTABLE}: the plain graph's layers ({@link DecoderGraph}:
 * embeddings, RoPE tables gathered by {@code position_ids}, RMSNorm, attention written out, MLPs, final norm)
 * over a fixed-capacity KV buffer. Each layer writes its new keys and values into the buffer with the standard
 * {@code TensorScatter} (opset 24, {@code axis = -2}, linear mode) at {@code write_indices = position_ids[:, 0]},
 * and attention reads all C positions of the result, masked per row from {@code position_ids}: key j is visible
 * to query i of row b iff {@code j <= position_ids[b, i]} and, on sliding layers,
 * {@code j > position_ids[b, i] - window}. The I/O contract is in {@link OnnxExporter}.
 *
 * <p>Only the standard ONNX domain is used, so TensorRT's ONNX parser can build it; dense weights only
 * ({@link OnnxExporter.Options} refuses quantized ones).
 */
final class PortableDecoder {
    private PortableDecoder() {
    }

    /**
     * Declares position_ids, the past and present caches, and builds the layers on {@code input_ids};
     * returns the final residual stream x [N, hidden] before the final norm. Call after the logits output is
     * declared, so that present outputs follow it.
     */
    static String build(ModelConfig c, OnnxGraph g, DecoderGraph body, int act, String bs) throws IOException {
        int d = c.headDim(), kv = c.numKeyValueHeads();
        g.input("position_ids", OnnxGraph.INT64, "batch", "seq");
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            g.input(OnnxExporter.pastKey(i), act, "batch", kv, "capacity", d);
            g.input(OnnxExporter.pastValue(i), act, "batch", kv, "capacity", d);
        }
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            g.output(OnnxExporter.presentKey(i), act, "batch", kv, "capacity", d);
            g.output(OnnxExporter.presentValue(i), act, "batch", kv, "capacity", d);
        }
        String x = body.embed("input_ids");
        body.ropeTables("position_ids");
        // diff [B, 1, 1, S, C] = position_ids[b, i] - j for cache index j in [0, C)
        String capacity = g.op("Gather", List.of(g.op("Shape", List.of(OnnxExporter.pastKey(0))), g.int64Scalar(2)), Attr.i("axis", 0));
        String keyIdx = g.op("Range", List.of(g.int64Scalar(0), capacity, g.int64Scalar(1)));
        String queryPos = g.op("Unsqueeze", List.of("position_ids", g.int64s(1, 2, 4)));
        body.distanceMasks(g.op("Sub", List.of(queryPos, keyIdx)));
        // write_indices [B] = position_ids[:, 0], the row's length before this call
        String writeIdx = g.op("Gather", List.of("position_ids", g.int64Scalar(0)), Attr.i("axis", 1));
        DecoderGraph.CacheWrite scatter = (past, update, present) ->
                g.opNamed(present, "TensorScatter", List.of(past, update, writeIdx), Attr.i("axis", -2));
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            x = body.layer(l, x, bs, new String[]{OnnxExporter.pastKey(l), OnnxExporter.pastValue(l)},
                    new String[]{OnnxExporter.presentKey(l), OnnxExporter.presentValue(l)}, scatter);
        }
        return x;
    }
}
