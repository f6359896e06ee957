package dev.principia.grm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetaTemperatureTest {
    @Test
    void aDirectoryDeclaresItsDefaultVoteAndTheServerSettingWins(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"LlamaForSequenceClassification\"]}");
        assertEquals(0f, MetaTemperature.declaredBy(dir), "none declared: the top half");
        Files.writeString(dir.resolve("config.json"), "{\"principia_meta_temperature\": 2.0}");
        assertEquals(2f, MetaTemperature.declaredBy(dir));
        assertEquals(2f, MetaTemperature.resolve(Optional.empty(), dir));
        assertEquals(0f, MetaTemperature.resolve(Optional.of(0f), dir), "the operator may turn the model's default off");
        assertEquals(5f, MetaTemperature.resolve(Optional.of(5f), dir), "the server's setting wins");
        Files.writeString(dir.resolve("config.json"), "{\"principia_meta_temperature\": \"2\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MetaTemperature.resolve(Optional.empty(), dir));
        assertTrue(e.getMessage().startsWith(dir + "/config.json: principia_meta_temperature must be a number"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"principia_meta_temperature\": -1}");
        e = assertThrows(IllegalArgumentException.class, () -> MetaTemperature.resolve(Optional.empty(), dir));
        assertTrue(e.getMessage().startsWith(dir + "/config.json: ") && e.getMessage().contains("finite and >= 0"), e.getMessage());
        for (float bad : new float[] {-0.5f, Float.NaN, Float.POSITIVE_INFINITY}) {
            e = assertThrows(IllegalArgumentException.class, () -> MetaTemperature.resolve(Optional.of(bad), dir));
            assertTrue(e.getMessage().startsWith("principia.meta-rm.temperature: ") && e.getMessage().contains("got " + bad), e.getMessage());
        }
    }

    @Test
    void theEmbeddedArithmeticMetaRmDeclaresTheTemperatureChosenOnValidation() throws Exception {
        Path dir = dev.principia.model.DefaultModel.ensureArithmetic(Files.createTempDirectory("meta-temperature"), true, s -> { });
        assertEquals(2f, MetaTemperature.declaredBy(dir));
        assertEquals(MetaInput.Form.CONVERSATION, MetaInput.Form.declaredBy(dir));
    }
}
