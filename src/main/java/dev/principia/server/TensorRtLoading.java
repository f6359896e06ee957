package dev.principia.server;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

import dev.principia.backend.ClassifierBackend;
import dev.principia.backend.fixedkv.FixedKvBackend;
import dev.principia.backend.tensorrt.NativeTensorRt;
import dev.principia.backend.tensorrt.TensorRtEngines;
import dev.principia.backend.tensorrt.TensorRtProbe;
import dev.principia.engine.EngineConfig;
import dev.principia.model.ExportCache;
import dev.principia.model.ModelConfig;
import dev.principia.model.ModelDirectory;
import dev.principia.model.WeightPrecision;
import dev.principia.model.onnx.OnnxExporter;

/**
 * {@code principia.backend} resolved, and the TensorRT half of loading: the GRM as the portable decoder graph (fp16,
 * KV in place on the device) and classifiers as fp16 classifier graphs, each compiled to a cached TensorRT plan. It
 * reaches TensorRT only through {@link TensorRtProbe}'s reflectively loaded {@link NativeTensorRt}.
 */
final class TensorRtLoading {
    /** Sequences per classifier call on the GPU. */
    static final int CLASSIFIER_MAX_ROWS = 16;

    /** A classifier on TensorRT and what GetServerInfo says of it. */
    record Classifier(ClassifierBackend backend, LoadedModel.Serving serving) {
    }

    private TensorRtLoading() {
    }

    /**
     * {@code principia.backend}: {@code onnx} = empty; {@code tensorrt} = the runtime, or an {@link IllegalStateException}
     * with the probe's reason; {@code auto} = whatever the probe found, logged with its reason.
     */
    static Optional<NativeTensorRt> choose(String configured, Consumer<String> log) {
        String kind = configured.strip().toLowerCase(Locale.ROOT);
        if (kind.equals("onnx")) return Optional.empty();
        if (!kind.equals("auto") && !kind.equals("tensorrt")) {
            throw new IllegalArgumentException("principia.backend=" + configured + " is not one of auto, onnx, tensorrt");
        }
        List<Path> ldPath = new ArrayList<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String d : ld.split(":")) if (!d.isBlank()) ldPath.add(Path.of(d));
        TensorRtProbe.Verdict v = TensorRtProbe.probe(TensorRtProbe.Inputs.standard(ldPath));
        if (kind.equals("tensorrt") && !v.usable()) throw new IllegalStateException("principia.backend=tensorrt, but TensorRT cannot run here: " + v.reason());
        log.accept("backend: " + kind + (kind.equals("auto") ? " chose " + v.backend() : "") + ": " + v.reason());
        return v.runtime();
    }

    /** The GRM on TensorRT: the portable fp16 graph exported (or found in the export cache), its plan built or loaded. */
    static GrmLoader.Loaded loadGrm(ModelDirectory model, PrincipiaConfig config, NativeTensorRt trt, Consumer<String> log) throws IOException {
        ModelConfig c = model.config();
        PrincipiaConfig.Engine ec = config.engine();
        int maxModelLen = Math.min(ec.maxModelLen(), c.maxPositionEmbeddings());
        if (!GrmBackends.hasWeights(model)) {
            throw new IllegalArgumentException(model.dir() + ": principia.backend=tensorrt exports the portable graph from safetensors weights, "
                    + "and the directory holds none; use principia.backend=onnx");
        }
        ExportCache.Export export = ExportCache.ensure(model, config.model().cacheDir(),
                ExportCache.SERVING.withWeights(WeightPrecision.FP16).withAttention(OnnxExporter.Attention.PORTABLE), log);
        var spec = new TensorRtEngines.DecoderSpec(c.numHiddenLayers(), c.numKeyValueHeads(), c.headDim(), c.vocabSize(), ec.maxNumSeqs(),
                ec.maxNumBatchedTokens(), maxModelLen, 2, ec.kvCacheBytes());
        FixedKvBackend backend = TensorRtEngines.openDecoder(trt, export.onnx(), spec, config.model().cacheDir(), log);
        int kvTokens = (int) Math.min(Integer.MAX_VALUE, backend.info().kvCacheTokens());
        EngineConfig engineConfig = new EngineConfig(ec.maxNumSeqs(), ec.maxNumBatchedTokens(), kvTokens, ec.maxPendingRequests(), ec.maxModelLen());
        LoadedModel.Serving serving = new LoadedModel.Serving(WeightPrecision.FP16.configName(), GrmLoader.graphBytes(export.onnx()),
                backend.info().kvCacheBytes(), GrmLoader.dtypeName(backend.info().kvElementType()), "portable");
        return new GrmLoader.Loaded(backend, engineConfig, null, serving);
    }

    /** A meta-RM or scalar RM on TensorRT: its fp16 classifier graph, sequences up to {@code principia.engine.max-model-len}. */
    static Classifier classifier(ModelDirectory dir, PrincipiaConfig config, NativeTensorRt trt, Consumer<String> log) throws IOException {
        ExportCache.Export export = ExportCache.ensure(dir, config.model().cacheDir(), ExportCache.SERVING.withWeights(WeightPrecision.FP16), log);
        ModelConfig c = dir.config();
        int maxPositions = Math.min(c.maxPositionEmbeddings(), config.engine().maxModelLen());
        ClassifierBackend backend = TensorRtEngines.openClassifier(trt, export.onnx(), c.numLabels(), maxPositions, CLASSIFIER_MAX_ROWS,
                config.metaRm().maxBatchTokens(), config.model().cacheDir(), log);
        String precision = export.preExported() && !dir.embeddedDefault() ? "pre-exported" : WeightPrecision.FP16.configName();
        return new Classifier(backend, new LoadedModel.Serving(precision, GrmLoader.graphBytes(export.onnx()), 0, "", "plain"));
    }
}
