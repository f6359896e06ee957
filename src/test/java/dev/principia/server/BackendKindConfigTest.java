package dev.principia.server;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code principia.backend} is a value of its own beside the {@code principia.backend.*} group. */
class BackendKindConfigTest {
    static PrincipiaConfig.Backend backend(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(PrincipiaConfig.class)
                .withSources(new PropertiesConfigSource(properties, "test", 500)).build();
        return config.getConfigMapping(PrincipiaConfig.class).backend();
    }

    @Test
    void theGroupsOwnValueAndItsKeysCoexist() {
        PrincipiaConfig.Backend b = backend(Map.of("principia.backend", "tensorrt", "principia.backend.weights", "fp16"));
        assertEquals("tensorrt", b.kind());
        assertEquals("fp16", b.weights());
        assertEquals("auto", b.attention());
        assertEquals("auto", backend(Map.of()).kind());
        assertEquals("onnx", backend(Map.of("principia.backend", "onnx")).kind());
    }
}
