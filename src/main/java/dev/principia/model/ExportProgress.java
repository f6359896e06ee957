package dev.principia.model;

import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import dev.principia.model.onnx.OnnxExporter;

/**
 * Export progress for the log: one line each time another 10 % of the checkpoint's bytes is written,
 * with tensors, bytes, elapsed time and an ETA from the average rate so far, e.g.
 * {@code export 30% - 61/201 tensors, 1.32/4.40 GB, 41 s elapsed, about 96 s left}.
 */
final class ExportProgress implements OnnxExporter.Progress {
    private final int numTensors;
    private final Consumer<String> log;
    private final LongSupplier nanoClock;
    private final long startNanos;
    private int tensorsDone;
    private int lastDecile;

    ExportProgress(int numTensors, Consumer<String> log, LongSupplier nanoClock) {
        this.numTensors = numTensors;
        this.log = log;
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    @Override
    public void tensorDone(String name, long bytesDone, long bytesTotal) {
        tensorsDone++;
        int decile = bytesTotal <= 0 ? 10 : (int) Math.min(10, 10 * bytesDone / bytesTotal);
        if (decile <= lastDecile) return;
        lastDecile = decile;
        double elapsed = (nanoClock.getAsLong() - startNanos) / 1e9;
        double left = bytesDone <= 0 ? 0 : elapsed * (bytesTotal - bytesDone) / bytesDone;
        log.accept(String.format(Locale.ROOT, "export %d%% - %d/%d tensors, %.2f/%.2f GB, %.0f s elapsed, about %.0f s left",
                decile * 10, tensorsDone, numTensors, bytesDone / 1e9, bytesTotal / 1e9, elapsed, left));
    }
}
