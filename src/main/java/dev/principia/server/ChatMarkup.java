package dev.principia.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.principia.grm.Turn;

/**
 * Turns a policy's rendered chat text (decoded with special tokens kept, as RL trainers send it) back
 * into a conversation. Three markups are understood: ChatML ({@code <|im_start|>role\n...<|im_end|>},
 * Qwen and many others), Llama 3 ({@code <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>}) and
 * Gemma ({@code <start_of_turn>role\n...<end_of_turn>}, role {@code model} = assistant). {@link Format#AUTO}
 * picks the first markup whose turn marker occurs; {@link Format#NONE} takes the text verbatim as one user
 * turn. The text is data: it is split on the markers and never interpreted otherwise.
 */
final class ChatMarkup {

    /** A chat markup: a turn is {@code turnStart role roleEnd content turnEnd}. */
    enum Format {
        AUTO(null, null, null),
        CHATML("<|im_start|>", "\n", "<|im_end|>"),
        LLAMA3("<|start_header_id|>", "<|end_header_id|>\n\n", "<|eot_id|>"),
        GEMMA("<start_of_turn>", "\n", "<end_of_turn>"),
        NONE(null, null, null);

        final String turnStart;
        final String roleEnd;
        final String turnEnd;

        Format(String turnStart, String roleEnd, String turnEnd) {
            this.turnStart = turnStart;
            this.roleEnd = roleEnd;
            this.turnEnd = turnEnd;
        }

        /** The configuration spelling ({@code auto}, {@code chatml}, {@code llama3}, {@code gemma}, {@code none}). */
        static Format parse(String name) {
            try {
                return valueOf(name.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown chat format '" + name + "'; expected auto, chatml, llama3, gemma or none");
            }
        }
    }

    /** Begin-of-sequence, end-of-sequence and padding tokens that may surround the turns. */
    private static final List<String> FRAMING = List.of("<|begin_of_text|>", "<|end_of_text|>", "<|endoftext|>", "<bos>", "<eos>",
            "<pad>", "<|finetune_right_pad_id|>", "<s>", "</s>");

    /**
     * A prompt and one response as a conversation ending in the user turn answered, and the response.
     *
     * @param conversation the turns before the response; the last is the query's user turn
     */
    record Parsed(List<Turn> conversation, String response) {
        Parsed {
            conversation = List.copyOf(conversation);
        }
    }

    private ChatMarkup() {
    }

    /**
     * Splits {@code query} (prompt and response as one text). With {@code prompt} (the rendered prompt
     * alone) the response is what follows it; without, it is the content of the last assistant turn.
     *
     * @throws IllegalArgumentException saying what was expected where
     */
    static Parsed parse(String query, String prompt, Format format) {
        if (query == null) throw new IllegalArgumentException("is null");
        Format f = format == Format.AUTO ? detect(prompt != null ? prompt : query) : format;
        if (prompt != null && !prompt.isEmpty() && query.startsWith(prompt)) {
            List<Turn> turns = f == Format.NONE ? List.of(new Turn(Turn.USER, prompt)) : dropGenerationPrompt(turns(prompt, f, true), prompt, f);
            return new Parsed(turns, cleanResponse(query.substring(prompt.length()), f));
        }
        if (f == Format.NONE) {
            throw new IllegalArgumentException("cannot tell prompt from response: no chat markup found and the query does not start with "
                    + "its prompt; send prompts, or set principia.openrlhf.chat-format");
        }
        List<Turn> turns = turns(query, f, true);
        if (turns.isEmpty() || !turns.get(turns.size() - 1).role().equals("assistant")) {
            throw new IllegalArgumentException("does not end in an assistant turn (" + f.name().toLowerCase(Locale.ROOT) + " markup): "
                    + "nothing to score");
        }
        return new Parsed(turns.subList(0, turns.size() - 1), turns.get(turns.size() - 1).content());
    }

