package dev.principia.server;

/**
 * What {@code GetServerInfo} says of one loaded model; {@link ModelRuntime} fills it in, so the gRPC
 * layer never reads model directories itself.
 *
 * @param role one of {@code grm}, {@code meta_rm}, {@code scalar_rm}
 */
record LoadedModel(String role, String name, String architecture, String directory, int numLayers, int hiddenSize,
                   int numAttentionHeads, int numKeyValueHeads, int vocabSize, int maxPositionEmbeddings, long numParameters,
                   boolean embeddedDefault) {
}
