package dev.principia.cli;

/** {@code principia collect}: SPCT data collection against a running server ({@link DataCollector}). */
public final class CollectCommand {
    private CollectCommand() {
    }

    /** @return the process exit code: 0 every item scored, 1 some failed or I/O failed, 2 bad arguments */
    public static int run(String[] args) {
        String target = "localhost:9000";
        java.nio.file.Path input = null;
        java.nio.file.Path out = null;
        int samples = 8;
        int maxNewTokens = 1024;
        float temperature = 0.5f;
        int limit = 0;
        int inFlight = 16;
        long seed = 1;
        String apiKey = null;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--target" -> target = Args.value(args, ++i, a);
                    case "--input" -> input = java.nio.file.Path.of(Args.value(args, ++i, a));
                    case "--out" -> out = java.nio.file.Path.of(Args.value(args, ++i, a));
                    case "--samples" -> samples = Integer.parseInt(Args.value(args, ++i, a));
                    case "--max-new-tokens" -> maxNewTokens = Integer.parseInt(Args.value(args, ++i, a));
                    case "--temperature" -> temperature = Float.parseFloat(Args.value(args, ++i, a));
                    case "--limit" -> limit = Integer.parseInt(Args.value(args, ++i, a));
                    case "--in-flight" -> inFlight = Integer.parseInt(Args.value(args, ++i, a));
                    case "--seed" -> seed = Long.parseUnsignedLong(Args.value(args, ++i, a));
                    case "--api-key" -> apiKey = Args.value(args, ++i, a);
                    default -> throw new IllegalArgumentException("unknown option " + a + " (see --help)");
                }
            }
            if (input == null || out == null) throw new IllegalArgumentException("--input and --out are required");
        } catch (IllegalArgumentException e) {
            System.err.println("principia collect: " + e.getMessage());
            return 2;
        }
        try {
            DataCollector.Summary s = DataCollector.run(new DataCollector.Options(target, input, out, samples, maxNewTokens, temperature, limit,
                    inFlight, seed, apiKey), System.out);
            System.out.printf("%d items (%d already done), %d failed: %d trajectories, %d accepted, %d rejected (%d invalid); "
                    + "wrote %s%n", s.items(), s.skipped(), s.failed(), s.trajectories(), s.accepted(), s.rejected(), s.invalid(), out);
            return s.failed() == 0 ? 0 : 1;
        } catch (java.io.IOException e) {
            System.err.println("principia collect: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }
}
