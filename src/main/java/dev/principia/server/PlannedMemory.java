package dev.principia.server;

/** The GRM's start-up memory plan as {@code GetServerInfo} reports it (bytes); {@link ModelRuntime} fills it in. */
record PlannedMemory(long availableBytes, String availableSource, long reservedBytes, long weightBytes, long activationBytes,
                     long kvCacheBytes, long kvBytesPerToken) {
}
