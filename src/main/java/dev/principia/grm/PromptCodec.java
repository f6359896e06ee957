package dev.principia.grm;

import java.util.List;
import java.util.Map;

import dev.principia.model.ChatEncoder;
import dev.principia.model.ChatTemplate;
import dev.principia.model.Tokenizer;

/** Text to token ids and back, for one model: GRM prompts in its chat template, and decoding of samples. */
public interface PromptCodec {
    /**
     * One user turn rendered in the model's chat template and encoded.
     *
     * @param addGenerationPrompt end with the assistant header (a GRM prompt), or not (a meta-RM input)
     */
    int[] encodeUserTurn(String userTurn, boolean addGenerationPrompt);

    /**
     * A user turn and the assistant's answer to it in the model's chat template, as the model reads its own output:
     * the prompt with the generation prompt, the answer's text encoded on its own, then the template's close of the
     * turn (a conversation-form meta-RM input, {@link MetaInput.Form#CONVERSATION}).
     */
    int[] encodeExchange(String userTurn, String assistantTurn);

    /** Plain text, encoded without a chat template. */
    int[] encode(String text);

    String decode(int[] ids);

    static PromptCodec of(Tokenizer tokenizer, ChatTemplate chatTemplate) {
        return new PromptCodec() {
            @Override
            public int[] encodeUserTurn(String userTurn, boolean addGenerationPrompt) {
                return ChatEncoder.of(tokenizer, chatTemplate).encode(List.of(Map.of("role", "user", "content", userTurn)),
                        addGenerationPrompt, addGenerationPrompt ? Map.of("enable_thinking", false) : Map.of());
            }

            @Override
            public int[] encodeExchange(String userTurn, String assistantTurn) {
                return ChatEncoder.of(tokenizer, chatTemplate).encodeAnswered(List.of(Map.of("role", "user", "content", userTurn)), assistantTurn,
                        Map.of("enable_thinking", false));
            }

            @Override
            public int[] encode(String text) {
                return tokenizer.encode(text);
            }

            @Override
            public String decode(int[] ids) {
                return tokenizer.decode(ids);
            }
        };
    }
}
