package dev.principia.backend.onnx;

/** Run in a child JVM by {@link KvPoolTest}: allocates an eager 8 MiB pool in 1 MiB segments and prints what happened. */
public final class DirectMemoryProbe {
    private DirectMemoryProbe() {
    }

    public static void main(String[] args) {
        long blockBytes = KvPool.blockBytes(1, 1, 16, 4);
        try {
            new KvPool(1, 1, 16, 4, (8L << 20) / blockBytes * blockBytes, 1L << 20, true);
            System.out.println("allocated");
        } catch (RuntimeException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
