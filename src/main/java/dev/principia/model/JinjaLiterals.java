package dev.principia.model;

import java.util.function.UnaryOperator;

/**
 * Rewrites the parts of a Jinja source that a render copies to its output as written: text outside tags and
 * string literals ({@code '...'}, {@code "..."}) inside {@code {{ }}} and {@code {% %}}. Code outside literals
 * and comments ({@code {# #}}) are kept as they are. The scan follows Jinja's lexer: a tag ends at the first
 * {@code }}}, {@code %}} or {@code #}} outside a literal; a backslash in a literal escapes the next character.
 */
final class JinjaLiterals {

    private JinjaLiterals() {
    }

    static String map(String jinja, UnaryOperator<String> replace) {
        StringBuilder out = new StringBuilder(jinja.length() + 64);
        int i = 0;
        while (i < jinja.length()) {
            int open = nextTag(jinja, i);
            if (open < 0) {
                out.append(replace.apply(jinja.substring(i)));
                break;
            }
            out.append(replace.apply(jinja.substring(i, open)));
            char kind = jinja.charAt(open + 1);
            int end = kind == '#' ? comment(jinja, open) : code(jinja, open, kind == '{' ? '}' : '%', replace, out);
            if (kind == '#') out.append(jinja, open, end);
            i = end;
        }
        return out.toString();
    }

    /** Index of the next {@code {{}, {@code {%} or {@code {#} at or after {@code from}, or -1. */
    private static int nextTag(String s, int from) {
        for (int at = s.indexOf('{', from); at >= 0 && at + 1 < s.length(); at = s.indexOf('{', at + 1)) {
            char c = s.charAt(at + 1);
            if (c == '{' || c == '%' || c == '#') return at;
        }
        return -1;
    }

    private static int comment(String s, int open) {
        int close = s.indexOf("#}", open + 2);
        return close < 0 ? s.length() : close + 2;
    }

    /** Copies the tag opened at {@code open} to {@code out}, literals rewritten; returns the index after it. */
    private static int code(String s, int open, char closer, UnaryOperator<String> replace, StringBuilder out) {
        out.append(s, open, open + 2);
        int i = open + 2;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                int end = literalEnd(s, i + 1, c);
                out.append(c).append(replace.apply(s.substring(i + 1, end)));
                if (end < s.length()) out.append(c);
                i = end + 1;
            } else if (c == closer && i + 1 < s.length() && s.charAt(i + 1) == '}') {
                out.append(c).append('}');
                return i + 2;
            } else {
                out.append(c);
                i++;
            }
        }
        return s.length();
    }

    /** Index of the closing quote of a literal whose text starts at {@code from}, or the source length. */
    private static int literalEnd(String s, int from, char quote) {
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') i++;
            else if (c == quote) return i;
        }
        return s.length();
    }
}
