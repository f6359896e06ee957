package dev.principia.server;

import java.util.ArrayList;
import java.util.List;

import dev.principia.api.v1.Budget;
import dev.principia.api.v1.ResponseScore;
import dev.principia.api.v1.Sample;
import dev.principia.api.v1.ScoreRequest;
import dev.principia.api.v1.ScoreResponse;
import dev.principia.api.v1.Usage;
import dev.principia.budget.RequestedBudget;
import dev.principia.grm.ScoringException;
import dev.principia.grm.ScoringRequest;
import dev.principia.grm.ScoringResult;
import dev.principia.grm.Turn;

/** Converts between the v1 protobuf messages and the GRM layer's records. */
final class ProtoMapping {
    private ProtoMapping() {
    }

    /**
     * @param arrivalNanos      when the call arrived ({@code budget.deadline_ms} counts from here)
     * @param callDeadlineNanos the call's gRPC deadline as a {@link System#nanoTime()} instant; {@link Long#MAX_VALUE} = none
     */
    static ScoringRequest toScoring(ScoreRequest r, long arrivalNanos, long callDeadlineNanos) {
        List<Turn> turns = new ArrayList<>(r.getConversationCount());
        for (var t : r.getConversationList()) turns.add(new Turn(t.getRole(), t.getContent()));
        Budget b = r.getBudget();
        RequestedBudget budget = new RequestedBudget(b.getSamples(), b.getMinSamples(), b.getMetaKeep(),
                b.hasTemperature() ? b.getTemperature() : null, b.hasMaxNewTokens() ? b.getMaxNewTokens() : null,
                b.getSeed(), b.getAdaptive(), b.getDeadlineMs(), b.hasMetaMinScore() ? b.getMetaMinScore() : null,
                b.hasMetaTemperature() ? b.getMetaTemperature() : null);
        return new ScoringRequest(r.getId(), turns, r.getResponsesList(), r.getPrinciplesList(), budget, r.getReturnSamples(),
                r.getPriority(), arrivalNanos, callDeadlineNanos, mode(r));
    }

    private static ScoringRequest.Mode mode(ScoreRequest r) {
        return switch (r.getMode()) {
            case MODE_GENERATIVE -> ScoringRequest.Mode.GENERATIVE;
            case MODE_SCALAR -> ScoringRequest.Mode.SCALAR;
            default -> throw ScoringException.invalid("mode", "unknown value " + r.getModeValue()
                    + " (MODE_GENERATIVE = 0, MODE_SCALAR = 1)");
        };
    }

    static ScoreResponse toProto(ScoringResult result, boolean returnSamples) {
        ScoreResponse.Builder out = ScoreResponse.newBuilder().setId(result.id()).setBestIndex(result.bestIndex()).setSeed(result.seed())
                .setPartial(result.partial()).setDegraded(result.degraded()).setDegradedReason(result.degradedReason());
        for (int i = 0; i < result.rewards().length; i++) {
            out.addScores(ResponseScore.newBuilder().setReward(result.rewards()[i]).setMeanScore(result.meanScores()[i])
                    .setRank(result.ranks()[i]));
        }
        if (returnSamples) {
            for (ScoringResult.SampleResult s : result.samples()) {
                Sample.Builder sb = Sample.newBuilder().setText(s.text()).setValid(s.valid()).setInvalidReason(s.invalidReason())
                        .setForced(s.forced()).setMetaScore(s.metaScore()).setCounted(s.counted()).setVoteWeight(s.voteWeight()).setSeed(s.seed());
                for (int o : s.order()) sb.addOrder(o);
                for (int sc : s.scores()) sb.addScores(sc);
                out.addSamples(sb);
            }
        }
        ScoringResult.Usage u = result.usage();
        out.setUsage(Usage.newBuilder().setPromptTokens(u.promptTokens()).setGeneratedTokens(u.generatedTokens())
                .setSamplesRun(u.samplesRun()).setSamplesValid(u.samplesValid()).setSamplesForced(u.samplesForced())
                .setQueueMs(u.queueMillis()).setComputeMs(u.computeMillis()).setSamplesRequested(u.samplesRequested())
                .setSamplesSaved(u.samplesSaved()).setSamplesCounted(u.samplesCounted()));
        return out.build();
    }
}
