package dev.principia.backend.tensorrt;

import dev.principia.backend.Batch;
import dev.principia.backend.fixedkv.FixedKvLayout;
import dev.principia.backend.fixedkv.Run;
import dev.principia.backend.fixedkv.RunPlanner;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProfileShapesTest {

    @Test
    void decodeProfileFirstThenPrefillBucketsLongestFirst() {
        ProfileShapes p = ProfileShapes.decoder(64, 512, 2048, 2, 4, 64);
        assertEquals(new RunPlanner.Limits(64, 512), p.limits());
        ProfileShapes.Profile decode = p.profiles().get(0);
        assertEquals(new ProfileShapes.Range(1, 1, 1), decode.seq());
        assertEquals(new ProfileShapes.Range(1, 64, 64), decode.rows());
        // S buckets [129, 512], [33, 128], [9, 32], [3, 8], [2, 2]
        assertEquals(new ProfileShapes.Range(129, 512, 512), p.profiles().get(1).seq());
        assertEquals(new ProfileShapes.Range(1, 1, 3), p.profiles().get(1).rows());
        assertEquals(new ProfileShapes.Range(33, 128, 128), p.profiles().get(2).seq());
        assertEquals(new ProfileShapes.Range(2, 2, 2), p.profiles().get(5).seq());
        assertEquals(6, p.profiles().size());
        assertEquals(64, p.maxRows());
    }

    @Test
    void everyProfileStaysWithinTheBucketRatioOfTheTokenLimit() {
        for (int[] l : new int[][] {{64, 512, 2048}, {256, 8192, 4096}, {1, 1, 16}, {8, 100, 37}, {300, 2048, 8192}}) {
            ProfileShapes p = ProfileShapes.decoder(l[0], l[1], l[2], 1, 1, 8);
            for (ProfileShapes.Profile pr : p.profiles()) {
                assertTrue((long) pr.rows().max() * pr.seq().max() <= (long) ProfileShapes.BUCKET_RATIO * l[1], pr + " for " + java.util.Arrays.toString(l));
                assertTrue(pr.rows().max() <= l[0]);
            }
        }
    }

    /** Every call the planner can produce under the shapes' limits fits a profile (random batches, chunked prompts). */
    @Test
    void everyPlannedRunFitsAProfile() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int seqs = 1 + rnd.nextInt(40), tokens = 1 + rnd.nextInt(700), capacity = 8 + rnd.nextInt(900);
            ProfileShapes p = ProfileShapes.decoder(seqs, tokens, capacity, 1, 2, 8);
            FixedKvLayout layout = new FixedKvLayout(1, 2, 8, capacity, seqs, 2);
            List<Batch.Entry> entries = new ArrayList<>();
            for (int slot = 0; slot < seqs; slot++) {
                if (rnd.nextBoolean()) continue;
                int start = rnd.nextInt(capacity), len = 1 + rnd.nextInt(capacity - start);
                entries.add(new Batch.Entry(slot, new int[rnd.nextBoolean() ? 1 : len], start));
            }
            if (entries.isEmpty()) continue;
            for (Run run : new RunPlanner(layout, p.limits()).plan(new Batch(entries))) {
                int profile = p.profileFor(run.rows(), run.tokensPerRow());
                assertTrue(p.profiles().get(profile).fits(run.rows(), run.tokensPerRow()));
                assertEquals(run.tokensPerRow() == 1, profile == 0, "decode calls use the decode profile");
            }
        }
    }

    @Test
    void tensorsCarryTokenAndFixedCapacityKvDims() {
        ProfileShapes p = ProfileShapes.decoder(16, 256, 1024, 2, 4, 64);
        List<ProfileShapes.TensorShape> t = p.tensors(0);
        assertEquals(List.of("input_ids", "position_ids", "past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key",
                "past_key_values.1.value"), t.stream().map(ProfileShapes.TensorShape::name).toList());
        assertArrayEquals(new long[] {1, 1}, t.get(0).min());
        assertArrayEquals(new long[] {16, 1}, t.get(0).max());
        assertArrayEquals(new long[] {1, 4, 1024, 64}, t.get(2).min());
        assertArrayEquals(new long[] {16, 4, 1024, 64}, t.get(2).max());
        assertArrayEquals(new long[] {3, 4, 1024, 64}, p.kvDims(3));
    }

    @Test
    void aCallBeyondTheLimitsIsRefusedByName() {
        ProfileShapes p = ProfileShapes.decoder(4, 64, 128, 1, 1, 8);
        var e = assertThrows(IllegalArgumentException.class, () -> p.profileFor(5, 1));
        assertTrue(e.getMessage().contains("5 rows x 1 tokens"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> p.profileFor(1, 65));
    }

    @Test
    void describeChangesWithEveryLimit() {
        String base = ProfileShapes.decoder(8, 64, 128, 2, 2, 16).describe();
        assertTrue(!base.equals(ProfileShapes.decoder(9, 64, 128, 2, 2, 16).describe()));
        assertTrue(!base.equals(ProfileShapes.decoder(8, 65, 128, 2, 2, 16).describe()));
        assertTrue(!base.equals(ProfileShapes.decoder(8, 64, 129, 2, 2, 16).describe()));
        assertTrue(!base.equals(ProfileShapes.decoder(8, 64, 128, 3, 2, 16).describe()));
        assertEquals(base, ProfileShapes.decoder(8, 64, 128, 2, 2, 16).describe());
    }

    @Test
    void classifierGroupsFitAProfileAndTheTokenBudget() {
        ProfileShapes p = ProfileShapes.classifier(4, 64, 100);
        int[] lengths = {10, 12, 3, 40, 100, 5, 5, 5, 5, 5, 1};
        List<ProfileShapes.Group> groups = p.groups(lengths);
        int next = 0;
        for (ProfileShapes.Group g : groups) {
            assertEquals(next, g.from());
            next += g.count();
            assertTrue(p.profiles().get(g.profile()).fits(g.count(), g.seqLen()));
            assertTrue((long) g.count() * g.seqLen() <= Math.max(64, g.seqLen()));
            for (int i = g.from(); i < g.from() + g.count(); i++) assertTrue(lengths[i] <= g.seqLen());
        }
        assertEquals(lengths.length, next);
        assertEquals(1, groups.stream().filter(g -> g.seqLen() == 100).findFirst().orElseThrow().count(), "a sequence longer than the budget runs alone");
        var g0 = groups.get(0);
        long[] ids = ProfileShapes.padded(List.of(new int[] {5, 6}, new int[] {7}), new ProfileShapes.Group(0, 2, 2, g0.profile()), false);
        assertArrayEquals(new long[] {5, 6, 7, 0}, ids);
        long[] mask = ProfileShapes.padded(List.of(new int[] {5, 6}, new int[] {7}), new ProfileShapes.Group(0, 2, 2, g0.profile()), true);
        assertArrayEquals(new long[] {1, 1, 1, 0}, mask);
    }
}
