package dev.principia.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * {@code rope_scaling} of an HF config, for the kinds this project implements (HF
 * {@code modeling_rope_utils}; both keep the attention factor at 1):
 * <ul>
 *   <li>{@code linear}: {@code invFreq / factor} for every frequency (positions interpolated).</li>
 *   <li>{@code llama3}: with {@code L = originalMaxPositionEmbeddings} and wavelength {@code w = 2π / invFreq}:
 *       {@code w < L / highFreqFactor} keeps {@code invFreq}; {@code w > L / lowFreqFactor} uses
 *       {@code invFreq / factor}; in between, {@code (1 - s) invFreq / factor + s invFreq} with
 *       {@code s = (L / w - lowFreqFactor) / (highFreqFactor - lowFreqFactor)}.</li>
 * </ul>
 * Other kinds ({@code dynamic}, {@code yarn}, {@code longrope}, ...) are rejected by name.
 *
 * @param type                          {@code linear} or {@code llama3}
 * @param factor                        > 0
 * @param lowFreqFactor                 llama3 only (0 for linear)
 * @param highFreqFactor                llama3 only, > lowFreqFactor (0 for linear)
 * @param originalMaxPositionEmbeddings llama3 only, > 0 (0 for linear)
 */
public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {
    public static final List<String> SUPPORTED_TYPES = List.of("linear", "llama3");

    public RopeScaling {
        if (!SUPPORTED_TYPES.contains(type)) {
            throw new IllegalArgumentException("rope_scaling type '" + type + "' is not supported; supported: " + SUPPORTED_TYPES);
        }
        if (!(factor > 0)) throw new IllegalArgumentException("rope_scaling.factor must be > 0, got " + factor);
        if (type.equals("llama3")) {
            if (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor)) {
                throw new IllegalArgumentException("rope_scaling llama3 needs 0 < low_freq_factor < high_freq_factor, got "
                        + lowFreqFactor + " and " + highFreqFactor);
            }
            if (originalMaxPositionEmbeddings <= 0) {
                throw new IllegalArgumentException("rope_scaling llama3 needs original_max_position_embeddings > 0, got "
                        + originalMaxPositionEmbeddings);
            }
        }
    }

    public static RopeScaling linear(double factor) {
        return new RopeScaling("linear", factor, 0, 0, 0);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {
        return new RopeScaling("llama3", factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings);
    }

    /** Parses {@code rope_scaling}; null for absent, null or {@code default}. Errors name the field. */
    static RopeScaling parse(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (!n.isObject()) throw new IllegalArgumentException("field 'rope_scaling' must be an object or null, got " + n);
        JsonNode t = n.hasNonNull("rope_type") ? n.get("rope_type") : n.get("type");
        if (t == null || !t.isTextual()) throw new IllegalArgumentException("field 'rope_scaling' has no rope_type");
        String type = t.asText();
        if (type.equals("default")) return null;
        if (!SUPPORTED_TYPES.contains(type)) {
            throw new IllegalArgumentException("rope_scaling type '" + type + "' is not supported; supported: " + SUPPORTED_TYPES);
        }
        double factor = number(n, "factor");
        if (type.equals("linear")) return linear(factor);
        return llama3(factor, number(n, "low_freq_factor"), number(n, "high_freq_factor"),
                (int) number(n, "original_max_position_embeddings"));
    }

    private static double number(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isNumber()) throw new IllegalArgumentException("field 'rope_scaling." + field + "' must be a number, got " + v);
        return v.asDouble();
    }

    void writeTo(ObjectNode o) {
        o.put("rope_type", type);
        o.put("factor", factor);
        if (type.equals("llama3")) {
            o.put("low_freq_factor", lowFreqFactor);
            o.put("high_freq_factor", highFreqFactor);
            o.put("original_max_position_embeddings", originalMaxPositionEmbeddings);
        }
    }

    /** Inverse frequencies [headDim / 2] for {@code theta}, with {@code scaling} applied (null = unscaled). */
    public static double[] inverseFrequencies(double theta, int headDim, RopeScaling scaling) {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(theta, 2.0 * i / headDim);
            if (scaling != null) inv[i] = scaling.scale(inv[i]);
        }
        return inv;
    }

    private double scale(double invFreq) {
        if (type.equals("linear")) return invFreq / factor;
        double wavelen = 2 * Math.PI / invFreq;
        double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
        double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
        if (wavelen < highFreqWavelen) return invFreq;
        if (wavelen > lowFreqWavelen) return invFreq / factor;
        double s = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - s) * invFreq / factor + s * invFreq;
    }
}
