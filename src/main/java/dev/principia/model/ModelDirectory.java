package dev.principia.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * An HF model directory opened for serving: {@code config.json}, {@code tokenizer.json},
 * {@code tokenizer_config.json} (with its chat template) and, when present,
 * {@code generation_config.json}. Every failure names the file and the problem.
 *
 * @param eosTokenIds ids that end generation: {@code generation_config.json}'s and {@code config.json}'s
 *                    {@code eos_token_id} plus the tokenizer's {@code eos_token}
 */
public record ModelDirectory(Path dir, ModelConfig config, Tokenizer tokenizer, ChatTemplate chatTemplate, int[] eosTokenIds,
                             boolean embeddedDefault) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static ModelDirectory open(Path dir, boolean embeddedDefault) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + ": model directory not found");
        }
        for (String required : List.of(ModelConfig.FILE_NAME, "tokenizer.json", "tokenizer_config.json")) {
            if (!Files.isRegularFile(dir.resolve(required))) {
                throw new IllegalArgumentException(dir.resolve(required) + ": required file is missing");
            }
        }
        ModelConfig config = ModelConfig.read(dir);
        checkWeights(dir, config);
        Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"));
        ChatTemplate template = ChatTemplate.read(dir.resolve("tokenizer_config.json"));
        try {
            ChatEncoder.of(tokenizer, template);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
        Set<Integer> eos = new LinkedHashSet<>(config.eosTokenIds());
        Path generationConfig = dir.resolve("generation_config.json");
        if (Files.isRegularFile(generationConfig)) {
            JsonNode id = JSON.readTree(generationConfig.toFile()).get("eos_token_id");
            if (id != null && id.isInt()) eos.add(id.asInt());
            if (id != null && id.isArray()) id.forEach(n -> eos.add(n.asInt()));
        }
        if (!template.eosToken().isEmpty()) {
            int id = tokenizer.tokenId(template.eosToken());
            if (id >= 0) eos.add(id);
        }
        if (eos.isEmpty()) {
            throw new IllegalArgumentException(dir + ": no end-of-sequence token: set eos_token_id in config.json or generation_config.json");
        }
        for (int id : eos) {
            if (id >= config.vocabSize()) {
                throw new IllegalArgumentException(dir + ": eos token id " + id + " is outside the vocabulary of " + config.vocabSize());
            }
        }
        return new ModelDirectory(dir, config, tokenizer, template, eos.stream().mapToInt(Integer::intValue).toArray(), embeddedDefault);
    }

    /**
     * Checks the safetensors headers (not the data) against the config: every tensor present with the
     * implied shape. Skipped when the directory carries a pre-exported {@code onnx/model.onnx}.
     */
    private static void checkWeights(Path dir, ModelConfig config) throws IOException {
        boolean weights = Files.exists(dir.resolve(Safetensors.INDEX_FILE)) || Files.exists(dir.resolve(Safetensors.SINGLE_FILE));
        if (!weights && Files.isRegularFile(dir.resolve(ExportCache.ONNX_SUBDIR).resolve(ExportCache.ONNX_FILE))) return;
        if (!weights) {
            throw new IllegalArgumentException(dir + ": no weights: neither " + Safetensors.SINGLE_FILE + ", "
                    + Safetensors.INDEX_FILE + " nor " + ExportCache.ONNX_SUBDIR + "/" + ExportCache.ONNX_FILE + " found");
        }
        try (Safetensors st = Safetensors.open(dir)) {
            WeightLayout.check(config, st, dir);
        }
    }

    /** Prompt ids from messages, with caller text kept as data (built, and checked, when the directory is opened). */
    public ChatEncoder chatEncoder() {
        return ChatEncoder.of(tokenizer, chatTemplate);
    }

    /** Directory name, as a model name for logs and ServerInfo. */
    public String name() {
        return dir.getFileName().toString();
    }

    /** Parameter count implied by the config (embeddings, attention, MLP, norms, head; a tied head counts once). */
    public long numParameters() {
        return WeightLayout.numParameters(config);
    }
}
