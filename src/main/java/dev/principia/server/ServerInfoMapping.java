package dev.principia.server;

import dev.principia.api.v1.Defaults;
import dev.principia.api.v1.Limits;
import dev.principia.api.v1.ModelInfo;
import dev.principia.api.v1.ServerInfo;
import dev.principia.budget.BudgetPolicy;

/** Builds {@code GetServerInfo}'s answer from the runtime and the configuration. */
final class ServerInfoMapping {
    private ServerInfoMapping() {
    }

    static ServerInfo toProto(ModelRuntime runtime, PrincipiaConfig config) {
        ServerInfo.Builder info = ServerInfo.newBuilder().setVersion(Version.VERSION).setBackend(runtime.backendName());
        for (LoadedModel m : runtime.loadedModels()) info.addModels(modelInfo(m));
        PrincipiaConfig.Limits l = config.limits();
        info.setLimits(Limits.newBuilder().setMaxResponses(l.maxResponses()).setMaxSamples(l.maxSamples())
                .setMaxNewTokens(l.maxNewTokens()).setMaxStringChars(l.maxStringChars()).setMaxBatchItems(l.maxBatchItems())
                .setMaxConversationTurns(l.maxConversationTurns()).setMaxPromptTokens(l.maxPromptTokens()));
        info.setDefaults(Defaults.newBuilder().setSamples(config.defaults().samples())
                .setMaxNewTokens(config.defaults().maxNewTokens()).setTemperature(config.defaults().temperature()));
        if (runtime.promptTemplate() != null) info.setPromptTemplate(runtime.promptTemplate().text());
        BudgetPolicy p = runtime.policy();
        if (p != null) {
            info.setBudgetPolicy(dev.principia.api.v1.BudgetPolicy.newBuilder().setDefaultSamples(p.defaultSamples())
                    .setMaxSamples(p.maxSamples()).setDefaultMaxNewTokens(p.defaultMaxNewTokens()).setMaxNewTokens(p.maxNewTokensCap())
                    .setSamplingTemperature(p.samplingTemperature()).setTargetQueueWaitMs(p.loadPolicy().targetQueueWaitMillis())
                    .setMaxInFlightSamples(p.loadPolicy().maxInFlightSamples()).setMetaRmLoaded(p.metaRmLoaded())
                    .setDefaultMetaTemperature(p.defaultMetaTemperature()));
        }
        PlannedMemory plan = runtime.plannedMemory();
        if (plan != null) {
            info.setMemoryPlan(dev.principia.api.v1.MemoryPlan.newBuilder().setAvailableBytes(plan.availableBytes())
                    .setAvailableSource(plan.availableSource()).setReservedBytes(plan.reservedBytes()).setWeightBytes(plan.weightBytes())
                    .setActivationBytes(plan.activationBytes()).setKvCacheBytes(plan.kvCacheBytes()).setKvBytesPerToken(plan.kvBytesPerToken()));
        }
        return info.build();
    }

    private static ModelInfo modelInfo(LoadedModel m) {
        return ModelInfo.newBuilder().setRole(m.role()).setName(m.name()).setArchitecture(m.architecture())
                .setDirectory(m.directory()).setNumLayers(m.numLayers()).setHiddenSize(m.hiddenSize())
                .setNumAttentionHeads(m.numAttentionHeads()).setNumKeyValueHeads(m.numKeyValueHeads())
                .setVocabSize(m.vocabSize()).setMaxPositionEmbeddings(m.maxPositionEmbeddings())
                .setNumParameters(m.numParameters()).setEmbeddedDefault(m.embeddedDefault())
                .setWeightPrecision(m.serving().weightPrecision()).setWeightBytes(m.serving().weightBytes())
                .setKvCacheBytes(m.serving().kvCacheBytes()).setKvCacheDtype(m.serving().kvCacheDtype())
                .setAttention(m.serving().attention()).build();
    }
}
