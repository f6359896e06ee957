package dev.principia.grm;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.principia.budget.ResolvedBudget;

/**
 * The samples of one request, fixed before any of them runs: per sample its seed, the order its
 * responses are shown in (identity for k = 1, a seeded shuffle otherwise) and its prompt. Prompts are
 * rendered once per distinct order. Arrays are owned by the plan; callers must not modify them.
 *
 * @param seeds   per sample, derived from the request seed
 * @param orders  per sample, {@code orders[s][j]} = original index of the response shown j-th
 * @param prompts per sample, the prompt's token ids (samples with the same order share one array)
 */
record SamplePlan(int numResponses, long[] seeds, int[][] orders, int[][] prompts) {

    int numSamples() {
        return seeds.length;
    }

    /**
     * @throws ScoringException INVALID_ARGUMENT when a prompt passes {@code maxPromptTokens} or leaves no room
     *                          for {@code budget.maxNewTokens()} within {@code maxModelLen}
     */
    static SamplePlan create(ScoringRequest request, Conversation conversation, ResolvedBudget budget, PromptTemplate template,
                             PromptCodec codec, int maxPromptTokens, int maxModelLen) {
        int n = request.responses().size();
        int k = budget.samples();
        long[] seeds = new long[k];
        int[][] orders = new int[k][];
        int[][] prompts = new int[k][];
        Map<String, int[]> byOrder = new HashMap<>();
        for (int s = 0; s < k; s++) {
            seeds[s] = SampleSeeds.derive(budget.seed(), s);
            int[] order = k == 1 ? Permutations.identity(n) : Permutations.shuffle(n, seeds[s]);
            orders[s] = order;
            prompts[s] = byOrder.computeIfAbsent(Arrays.toString(order), key -> codec.encodeUserTurn(
                    template.render(conversation, Permutations.present(request.responses(), order), request.principles()), true));
            if (prompts[s].length > maxPromptTokens) {
                throw ScoringException.invalid("conversation", "the GRM prompt is " + prompts[s].length + " tokens; the limit is "
                        + maxPromptTokens + " (shorten the conversation or the responses)");
            }
            if (prompts[s].length + budget.maxNewTokens() > maxModelLen) {
                throw ScoringException.invalid("budget.max_new_tokens", "the GRM prompt is " + prompts[s].length + " tokens and "
                        + budget.maxNewTokens() + " new tokens exceed the model's " + maxModelLen + " positions");
            }
        }
        return new SamplePlan(n, seeds, orders, prompts);
    }

    /** Responses in the order sample {@code s} shows them. */
    List<String> presented(List<String> responses, int s) {
        return Permutations.present(responses, orders[s]);
    }
}
