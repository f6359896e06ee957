package dev.principia.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Gives Java strings the Python {@code str} methods that HF chat templates call
 * ({@code startswith}, {@code endswith}, {@code strip}, {@code lstrip}, {@code rstrip}, {@code split},
 * {@code upper}, {@code lower}, {@code title}, {@code replace}), with Python semantics:
 * {@code split(sep)} splits on the literal separator and keeps empty parts, {@code strip(chars)}
 * strips any of the given characters, {@code strip()} strips whitespace.
 *
 * <p>Placed before Jinjava's own resolver; it resolves only method calls on {@link String} bases
 * whose name it knows, and leaves everything else to the next resolver.
 */
final class PythonStringResolver extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result = switch (method.toString()) {
            case "startswith" -> args.length == 1 ? s.startsWith(str(args[0])) : NO_MATCH;
            case "endswith" -> args.length == 1 ? s.endsWith(str(args[0])) : NO_MATCH;
            case "strip" -> args.length <= 1 ? rstrip(lstrip(s, charsArg(args)), charsArg(args)) : NO_MATCH;
            case "lstrip" -> args.length <= 1 ? lstrip(s, charsArg(args)) : NO_MATCH;
            case "rstrip" -> args.length <= 1 ? rstrip(s, charsArg(args)) : NO_MATCH;
            case "split" -> args.length <= 1 ? split(s, args.length == 0 || args[0] == null ? null : str(args[0])) : NO_MATCH;
            case "upper" -> args.length == 0 ? s.toUpperCase(Locale.ROOT) : NO_MATCH;
            case "lower" -> args.length == 0 ? s.toLowerCase(Locale.ROOT) : NO_MATCH;
            case "title" -> args.length == 0 ? title(s) : NO_MATCH;
            case "replace" -> args.length == 2 ? s.replace(str(args[0]), str(args[1])) : NO_MATCH;
            default -> NO_MATCH;
        };
        if (result == NO_MATCH) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NO_MATCH = new Object();

    private static String str(Object o) {
        return o == null ? "None" : o.toString();
    }

    private static String charsArg(Object[] args) {
        return args.length == 0 || args[0] == null ? null : args[0].toString();
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
    }

    static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strippable(s.charAt(i), chars)) i++;
        return s.substring(i);
    }

    static String rstrip(String s, String chars) {
        int j = s.length();
        while (j > 0 && strippable(s.charAt(j - 1), chars)) j--;
        return s.substring(0, j);
    }

    static List<String> split(String s, String sep) {
        List<String> parts = new ArrayList<>();
        if (sep == null) {
            for (String p : s.strip().split("\\s+")) {
                if (!p.isEmpty()) parts.add(p);
            }
            return parts;
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int from = 0;
        for (int at; (at = s.indexOf(sep, from)) >= 0; from = at + sep.length()) {
            parts.add(s.substring(from, at));
        }
        parts.add(s.substring(from));
        return parts;
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean start = true;
        for (char c : s.toCharArray()) {
            b.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
            start = !Character.isLetter(c);
        }
        return b.toString();
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public java.util.Iterator<java.beans.FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
