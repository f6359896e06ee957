package dev.principia.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One sequence under generation. Prefill, decode and chunking are arithmetic on two counters:
 * {@code numComputedTokens} (positions whose KV is in the slot) and {@code numTokens()} (prompt +
 * generated). Owned by the engine thread.
 */
final class Sequence {
    final RequestState request;
    final int index;
    final SamplingParams params;
    final SequenceController controller;
    final SplittableRandom random;
    final int numPromptTokens;

    private int[] tokens;
    private int numTokens;
    int numComputedTokens;
    SequenceStatus status = SequenceStatus.WAITING;
    int slot = -1;
    String error;

    /** Why it ended; null while unfinished. */
    Outcome outcome;
    /** {@code sharedPrompt[j]}: length of the common prefix of this prompt and sequence j's (same request). */
    int[] sharedPrompt;
    /** Positions of its current KV that were copied from a sibling instead of computed. */
    int numForkedTokens;

    Sequence(RequestState request, int index, SequenceSpec spec) {
        this.request = request;
        this.index = index;
        this.params = spec.params();
        this.controller = spec.controller();
        this.random = new SplittableRandom(spec.params().seed());
        this.tokens = Arrays.copyOf(spec.promptTokens(), spec.promptTokens().length + Math.min(spec.params().maxNewTokens(), 1024));
        this.numTokens = spec.promptTokens().length;
        this.numPromptTokens = numTokens;
    }

    int numTokens() {
        return numTokens;
    }

    int numGenerated() {
        return numTokens - numPromptTokens;
    }

    int numUncomputed() {
        return numTokens - numComputedTokens;
    }

    int token(int i) {
        return tokens[i];
    }

    int[] tokens(int from, int to) {
        return Arrays.copyOfRange(tokens, from, to);
    }

    /** Length of the common prefix of both prompts. */
    int commonPromptPrefix(Sequence other) {
        int n = Math.min(numPromptTokens, other.numPromptTokens);
        int i = 0;
        while (i < n && tokens[i] == other.tokens[i]) i++;
        return i;
    }

    void append(int token) {
        if (numTokens == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[numTokens++] = token;
    }

    int[] generated() {
        return Arrays.copyOfRange(tokens, numPromptTokens, numTokens);
    }

    int priority() {
        return request.request.priority();
    }

    long arrival() {
        return request.arrival;
    }

    SequenceOutput output() {
        return new SequenceOutput(index, generated(), status, outcome, error, numForkedTokens);
    }

    @Override
    public String toString() {
        return request.request.id() + "#" + index + "[" + status + " " + numComputedTokens + "/" + numTokens + " slot " + slot + "]";
    }
}
