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
        Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"));
        ChatTemplate template = ChatTemplate.read(dir.resolve("tokenizer_config.json"));
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

    /** Directory name, as a model name for logs and ServerInfo. */
    public String name() {
        return dir.getFileName().toString();
    }

    /** Parameter count implied by the config (embeddings, attention, MLP, norms, untied head). */
    public long numParameters() {
        ModelConfig c = config;
        long h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        long attention = h * q + 2 * h * kv + q * h + (c.qkvBias() ? q + 2 * kv : 0) + (c.qkNorm() ? 2L * c.headDim() : 0);
        long mlp = 3L * h * c.intermediateSize();
        long layer = attention + mlp + 2 * h;
        long embed = (long) c.vocabSize() * h;
        return embed + c.numHiddenLayers() * layer + h + (c.tieWordEmbeddings() ? 0 : embed);
    }
}
