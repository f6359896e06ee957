package dev.principia.grm;

/** A tokenizer for tests: one token per character below 128 (others become '?'); no chat template. */
class CharCodec implements PromptCodec {
    static final int VOCAB = 128;

    @Override
    public int[] encodeUserTurn(String userTurn, boolean addGenerationPrompt) {
        return encode("<user>" + userTurn + (addGenerationPrompt ? "<assistant>" : ""));
    }

    @Override
    public int[] encodeExchange(String userTurn, String assistantTurn) {
        return encode("<user>" + userTurn + "<assistant>" + assistantTurn + "<end>");
    }

    @Override
    public int[] encode(String text) {
        return text.chars().map(c -> c < VOCAB ? c : '?').toArray();
    }

    @Override
    public String decode(int[] ids) {
        return text(ids);
    }

    static String text(int[] ids) {
        StringBuilder b = new StringBuilder(ids.length);
        for (int id : ids) b.append((char) id);
        return b.toString();
    }

    static String[] tokenTexts() {
        String[] texts = new String[VOCAB];
        for (int i = 0; i < VOCAB; i++) texts[i] = String.valueOf((char) i);
        return texts;
    }
}
