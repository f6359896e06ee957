package dev.principia.grm;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Scripts for {@link ScriptedGenerator}: responses are named {@code <<R0>>}, {@code <<R1>>}, ... so a
 * script can see from the prompt in which order they are shown, and write scores in that order.
 */
final class ScriptedJudge {
    private ScriptedJudge() {
    }

    static List<String> responses(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add("<<R" + i + ">> answer " + i);
        return out;
    }

    /** Original indices in the order the prompt shows them. */
    static int[] shownOrder(String prompt, int n) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < n; i++) idx.add(i);
        idx.sort(Comparator.comparingInt(i -> prompt.indexOf("<<R" + i + ">>")));
        return idx.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A judgment scoring each original response {@code i} with {@code quality[i]}, in shown order. */
    static String judgment(String prompt, int[] quality, String note) {
        int[] order = shownOrder(prompt, quality.length);
        StringBuilder b = new StringBuilder("Principles: be right (100%).\nCritique: " + note + "\nScores: \\boxed{");
        for (int j = 0; j < order.length; j++) b.append(j == 0 ? "" : ", ").append(quality[order[j]]);
        return b.append("}").toString();
    }
}
