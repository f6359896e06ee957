package dev.principia.grm;

import java.util.List;

/**
 * The conversation the responses answer. Invariant: it ends with a user turn, which is the query;
 * every earlier turn is history.
 */
public record Conversation(List<Turn> turns) {
    public Conversation {
        if (turns == null) throw new IllegalArgumentException("conversation must not be null");
        for (int i = 0; i < turns.size(); i++) {
            if (turns.get(i) == null) throw new IllegalArgumentException("turn " + i + " must not be null");
        }
        turns = List.copyOf(turns);
        int last = lastUserIndex(turns);
        if (last < 0) throw new IllegalArgumentException("conversation has no user turn");
        if (last != turns.size() - 1) {
            Turn after = turns.get(last + 1);
            throw new IllegalArgumentException("turn " + (last + 1) + " (" + after.role()
                    + ") follows the last user turn; the conversation must end with the query");
        }
    }

    public static Conversation of(Turn... turns) {
        return new Conversation(List.of(turns));
    }

    /** A conversation of a single user turn. */
    public static Conversation ofQuery(String query) {
        return of(new Turn(Turn.USER, query));
    }

    /** Content of the last user turn. */
    public String query() {
        return turns.get(turns.size() - 1).content();
    }

    /** Turns before the query, in order; empty for a single-turn conversation. */
    public List<Turn> history() {
        return turns.subList(0, turns.size() - 1);
    }

    private static int lastUserIndex(List<Turn> turns) {
        for (int i = turns.size() - 1; i >= 0; i--) {
            if (turns.get(i).isUser()) return i;
        }
        return -1;
    }
}
