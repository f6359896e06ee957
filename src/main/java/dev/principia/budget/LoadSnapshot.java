package dev.principia.budget;

/**
 * The engine's load when a request arrives, as load-aware degradation sees it.
 *
 * @param estimatedWaitMillis estimated queue wait now
 * @param inFlightSamples     samples admitted and unfinished now
 */
public record LoadSnapshot(double estimatedWaitMillis, int inFlightSamples) {
    public static final LoadSnapshot IDLE = new LoadSnapshot(0, 0);

    public LoadSnapshot {
        if (!(estimatedWaitMillis >= 0)) throw new IllegalArgumentException("estimatedWaitMillis must be >= 0, got " + estimatedWaitMillis);
        if (inFlightSamples < 0) throw new IllegalArgumentException("inFlightSamples must be >= 0, got " + inFlightSamples);
    }
}
