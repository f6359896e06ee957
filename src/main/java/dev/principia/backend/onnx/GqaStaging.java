package dev.principia.backend.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.principia.backend.Batch;
import dev.principia.model.onnx.OnnxExporter;

import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;

/**
 * Inputs and KV staging of a GroupQueryAttention decoder ({@link OnnxExporter.Attention#GQA}; I/O in
 * {@link OnnxExporter}). Each call's rows are right-aligned in per-layer K and V buffers
 * {@code [B, kvHeads, capacity, headDim]} that are bound as both {@code past} and {@code present}, so ONNX
 * Runtime writes the S new positions of each row at {@code [start, start + S)} in place and copies nothing else.
 *
 * <p>Copies per call, per layer and K/V, in elements: the new positions into the slots ({@code B*kvHeads*S*headDim});
 * the pasts from the slots ({@code sum_b L_b*kvHeads*headDim}) unless a decode call continues the previous one
 * ({@link DecodeLayout}) within the buffers' capacity, which then holds every past already. A decode buffer is
 * sized with headroom ({@link #decodeCapacity}) so that it is re-packed about every {@code max(16, L/4)} steps.
 * A prompt or chunk (B = 1) uses its own buffers of exactly {@code L + S} positions.
 *
 * <p>Not thread-safe; owned by one {@link OnnxBackend}.
 */
final class GqaStaging {
    private final PagedKvCache kv;
    private final int numLayers, numKvHeads, headDim, elementBytes, maxPositions;
    private final OnnxJavaType kvType;
    private final KvBuffers decodeBufs, promptBufs;
    /** What the decode buffers hold, or null; valid for {@link #capacity}. */
    private DecodeLayout layout;
    private int capacity;
    /** Decode calls that packed their pasts from the slots (the rest continued in place). */
    private long numDecodePacks;

    GqaStaging(PagedKvCache kv, int numLayers, int numKvHeads, int headDim, int elementBytes, int maxPositions, OnnxJavaType kvType) {
        this.kv = kv;
        this.numLayers = numLayers;
        this.numKvHeads = numKvHeads;
        this.headDim = headDim;
        this.elementBytes = elementBytes;
        this.maxPositions = maxPositions;
        this.kvType = kvType;
        this.decodeBufs = new KvBuffers(numLayers);
        this.promptBufs = new KvBuffers(numLayers);
    }

    /** The decode buffers' capacity for a longest row of {@code total} positions: {@code total + max(16, total / 4)}, in 16s, at most maxPositions. */
    int decodeCapacity(int total) {
        int c = total + Math.max(16, total / 4);
        return Math.min(maxPositions, (c + 15) / 16 * 16);
    }

    /**
     * Stages a call of {@code group} (entries of equal token count S; B = 1 when S > 1) and adds its inputs and
     * its pinned KV outputs; {@code logits} is the caller's. On failure the decode buffers count as unknown.
     */
    void prepare(OrtEnvironment env, List<Batch.Entry> group, KvSlot[] slots, Map<String, OnnxTensor> inputs,
                 Map<String, OnnxTensor> outputs) throws OrtException {
        int b = group.size(), s = group.get(0).tokenIds().length, total = 0;
        int[] lengths = new int[b], seqlens = new int[b];
        long[] ids = new long[b * s];
        for (int i = 0; i < b; i++) {
            Batch.Entry e = group.get(i);
            lengths[i] = e.startPosition();
            seqlens[i] = e.startPosition() + s - 1;
            total = Math.max(total, e.startPosition() + s);
            for (int j = 0; j < s; j++) ids[i * s + j] = e.tokenIds()[j];
        }
        boolean decode = s == 1;
        KvBuffers bufs = decode ? decodeBufs : promptBufs;
        int c;
        if (!decode) {
            c = total;
            kv.gatherRightAligned(slots, lengths, c, bufs);
        } else if (layout != null && layout.holds(group, slots) && total <= capacity) {
            c = capacity;
        } else {
            c = decodeCapacity(total);
            kv.gatherRightAligned(slots, lengths, c, bufs);
            numDecodePacks++;
        }
        if (decode) {
            layout = null; // the call overwrites the buffers; a failed call leaves them unknown
            capacity = c;
        }
        inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[]{b, s}));
        inputs.put("seqlens_k", OnnxTensor.createTensor(env, IntBuffer.wrap(seqlens), new long[]{b}));
        inputs.put("total_sequence_length", OnnxTensor.createTensor(env, IntBuffer.wrap(new int[]{total}), new long[0]));
        long[] shape = {b, numKvHeads, c, headDim};
        long bytes = (long) b * numKvHeads * c * headDim * elementBytes;
        for (int l = 0; l < numLayers; l++) {
            inputs.put(OnnxExporter.pastKey(l), OnnxTensor.createTensor(env, bufs.view(l, true, bytes), shape, kvType));
            inputs.put(OnnxExporter.pastValue(l), OnnxTensor.createTensor(env, bufs.view(l, false, bytes), shape, kvType));
            outputs.put(OnnxExporter.presentKey(l), OnnxTensor.createTensor(env, bufs.view(l, true, bytes), shape, kvType));
            outputs.put(OnnxExporter.presentValue(l), OnnxTensor.createTensor(env, bufs.view(l, false, bytes), shape, kvType));
        }
    }

    long numDecodePacks() {
        return numDecodePacks;
    }

    /** After a successful call staged by {@link #prepare}: the new positions go into the slots; a decode call's buffers stay current. */
    void finish(List<Batch.Entry> group, KvSlot[] slots) {
        int s = group.get(0).tokenIds().length;
        if (s == 1) {
            kv.scatterRightAligned(decodeBufs, group, slots, capacity, 1);
            layout = DecodeLayout.of(group, slots);
        } else {
            int total = group.get(0).startPosition() + s;
            kv.scatterRightAligned(promptBufs, group, slots, total, s);
        }
    }
}
