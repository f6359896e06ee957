package dev.principia.backend.onnx;

import java.nio.file.Path;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.principia.backend.BackendException;

/** The one place ONNX Runtime sessions are opened, with the settings every graph of ours runs best with. */
final class OrtSessions {
    private OrtSessions() {
    }

    /**
     * Opens a CPU session: full graph optimisation (fusions), sequential execution with one inter-op
     * thread, and intra-op threads that sleep between operators unless {@code allowSpinning} (spinning
     * wins on dedicated cores and loses badly on shared ones).
     *
     * @param intraOpThreads 0 lets the runtime choose
     * @throws BackendException naming the file when the session cannot be created
     */
    static OrtSession open(Path onnxFile, int intraOpThreads, boolean allowSpinning) {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(intraOpThreads);
            so.setInterOpNumThreads(1);
            so.addConfigEntry("session.intra_op.allow_spinning", allowSpinning ? "1" : "0");
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return OrtEnvironment.getEnvironment().createSession(onnxFile.toString(), so);
        } catch (OrtException e) {
            throw new BackendException(onnxFile + ": cannot create ONNX Runtime session: " + e.getMessage(), e);
        }
    }

    /** Closes {@code session}; a failure is a {@link BackendException}. */
    static void close(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            throw new BackendException("cannot close ONNX Runtime session", e);
        }
    }
}
