package dev.principia.server;

/**
 * What {@code GetServerInfo} says of one loaded model; {@link ModelRuntime} fills it in, so the gRPC
 * layer never reads model directories itself.
 *
 * @param role one of {@code grm}, {@code meta_rm}, {@code scalar_rm}
 */
record LoadedModel(String role, String name, String architecture, String directory, int numLayers, int hiddenSize,
                   int numAttentionHeads, int numKeyValueHeads, int vocabSize, int maxPositionEmbeddings, long numParameters,
                   boolean embeddedDefault, Serving serving) {

    /**
     * How the model is served.
     *
     * @param weightPrecision {@code fp32} ... {@code int4}, or {@code pre-exported}
     * @param kvCacheDtype    {@code fp32} or {@code fp16}; empty with {@code kvCacheBytes} 0 for classifiers
     * @param attention       {@code plain} or {@code gqa}
     */
    record Serving(String weightPrecision, long weightBytes, long kvCacheBytes, String kvCacheDtype, String attention) {
    }
}
