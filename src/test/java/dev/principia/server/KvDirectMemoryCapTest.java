package dev.principia.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.principia.model.MemoryPlan;

/**
 * The GRM's KV pool and its staging copies must leave direct memory to the rest of the process. Found by running
 * the embedded default with -Xmx2g under RMB's long prompts: the pool had been capped so that pool plus staging
 * filled the whole 2 GiB limit, and once staging grew, backend steps of 64 sequences failed for lack of 94 MB.
 */
class KvDirectMemoryCapTest {
    private static final long GIB = 1L << 30;
    private static final long PER_TOKEN = 6144;

    @Test
    void aPoolThatFitsWithHeadroomIsKept() {
        List<String> log = new ArrayList<>();
        long planned = 1000L * PER_TOKEN;
        assertEquals(planned, GrmLoader.capKvToDirectMemory(planned, PER_TOKEN, 2, 2 * GIB, 0, 4096, log::add));
        assertTrue(log.isEmpty());
    }

    @Test
    void theCapLeavesAnEighthOfTheLimitToTheRest() {
        // the numbers of the failing run: 2 GiB of direct memory, a 0.72 GB plan, two staging copies
        List<String> log = new ArrayList<>();
        long direct = 2 * GIB, planned = 116508L * PER_TOKEN;
        long kv = GrmLoader.capKvToDirectMemory(planned, PER_TOKEN, 2, direct, 0, 4096, log::add);
        assertTrue(kv < planned);
        assertEquals(0, kv % PER_TOKEN, "whole tokens");
        assertTrue(direct - kv * 3 >= direct / 8, "left to the rest: " + (direct - kv * 3));
        assertTrue(direct - kv * 3 < direct / 8 + 3 * PER_TOKEN, "and no more than rounding beyond it");
        assertEquals(1, log.size());
        assertTrue(log.get(0).contains("capped"), log.get(0));
    }

    @Test
    void smallLimitsKeepAtLeastTheMinimumHeadroom() {
        long direct = GIB;
        long kv = GrmLoader.capKvToDirectMemory(100_000L * PER_TOKEN, PER_TOKEN, 2, direct, 0, 4096, s -> { });
        assertTrue(direct - kv * 3 >= GrmLoader.DIRECT_HEADROOM_MIN);
    }

    @Test
    void aConfiguredPoolThatDoesNotFitIsRefusedWithWhatToChange() {
        var e = assertThrows(MemoryPlan.DoesNotFitException.class,
                () -> GrmLoader.capKvToDirectMemory(GIB, PER_TOKEN, 2, 2 * GIB, GIB, 4096, s -> { }));
        assertTrue(e.getMessage().contains("-XX:MaxDirectMemorySize"), e.getMessage());
        assertTrue(e.getMessage().contains("principia.engine.kv-cache-bytes"), e.getMessage());
    }

    @Test
    void aCapBelowOneLongestSequenceIsRefused() {
        // 300 MiB of direct memory: the headroom leaves 44 MiB, a third of which holds fewer than 4096 tokens
        var e = assertThrows(MemoryPlan.DoesNotFitException.class,
                () -> GrmLoader.capKvToDirectMemory(GIB, PER_TOKEN, 2, 300L << 20, 0, 4096, s -> { }));
        assertTrue(e.getMessage().contains("raise -XX:MaxDirectMemorySize"), e.getMessage());
    }
}
