package dev.principia.engine;

import java.util.List;

/**
 * Stops a sequence once its generated text contains one of the given strings, as an outer
 * {@link SequenceController} around another. The engine knows tokens, not text: the caller gives each
 * id's text (a tokenizer's single-token decode). Only the tail that can still complete a stop string
 * is kept, so a check costs O(longest stop string) per token.
 */
public final class StopStrings implements SequenceController {
    private final String[] tokenTexts;
    private final List<String> stops;
    private final SequenceController inner;
    private final int keep;
    private final StringBuilder tail = new StringBuilder();

    /**
     * @param tokenTexts each token id's text
     * @param stops      non-empty strings; generation stops after the token that completes one
     * @param inner      the controller to delegate to ({@link SequenceController#NONE} for none)
     */
    public StopStrings(String[] tokenTexts, List<String> stops, SequenceController inner) {
        if (stops.isEmpty() || stops.stream().anyMatch(s -> s == null || s.isEmpty())) {
            throw new IllegalArgumentException("stop strings must be non-empty");
        }
        this.tokenTexts = tokenTexts;
        this.stops = List.copyOf(stops);
        this.inner = inner == null ? NONE : inner;
        this.keep = stops.stream().mapToInt(String::length).max().orElse(1);
    }

    @Override
    public int[] forced(int numGenerated, int maxNewTokens) {
        return inner.forced(numGenerated, maxNewTokens);
    }

    @Override
    public void process(float[] logits) {
        inner.process(logits);
    }

    @Override
    public boolean accept(int tokenId) {
        boolean stop = inner.accept(tokenId);
        String text = tokenId >= 0 && tokenId < tokenTexts.length ? tokenTexts[tokenId] : "";
        // a stop string this token completes ends past the old tail, so it starts within its last keep - 1 chars
        int from = Math.max(0, tail.length() - keep + 1);
        tail.append(text);
        for (String s : stops) {
            if (tail.indexOf(s, from) >= 0) stop = true;
        }
        if (tail.length() > 2 * keep + 64) tail.delete(0, tail.length() - keep);
        return stop;
    }
}
