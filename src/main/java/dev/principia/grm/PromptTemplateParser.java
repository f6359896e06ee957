package dev.principia.grm;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses {@link PromptTemplate} texts (syntax in its class comment) into nodes, validating names and sections. */
final class PromptTemplateParser {
    private static final Pattern TAG = Pattern.compile("\\{\\{\\s*([#/]?)\\s*([A-Za-z_]+)\\s*}}");
    private static final Set<String> VARIABLES =
            Set.of("query", "conversation", "responses", "num_responses", "score_line", "principles", "judgment");
    private static final Set<String> LOOP_VARIABLES = Set.of("index", "response");
    private static final Set<String> SECTIONS = Set.of("principles", "conversation", "responses");

    private PromptTemplateParser() {
    }

    sealed interface Node permits Text, Variable, Section {
    }

    record Text(String text) implements Node {
    }

    record Variable(String name) implements Node {
    }

    record Section(String name, List<Node> body) implements Node {
    }

    private record Tag(int start, int end, String kind, String name, boolean standalone) {
    }

    /** Parses and validates a template text; messages name the problem and its line. */
    static List<Node> parse(String text) {
        List<Tag> tags = scanTags(text);
        Deque<Tag> open = new ArrayDeque<>();
        Deque<List<Node>> bodies = new ArrayDeque<>();
        bodies.push(new ArrayList<>());
        boolean showsQuery = false;
        boolean showsResponses = false;
        int textFrom = 0;
        for (Tag tag : tags) {
            int textTo = tag.standalone() ? lineStart(text, tag.start()) : tag.start();
            if (textTo > textFrom) bodies.peek().add(new Text(text.substring(textFrom, textTo)));
            textFrom = tag.standalone() ? lineEndInclusive(text, tag.end()) : tag.end();
            String where = " at line " + lineOf(text, tag.start());
            String name = tag.name();
            boolean inLoop = open.stream().anyMatch(t -> t.name().equals("responses"));
            switch (tag.kind()) {
                case "" -> {
                    if (LOOP_VARIABLES.contains(name) && !inLoop) {
                        throw new IllegalArgumentException("{{" + name + "}}" + where + " is only defined inside {{#responses}}");
                    }
                    if (!VARIABLES.contains(name) && !LOOP_VARIABLES.contains(name)) {
                        throw new IllegalArgumentException("unknown placeholder {{" + name + "}}" + where);
                    }
                    showsQuery |= name.equals("query");
                    showsResponses |= name.equals("responses") || name.equals("response");
                    bodies.peek().add(new Variable(name));
                }
                case "#" -> {
                    if (!SECTIONS.contains(name)) throw new IllegalArgumentException("unknown section {{#" + name + "}}" + where);
                    if (open.stream().anyMatch(t -> t.name().equals(name))) {
                        throw new IllegalArgumentException("{{#" + name + "}}" + where + " is nested inside itself");
                    }
                    open.push(tag);
                    bodies.push(new ArrayList<>());
                }
                default -> {
                    if (open.isEmpty()) throw new IllegalArgumentException("{{/" + name + "}}" + where + " closes no section");
                    Tag opener = open.pop();
                    if (!opener.name().equals(name)) {
                        throw new IllegalArgumentException("{{/" + name + "}}" + where + " closes {{#" + opener.name()
                                + "}} opened at line " + lineOf(text, opener.start()));
                    }
                    List<Node> body = bodies.pop();
                    bodies.peek().add(new Section(name, List.copyOf(body)));
                }
            }
        }
        if (!open.isEmpty()) {
            Tag opener = open.peek();
            throw new IllegalArgumentException("{{#" + opener.name() + "}} at line " + lineOf(text, opener.start()) + " is never closed");
        }
        if (textFrom < text.length()) bodies.peek().add(new Text(text.substring(textFrom)));
        if (!showsQuery) throw new IllegalArgumentException("template never shows {{query}}");
        if (!showsResponses) throw new IllegalArgumentException("template never shows the responses ({{responses}} or {{response}})");
        return List.copyOf(bodies.pop());
    }

    private static List<Tag> scanTags(String text) {
        List<Tag> tags = new ArrayList<>();
        Matcher m = TAG.matcher(text);
        int from = 0;
        while (true) {
            int brace = text.indexOf("{{", from);
            if (brace < 0) break;
            if (!m.find(brace) || m.start() != brace) {
                int to = text.indexOf("}}", brace);
                String shown = to < 0 ? text.substring(brace, Math.min(text.length(), brace + 20)) : text.substring(brace, to + 2);
                throw new IllegalArgumentException("malformed tag '" + shown + "' at line " + lineOf(text, brace));
            }
            String kind = m.group(1);
            boolean standalone = !kind.isEmpty() && isBlank(text, lineStart(text, m.start()), m.start())
                    && isBlank(text, m.end(), lineEnd(text, m.end()));
            tags.add(new Tag(m.start(), m.end(), kind, m.group(2), standalone));
            from = m.end();
        }
        return tags;
    }

    private static boolean isBlank(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!Character.isWhitespace(s.charAt(i))) return false;
        }
        return true;
    }

    private static int lineStart(String s, int index) {
        return s.lastIndexOf('\n', index - 1) + 1;
    }

    /** Index of the newline ending the line that holds {@code index}, or the text length. */
    private static int lineEnd(String s, int index) {
        int nl = s.indexOf('\n', index);
        return nl < 0 ? s.length() : nl;
    }

    private static int lineEndInclusive(String s, int index) {
        int end = lineEnd(s, index);
        return end < s.length() ? end + 1 : end;
    }

    private static int lineOf(String s, int index) {
        int line = 1;
        for (int i = 0; i < index; i++) if (s.charAt(i) == '\n') line++;
        return line;
    }
}
