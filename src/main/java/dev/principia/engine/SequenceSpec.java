package dev.principia.engine;

/** One sequence to generate: its prompt, how it samples and its decoding hook. */
public record SequenceSpec(int[] promptTokens, SamplingParams params, SequenceController controller) {
    public SequenceSpec {
        if (promptTokens == null || promptTokens.length == 0) {
            throw new IllegalArgumentException("a sequence needs at least one prompt token");
        }
        if (params == null) throw new IllegalArgumentException("params must not be null");
        promptTokens = promptTokens.clone();
        controller = controller == null ? SequenceController.NONE : controller;
    }
}
