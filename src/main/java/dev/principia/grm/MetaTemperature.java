package dev.principia.grm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The meta-RM's default vote: the temperature at which a request that sets none of {@code budget.meta_keep},
 * {@code meta_min_score} and {@code meta_temperature} is weighted ({@link MetaFilter#weigh}), or 0 for the paper's
 * rule, the top half by meta score. A meta-RM's scores are logits on its own scale, so which rule serves it best is a
 * property of the model: its directory may declare it, as it declares the form it reads ({@link MetaInput.Form}), and
 * the operator's {@code principia.meta-rm.temperature} overrides that.
 */
public final class MetaTemperature {
    /** The key of a model directory's {@code config.json} that holds the default temperature; absent means 0 (top half). */
    public static final String CONFIG_KEY = "principia_meta_temperature";

    private MetaTemperature() {
    }

    /** What {@code modelDir}'s {@code config.json} declares under {@link #CONFIG_KEY}; 0 when it declares nothing. */
    public static float declaredBy(Path modelDir) throws IOException {
        JsonNode value = new ObjectMapper().readTree(Files.readString(modelDir.resolve("config.json"))).get(CONFIG_KEY);
        if (value == null || value.isNull()) return 0f;
        if (!value.isNumber()) throw new IllegalArgumentException(CONFIG_KEY + " must be a number, got " + value);
        return check(value.floatValue());
    }

    /**
     * The default to serve: {@code configured} ({@code principia.meta-rm.temperature}) when set, else what
     * {@code modelDir} declares; a bad value fails with a message that says where it came from.
     *
     * @return 0 for the top half, else a finite temperature &gt; 0
     */
    public static float resolve(Optional<Float> configured, Path modelDir) throws IOException {
        try {
            return configured.isPresent() ? check(configured.get()) : declaredBy(modelDir);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException((configured.isPresent() ? "principia.meta-rm.temperature: " : modelDir + "/config.json: ")
                    + e.getMessage(), e);
        }
    }

    private static float check(float t) {
        if (!(t >= 0) || Float.isInfinite(t)) {
            throw new IllegalArgumentException("the meta-RM's default temperature must be finite and >= 0 (0 = the top half), got " + t);
        }
        return t;
    }
}
