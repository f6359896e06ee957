package dev.principia.grm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.principia.budget.ResolvedBudget;
import dev.principia.engine.Outcome;
import dev.principia.engine.SequenceOutput;
import dev.principia.engine.SequenceStatus;

/**
 * From what the waves produced to the answer: which samples count, why a request with none fails,
 * the meta-RM filter, the vote and the usage. Pure: no engine, no threads, no clock.
 */
final class Tally {
    private Tally() {
    }

    /**
     * One submitted sample as its wave left it.
     *
     * @param text        the decoded generation
     * @param judgment    its parsed score block, or why it has none
     * @param forced      the score block came from constrained decoding
     * @param forcedEarly anytime scoring forced it before the token limit
     */
    record SampleRun(SequenceOutput output, String text, Judgment judgment, boolean forced, boolean forcedEarly) {
        Outcome outcome() {
            return output.outcome();
        }
    }

    /**
     * What the waves produced.
     *
     * @param samples  one per submitted sample, in sample order (a prefix of the plan)
     * @param cutShort waves stopped before every planned sample ran, for a reason other than adaptive voting
     */
    record Waves(List<SampleRun> samples, boolean cutShort, long queueNanos, long computeNanos) {
        Waves {
            samples = List.copyOf(samples);
        }
    }

    /** Parses a finished sample; a sample that failed or was aborted is invalid with the reason. */
    static Judgment judge(SequenceOutput out, String text, JudgmentParser parser, int numResponses) {
        return switch (out.outcome()) {
            case FINISHED -> parser.parse(text, numResponses);
            case FAILED -> Judgment.invalid("generation failed: " + out.error());
            default -> Judgment.invalid("not finished: " + out.error());
        };
    }

    /**
     * The samples that may be voted.
     *
     * @throws ScoringException when none is: INTERNAL when every sample failed, UNAVAILABLE on shutdown,
     *                          DEADLINE_EXCEEDED or CANCELLED when the request was cut off first, else FAILED_PRECONDITION
     */
    static List<Integer> validSamples(String id, Waves waves) {
        List<Integer> valid = new ArrayList<>();
        int numFailed = 0;
        String firstError = null;
        boolean[] seen = new boolean[Outcome.values().length];
        for (int s = 0; s < waves.samples().size(); s++) {
            SampleRun run = waves.samples().get(s);
            Outcome outcome = run.outcome();
            seen[outcome.ordinal()] = true;
            if (outcome == Outcome.FAILED) {
                numFailed++;
                if (firstError == null) firstError = run.output().error();
            }
            if (run.judgment().valid()) valid.add(s);
        }
        if (!valid.isEmpty()) return valid;
        int numRun = waves.samples().size();
        if (numFailed == numRun) {
            throw new ScoringException(ScoringException.Kind.INTERNAL, "request " + id + ": every sample failed: " + firstError);
        }
        if (seen[Outcome.SHUTDOWN.ordinal()]) {
            throw new ScoringException(ScoringException.Kind.UNAVAILABLE, "request " + id
                    + ": the server is shutting down; retry on another replica");
        }
        if (seen[Outcome.DEADLINE.ordinal()]) {
            throw new ScoringException(ScoringException.Kind.DEADLINE_EXCEEDED, "request " + id
                    + ": deadline exceeded before any of " + numRun + " samples finished");
        }
        if (seen[Outcome.CANCELLED.ordinal()]) {
            throw new ScoringException(ScoringException.Kind.CANCELLED, "request " + id + ": cancelled before any sample finished");
        }
        throw new ScoringException(ScoringException.Kind.FAILED_PRECONDITION, "request " + id + ": none of the " + numRun
                + " samples produced a valid score block (first reason: " + waves.samples().get(0).judgment().invalidReason()
                + "); raise budget.max_new_tokens or check the prompt template");
    }