    /** The markup whose turn marker occurs earliest in {@code text}; NONE when none occurs. */
    static Format detect(String text) {
        Format best = Format.NONE;
        int at = Integer.MAX_VALUE;
        for (Format f : List.of(Format.CHATML, Format.LLAMA3, Format.GEMMA)) {
            int i = text.indexOf(f.turnStart);
            if (i >= 0 && i < at) {
                best = f;
                at = i;
            }
        }
        return best;
    }

    /**
     * The turns of {@code text} in markup {@code f}. The last turn may be unterminated (an open
     * generation prompt, or a response cut at the token limit). Text between turns may only be
     * whitespace and framing tokens.
     */
    static List<Turn> turns(String text, Format f, boolean allowOpenLast) {
        List<Turn> out = new ArrayList<>();
        int pos = 0;
        while (true) {
            int start = text.indexOf(f.turnStart, pos);
            checkBetweenTurns(text, pos, start < 0 ? text.length() : start, f);
            if (start < 0) return out;
            int roleFrom = start + f.turnStart.length();
            int roleTo = text.indexOf(f.roleEnd, roleFrom);
            if (roleTo < 0) {
                if (text.substring(roleFrom).strip().isEmpty() || !allowOpenLast) {
                    throw new IllegalArgumentException("turn at offset " + start + " has no role line");
                }
                roleTo = text.length();
            }
            String role = role(text.substring(roleFrom, roleTo).strip());
            int contentFrom = Math.min(text.length(), roleTo + f.roleEnd.length());
            int end = text.indexOf(f.turnEnd, contentFrom);
            if (end < 0 && !allowOpenLast) throw new IllegalArgumentException("turn at offset " + start + " is not closed by " + f.turnEnd);
            String content = text.substring(contentFrom, end < 0 ? text.length() : end);
            if (end < 0) content = cleanResponse(content, f);
            out.add(new Turn(role, f == Format.LLAMA3 ? content.strip() : content));
            if (end < 0) return out;
            pos = end + f.turnEnd.length();
        }
    }

    private static void checkBetweenTurns(String text, int from, int to, Format f) {
        String between = text.substring(from, to);
        for (String token : FRAMING) between = between.replace(token, "");
        if (!between.isBlank()) {
            String excerpt = between.strip();
            throw new IllegalArgumentException("text outside " + f.name().toLowerCase(Locale.ROOT) + " turns at offset " + from + " ('"
                    + (excerpt.length() > 40 ? excerpt.substring(0, 40) + "..." : excerpt)
                    + "'); set principia.openrlhf.chat-format to the policy's markup");
        }
    }

    private static String role(String role) {
        return role.equals("model") ? "assistant" : role;
    }

    /**
     * Drops the generation prompt: a final assistant turn the prompt leaves open (its header, and any
     * prefix the template adds, such as an empty think block), which the response continues.
     */
    private static List<Turn> dropGenerationPrompt(List<Turn> turns, String prompt, Format f) {
        if (!turns.isEmpty() && turns.get(turns.size() - 1).role().equals("assistant") && !prompt.stripTrailing().endsWith(f.turnEnd)) {
            return turns.subList(0, turns.size() - 1);
        }
        return turns;
    }

    /** A response without the end-of-turn, end-of-sequence and padding tokens the policy's decode kept. */
    static String cleanResponse(String response, Format f) {
        String r = response;
        boolean changed = true;
        while (changed) {
            changed = false;
            String stripped = r.stripTrailing();
            for (String token : endTokens(f)) {
                if (stripped.endsWith(token)) {
                    r = stripped.substring(0, stripped.length() - token.length());
                    changed = true;
                }
            }
        }
        return f == Format.NONE ? r : r.strip();
    }

    private static List<String> endTokens(Format f) {
        if (f.turnEnd == null) return FRAMING;
        List<String> tokens = new ArrayList<>(FRAMING);
        tokens.add(f.turnEnd);
        return tokens;
    }
}
