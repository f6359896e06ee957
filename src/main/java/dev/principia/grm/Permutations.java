package dev.principia.grm;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Orders in which responses are shown to the GRM. An order is an {@code int[n]} holding each of
 * {@code 0..n-1} once, where {@code order[j]} is the original index of the response shown j-th.
 */
public final class Permutations {
    private Permutations() {
    }

    public static int[] identity(int n) {
        requireSize(n);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        return order;
    }

    /** A uniformly random order, the same for the same {@code (n, seed)}: Fisher–Yates over a seeded SplittableRandom. */
    public static int[] shuffle(int n, long seed) {
        int[] order = identity(n);
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** Items in presented order: {@code result.get(j) == original.get(order[j])}. */
    public static <T> List<T> present(List<T> original, int[] order) {
        requireOrder(order, original.size());
        List<T> presented = new ArrayList<>(order.length);
        for (int index : order) presented.add(original.get(index));
        return List.copyOf(presented);
    }

    /** Scores in original order: {@code result[order[j]] == scoresInPresentedOrder[j]}. */
    public static int[] unpermute(int[] scoresInPresentedOrder, int[] order) {
        requireOrder(order, scoresInPresentedOrder.length);
        int[] original = new int[order.length];
        for (int j = 0; j < order.length; j++) original[order[j]] = scoresInPresentedOrder[j];
        return original;
    }

    public static boolean isPermutation(int[] order) {
        if (order == null) return false;
        boolean[] seen = new boolean[order.length];
        for (int index : order) {
            if (index < 0 || index >= order.length || seen[index]) return false;
            seen[index] = true;
        }
        return true;
    }

    private static void requireOrder(int[] order, int n) {
        if (order == null || order.length != n) {
            throw new IllegalArgumentException("order must have length " + n + ", got "
                    + (order == null ? "null" : String.valueOf(order.length)));
        }
        if (!isPermutation(order)) throw new IllegalArgumentException("order is not a permutation of 0.." + (n - 1));
    }

    private static void requireSize(int n) {
        if (n < 0) throw new IllegalArgumentException("n must be >= 0, got " + n);
    }
}
