package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.principia.api.v1.GetServerInfoRequest;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.ServerInfo;
import dev.principia.model.TestModels;
import dev.principia.model.TestTokenizers;
import dev.principia.model.TinyModel;
import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * A user's HF model directory — here a Gemma2 GRM (the paper's base family) with soft-capping and a
 * sliding window, in bf16 safetensors — given by principia.model.dir: exported on first start into the
 * cache and served end to end. No meta-RM is configured, so none is loaded.
 */
@QuarkusTest
@TestProfile(ConfiguredModelTest.Gemma2Directory.class)
class ConfiguredModelTest {
    static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("gemma2-grm");
            var config = TestModels.config("""
                    {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "vocab_size": 151936, "hidden_size": 64,
                     "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "head_dim": 16, "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 4096,
                     "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "query_pre_attn_scalar": 16, "sliding_window": 256,
                     "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "tie_word_embeddings": true,
                     "eos_token_id": 151645}
                    """);
            TinyModel.generate(config, 0.02, 7, DIR, new TinyModel.Output(dev.principia.model.DType.BF16, Long.MAX_VALUE));
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
                Files.copy(TestTokenizers.qwen3().resolve(f), DIR.resolve(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static class Gemma2Directory implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("principia.model.dir", DIR.toString());
        }
    }

    @Test
    void servesAUserModelDirectory() throws InterruptedException {
        ManagedChannel channel = GrpcTestSupport.channel();
        try {
            var stub = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
            ServerInfo info = stub.getServerInfo(GetServerInfoRequest.getDefaultInstance());
            assertEquals(1, info.getModelsCount(), "no meta-RM unless configured");
            assertEquals("Gemma2ForCausalLM", info.getModels(0).getArchitecture());
            assertFalse(info.getModels(0).getEmbeddedDefault());
            ScoreResponse r = stub.score(GrpcTestSupport.request("gemma2", 3, 4, 40).build());
            assertEquals(3, r.getScoresCount());
            assertEquals(4, r.getUsage().getSamplesRun());
            assertEquals(r.getUsage().getSamplesValid(), r.getUsage().getSamplesCounted(), "plain voting without a meta-RM");
        } finally {
            GrpcTestSupport.close(channel);
        }
    }
}
