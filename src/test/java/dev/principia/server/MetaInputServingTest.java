package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.RewardServiceGrpc;
import dev.principia.api.v1.Sample;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Turn;
import dev.principia.grm.Conversation;
import dev.principia.grm.MetaInput;
import dev.principia.grm.PromptCodec;
import dev.principia.grm.PromptTemplate;
import dev.principia.model.ChatTemplate;
import dev.principia.model.ModelConfig;
import dev.principia.model.ReferenceDecoder;
import dev.principia.model.TestModels;
import dev.principia.model.TinyModel;
import dev.principia.model.Tokenizer;
import io.grpc.ManagedChannel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * A meta-RM directory that declares the conversation form ({@code principia_meta_input} in its config.json; here a
 * random classifier over the arithmetic judge's tokenizer, so that its score moves with every token it reads), served
 * beside the trained embedded GRM and called over a real gRPC channel: every sample's meta score is the float64
 * reference classifier's score of that sample read as the GRM's prompt followed by the judgment as the assistant's
 * turn, and not its score in the meta template.
 */
@QuarkusTest
@TestProfile(MetaInputServingTest.ConversationForm.class)
class MetaInputServingTest {
    static final Path DIR;

    static {
        try {
            // a random classifier over the arithmetic judge's tokenizer: its score moves with every token it reads
            Path tokenizer = Path.of(MetaInputServingTest.class.getClassLoader().getResource("principia/arithmetic-judge/grm/config.json").toURI())
                    .getParent();
            DIR = Files.createTempDirectory("conversation-meta-rm");
            ModelConfig causal = TestModels.config("""
                    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 1024, "hidden_size": 64,
                     "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "max_position_embeddings": 2048, "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "eos_token_id": 1023,
                     "pad_token_id": 1021}
                    """);
            TinyModel.generate(TestModels.classifier(causal, 1), 0.2, 7, DIR, TinyModel.Output.F32_SINGLE_FILE);
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) Files.copy(tokenizer.resolve(f), DIR.resolve(f));
            ObjectMapper json = new ObjectMapper();
            ObjectNode config = (ObjectNode) json.readTree(DIR.resolve("config.json").toFile());
            config.put(MetaInput.CONFIG_KEY, "conversation");
            Files.writeString(DIR.resolve("config.json"), json.writeValueAsString(config));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static class ConversationForm implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // a meta template file that does not exist: the conversation form never reads it, so the server serves
            return Map.of("principia.model.embedded", "arithmetic", "principia.meta-rm.dir", DIR.toString(),
                    "principia.prompt.meta-template-file", DIR.resolve("no-such-meta-template.txt").toString());
        }
    }

    @Test
    void eachSampleIsScoredAsTheGrmsPromptFollowedByItsJudgment() throws Exception {
        String query = "What is 47 times 23?";
        List<String> responses = List.of("1081", "The answer is 1071.", "47 times 23 = 1181");
        ManagedChannel channel = GrpcTestSupport.channel();
        try (Tokenizer tokenizer = Tokenizer.load(DIR.resolve("tokenizer.json"))) {
            PromptCodec codec = PromptCodec.of(tokenizer, ChatTemplate.read(DIR.resolve("tokenizer_config.json")));
            PromptTemplate grm = PromptTemplate.loadDefault(), withPrinciples = PromptTemplate.loadResource(PromptTemplate.PRINCIPLES_RESOURCE);
            MetaInput conversationForm = MetaInput.conversation(codec, grm, withPrinciples);
            MetaInput templateForm = MetaInput.template(codec, PromptTemplate.loadResource(PromptTemplate.META_RESOURCE));
            ReferenceDecoder reference = new ReferenceDecoder(DIR);
            var stub = RewardServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
            int checked = 0;
            // no caller principles: the embedded GRM was trained on its default prompt only (WaveRunnerTest covers principles)
            List<String> principles = List.of();
            {
                ScoreRequest request = ScoreRequest.newBuilder().setId("meta-form").addConversation(Turn.newBuilder().setRole("user").setContent(query))
                        .addAllResponses(responses).addAllPrinciples(principles).setReturnSamples(true)
                        .setBudget(Budget.newBuilder().setSamples(4).setSeed(77)).build();
                ScoreResponse r = stub.score(request);
                Conversation conversation = Conversation.of(new dev.principia.grm.Turn(dev.principia.grm.Turn.USER, query));
                for (Sample s : r.getSamplesList()) {
                    if (!s.getValid()) continue;
                    List<String> presented = new ArrayList<>();
                    for (int i : s.getOrderList()) presented.add(responses.get(i));
                    double want = reference.classify(conversationForm.encode(conversation, presented, principles, s.getText()))[0];
                    double other = reference.classify(templateForm.encode(conversation, presented, principles, s.getText()))[0];
                    double tolerance = 1e-4 * Math.max(1, Math.abs(want));
                    assertEquals(want, s.getMetaScore(), tolerance, "sample " + s.getSeed() + ": " + s.getText());
                    assertTrue(Math.abs(other - s.getMetaScore()) > 100 * tolerance, "the template form scores " + other + ", not the served " + s.getMetaScore());
                    checked++;
                }
            }
            assertTrue(checked >= 4, "only " + checked + " valid samples were checked");
        } finally {
            GrpcTestSupport.close(channel);
        }
    }
}
