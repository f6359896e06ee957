package dev.principia.backend;

/**
 * A decoder model that runs batches of token slices against a KV cache it owns.
 *
 * <p>Shaped like Triton's backend API: {@link #execute(Batch)} is the one required verb, and the
 * backend holds no policy — which sequences run, in what order and with how many tokens is the
 * engine's business. A backend stores KV per <em>slot</em>; slot ids are chosen by the engine
 * (non-negative ints, below {@link BackendInfo#maxSlots()}) and the engine decides when slots are
 * filled, forked and freed.
 *
 * <p>Threading: every method is called from one thread at a time (the engine loop). Implementations
 * need not be thread-safe.
 *
 * <p>Ownership: arrays in a {@link Batch} belong to the caller and are not retained after
 * {@code execute} returns; arrays in a {@link BatchResult} belong to the caller afterwards.
 */
public interface Backend extends AutoCloseable {

    /** Shape of the loaded model. */
    BackendInfo info();

    /**
     * Runs one forward step. For each entry, feeds {@code tokenIds} at positions
     * {@code [startPosition, startPosition + tokenIds.length)} with the slot's KV for positions
     * {@code [0, startPosition)} as past, and leaves KV for {@code [0, startPosition + tokenIds.length)}
     * in the slot. A slot holding more than {@code startPosition} positions is truncated first
     * (recompute after preemption). Returns the logits of each entry's last position.
     *
     * @throws BackendException when the step fails; the KV of the batch's slots is then undefined
     */
    BatchResult execute(Batch batch);

    /** Makes {@code dstSlot} hold a copy of the first {@code numTokens} positions of {@code srcSlot}. */
    void copyKv(int srcSlot, int dstSlot, int numTokens);

    /** Releases the storage of a slot; it may be reused by a later {@code execute} or {@code copyKv}. */
    void freeKv(int slot);

    /** Number of positions currently held in a slot (0 for an unused slot). */
    int kvLength(int slot);

    @Override
    void close();
}
