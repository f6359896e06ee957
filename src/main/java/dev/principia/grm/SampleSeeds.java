package dev.principia.grm;

/**
 * Seeds derived from one request seed, so a request replays exactly. Every derived seed is a SplitMix64
 * finalisation of a distinct input, so the streams are independent for practical purposes and equal
 * request seeds give equal streams.
 */
public final class SampleSeeds {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    /** Offsets the tie-break stream away from every sample index. */
    private static final long TIE_BREAK_STREAM = 0xD1B54A32D192ED03L;

    private SampleSeeds() {
    }

    /** Seed of sample {@code sampleIndex >= 0}: drives its permutation and its token sampling. */
    public static long derive(long requestSeed, int sampleIndex) {
        if (sampleIndex < 0) throw new IllegalArgumentException("sampleIndex must be >= 0, got " + sampleIndex);
        return mix(mix(requestSeed) + GOLDEN_GAMMA * (sampleIndex + 1L));
    }

    /** Seed for {@link Vote#tally}'s tie-break, from a stream separate from the {@link #derive} seeds. */
    public static long tieBreak(long requestSeed) {
        return mix(mix(requestSeed) ^ TIE_BREAK_STREAM);
    }

    /** SplitMix64's output function (Steele, Lea, Flood 2014): a bijection on 64-bit values. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
