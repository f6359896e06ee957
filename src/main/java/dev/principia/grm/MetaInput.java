package dev.principia.grm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * How a meta reward model reads one GRM sample: the token ids it scores. A meta-RM is served in the form it was
 * trained on, which its directory declares ({@link Form#declaredBy}).
 *
 * <p>Every value is caller text (or GRM output grown from it) and goes through {@link PromptTemplate} and the model's
 * chat template as data: never parsed as template syntax, never turned into special tokens.
 */
@FunctionalInterface
public interface MetaInput {
    /** The key of a model directory's {@code config.json} that names its {@link Form}; absent means {@link Form#TEMPLATE}. */
    String CONFIG_KEY = "principia_meta_input";

    enum Form {
        /**
         * One user turn rendered from the meta template: query, responses in the sample's order, the judgment inside
         * {@code [The Begin of Evaluation]} markers ({@link PromptTemplate#META_RESOURCE}).
         */
        TEMPLATE,
        /**
         * The GRM's own prompt as the user turn and the judgment as the assistant's turn: the form chat reward models
         * read, and the very context the GRM wrote the judgment in, so a meta-RM grown from the GRM reads every token of
         * it where the GRM would have predicted it.
         */
        CONVERSATION;

        /** {@code template} or {@code conversation}, any case. */
        public static Form parse(String name) {
            for (Form f : values()) {
                if (f.name().equalsIgnoreCase(name.strip())) return f;
            }
            throw new IllegalArgumentException("meta-RM input form must be template or conversation, got '" + name + "'");
        }

        /** The form a model directory declares under {@link #CONFIG_KEY} in its {@code config.json}; TEMPLATE when it declares none. */
        public static Form declaredBy(Path modelDir) throws IOException {
            JsonNode value = new ObjectMapper().readTree(Files.readString(modelDir.resolve("config.json"))).get(CONFIG_KEY);
            if (value == null || value.isNull()) return TEMPLATE;
            if (!value.isTextual()) throw new IllegalArgumentException(CONFIG_KEY + " must be a string, got " + value);
            return parse(value.asText());
        }

        /**
         * The form to serve: {@code configured} ({@code principia.meta-rm.input}) when set, else what {@code modelDir}
         * declares; a bad value fails with a message that says where it came from.
         */
        public static Form resolve(Optional<String> configured, Path modelDir) throws IOException {
            try {
                return configured.isPresent() ? parse(configured.get()) : declaredBy(modelDir);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException((configured.isPresent() ? "principia.meta-rm.input: " : modelDir + "/config.json: ")
                        + e.getMessage(), e);
            }
        }

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * @param conversation the query and its history
     * @param presented    the responses in the order this sample was shown them
     * @param principles   the caller's principles, empty when none
     * @param judgment     the sample's generated text
     * @throws IllegalArgumentException when a chat template cannot render it
     */
    int[] encode(Conversation conversation, List<String> presented, List<String> principles, String judgment);

    /** {@link Form#TEMPLATE} with {@code meta}, encoded by {@code codec} (no generation prompt). */
    static MetaInput template(PromptCodec codec, PromptTemplate meta) {
        return (conversation, presented, principles, judgment) ->
                codec.encodeUserTurn(meta.render(conversation, presented, List.of(), judgment), false);
    }

    /**
     * {@link Form#CONVERSATION}: the user turn is what the GRM was prompted with ({@code grm}, or {@code withPrinciples}
     * when the caller gave principles), the assistant's turn the judgment, closed as the chat template closes a turn.
     */
    static MetaInput conversation(PromptCodec codec, PromptTemplate grm, PromptTemplate withPrinciples) {
        return (conversation, presented, principles, judgment) -> codec.encodeExchange(
                (principles.isEmpty() ? grm : withPrinciples).render(conversation, presented, principles), judgment);
    }

    /**
     * The input of {@code form}; {@code meta} serves TEMPLATE (and may be null for CONVERSATION, which does not read
     * it), {@code grm} and {@code withPrinciples} CONVERSATION.
     */
    static MetaInput of(Form form, PromptCodec codec, PromptTemplate meta, PromptTemplate grm, PromptTemplate withPrinciples) {
        if (form == Form.TEMPLATE) return template(codec, java.util.Objects.requireNonNull(meta, "the template form needs the meta template"));
        return conversation(codec, grm, withPrinciples);
    }
}