    /** Whether the answer covers fewer samples than planned because something cut the request off. */
    static boolean partial(Waves waves) {
        if (waves.cutShort()) return true;
        for (SampleRun run : waves.samples()) {
            if (run.output().status() == SequenceStatus.FINISHED_ABORTED || run.forcedEarly()) return true;
        }
        return false;
    }

    /**
     * Votes over the valid samples, or over the {@code budget.metaKeep()} of them the meta-RM scored highest, or
     * over those it scored at least {@code budget.metaMinScore()} (all when none is), or over all of them weighted
     * by meta score at {@code budget.metaTemperature()} ({@link MetaFilter#weigh}).
     *
     * @param valid             {@link #validSamples}, not empty
     * @param metaScoresOfValid the meta-RM's score per valid sample, in that order; null without meta filtering
     */
    static ScoringResult result(String id, SamplePlan plan, ResolvedBudget budget, Waves waves, List<Integer> valid,
                                float[] metaScoresOfValid) {
        int numRun = waves.samples().size();
        int n = plan.numResponses();
        float[] metaScores = new float[numRun];
        double[] weights = new double[numRun];
        if (metaScoresOfValid != null) {
            Arrays.fill(metaScores, Float.NaN);
            for (int i = 0; i < valid.size(); i++) metaScores[valid.get(i)] = metaScoresOfValid[i];
            if (budget.metaTemperature() != null) {
                weights = MetaFilter.weigh(metaScores, budget.metaTemperature());
            } else {
                boolean[] kept = budget.metaMinScore() != null ? MetaFilter.keepAtLeast(metaScores, budget.metaMinScore())
                        : MetaFilter.keepTop(metaScores, budget.metaKeep(), SampleSeeds.mix(budget.seed() ^ 0x6d657461L));
                for (int s = 0; s < numRun; s++) weights[s] = kept[s] ? 1 : 0;
            }
        } else {
            for (int s : valid) weights[s] = 1;
        }
        List<int[]> votes = new ArrayList<>();
        List<Double> voteWeights = new ArrayList<>();
        List<ScoringResult.SampleResult> samples = new ArrayList<>(numRun);
        long promptTokens = 0;
        long generatedTokens = 0;
        int numForced = 0;
        for (int s = 0; s < numRun; s++) {
            SampleRun run = waves.samples().get(s);
            Judgment j = run.judgment();
            int[] order = plan.orders()[s];
            int[] scores = j.valid() ? Permutations.unpermute(j.scores(), order) : new int[0];
            if (weights[s] > 0) {
                votes.add(scores);
                voteWeights.add(weights[s]);
            }
            promptTokens += Math.max(0, plan.prompts()[s].length - run.output().numForkedTokens());
            generatedTokens += run.output().tokenIds().length;
            numForced += run.forced() ? 1 : 0;
            float metaScore = metaScoresOfValid == null || Float.isNaN(metaScores[s]) ? 0f : metaScores[s];
            samples.add(new ScoringResult.SampleResult(order, run.text(), scores, j.valid(), j.valid() ? "" : j.invalidReason(),
                    run.forced(), metaScore, weights[s], plan.seeds()[s], run.output().tokenIds().length));
        }
        Vote vote = Vote.weighted(votes, voteWeights.stream().mapToDouble(Double::doubleValue).toArray(), n, SampleSeeds.tieBreak(budget.seed()));
        int saved = budget.adaptive() && !waves.cutShort() ? plan.numSamples() - numRun : 0;
        ScoringResult.Usage usage = new ScoringResult.Usage(promptTokens, generatedTokens, numRun, valid.size(), numForced,
                TimeUnit.NANOSECONDS.toMillis(waves.queueNanos()), TimeUnit.NANOSECONDS.toMillis(waves.computeNanos()),
                budget.samplesAsked(), saved, votes.size());
        return new ScoringResult(id, vote.rewards(), vote.meanScores(), vote.ranks(), vote.bestIndex(), samples, usage, budget.seed(),
                partial(waves), budget.degraded(), budget.degradedReason());
    }
}
