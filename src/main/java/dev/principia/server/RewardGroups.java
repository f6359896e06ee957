package dev.principia.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.principia.grm.Turn;

/**
 * The queries of one {@code /get_reward} call grouped by conversation: each group becomes one GRM
 * request whose responses are rated jointly in one prompt (the method's own setting), as the paper's
 * GRM compares a query's responses side by side. Groups keep first-appearance order and hold at most
 * {@code maxResponses} responses; a larger group is split into consecutive chunks.
 *
 * @param groups     every query index appears in exactly one group
 * @param numQueries number of queries in the call
 */
record RewardGroups(List<Group> groups, int numQueries) {

    /**
     * @param queryIndices queryIndices[j] = the call's index of responses[j]
     */
    record Group(List<Turn> conversation, List<String> responses, int[] queryIndices) {
        Group {
            conversation = List.copyOf(conversation);
            responses = List.copyOf(responses);
            if (responses.isEmpty() || responses.size() != queryIndices.length) {
                throw new IllegalArgumentException("a group needs one query index per response, at least one");
            }
        }
    }

    RewardGroups {
        groups = List.copyOf(groups);
    }

    /**
     * Parses and groups the queries.
     *
     * @param prompts null, or one rendered prompt per query (null entries allowed)
     * @throws IllegalArgumentException naming the field, e.g. {@code query[3]: ...}
     */
    static RewardGroups of(List<String> queries, List<String> prompts, ChatMarkup.Format format, int maxResponses) {
        if (queries == null || queries.isEmpty()) throw new IllegalArgumentException("query: must hold at least one prompt+response text");
        if (prompts != null && !prompts.isEmpty() && prompts.size() != queries.size()) {
            throw new IllegalArgumentException("prompts: " + prompts.size() + " prompts for " + queries.size() + " queries; send one per query or none");
        }
        Map<List<Turn>, List<Integer>> byConversation = new LinkedHashMap<>();
        List<ChatMarkup.Parsed> parsed = new ArrayList<>(queries.size());
        for (int i = 0; i < queries.size(); i++) {
            String prompt = prompts == null || prompts.isEmpty() ? null : prompts.get(i);
            ChatMarkup.Parsed p;
            try {
                p = ChatMarkup.parse(queries.get(i), prompt, format);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("query[" + i + "]: " + e.getMessage(), e);
            }
            parsed.add(p);
            byConversation.computeIfAbsent(p.conversation(), k -> new ArrayList<>()).add(i);
        }
        List<Group> groups = new ArrayList<>();
        for (Map.Entry<List<Turn>, List<Integer>> e : byConversation.entrySet()) {
            List<Integer> indices = e.getValue();
            for (int from = 0; from < indices.size(); from += maxResponses) {
                List<Integer> chunk = indices.subList(from, Math.min(indices.size(), from + maxResponses));
                List<String> responses = new ArrayList<>(chunk.size());
                for (int i : chunk) responses.add(parsed.get(i).response());
                groups.add(new Group(e.getKey(), responses, chunk.stream().mapToInt(Integer::intValue).toArray()));
            }
        }
        return new RewardGroups(groups, queries.size());
    }
}
