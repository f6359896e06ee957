package dev.principia.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.principia.backend.Backend;
import dev.principia.backend.ClassifierBackend;
import dev.principia.backend.tensorrt.NativeTensorRt;
import dev.principia.backend.onnx.OnnxClassifier;
import dev.principia.budget.BudgetPolicy;
import dev.principia.budget.LoadPolicy;
import dev.principia.engine.Engine;
import dev.principia.engine.ClassifierEngine;
import dev.principia.grm.MetaInput;
import dev.principia.grm.MetaRm;
import dev.principia.grm.ScalarModeScorer;
import dev.principia.grm.Generator;
import dev.principia.grm.GrmScorer;
import dev.principia.grm.PromptCodec;
import dev.principia.grm.ScoringContext;
import dev.principia.grm.PromptTemplate;
import dev.principia.grm.ScoringException;
import dev.principia.grm.ScoringLimits;
import dev.principia.grm.ScoringRequest;
import dev.principia.grm.SequenceClassifier;
import dev.principia.model.DefaultModel;
import dev.principia.model.ModelDirectory;
import dev.principia.model.ExportCache;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * Owns the loaded GRM: model directory, ONNX Runtime backend, engine and scorer. Loads at start-up;
 * a model that fails to load leaves the server up and NOT_SERVING (calls get UNAVAILABLE with the
 * reason) instead of crashing in a restart loop. Drains on shutdown.
 */
@ApplicationScoped
public class ModelRuntime {
    private static final Logger LOG = Logger.getLogger(ModelRuntime.class);
    static final String SERVICE = "principia.v1.RewardService";

    enum State { LOADING, SERVING, FAILED, DRAINING }

    @Inject
    PrincipiaConfig config;
    @Inject
    MeterRegistry registry;
    @Inject
    GrpcHealthStorage health;

    private volatile State state = State.LOADING;
    private final Object drainLock = new Object();
    private boolean closed;
    /** ONNX Runtime sessions and tokenizers, closed last on shutdown (sessions first). */
    private final java.util.List<AutoCloseable> natives = new java.util.ArrayList<>();
    private final java.util.concurrent.atomic.AtomicInteger numInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private volatile String failure = "";
    private ModelDirectory model;
    private Backend backend;
    /** TensorRT when {@code principia.backend} chose it; null = ONNX Runtime. */
    private NativeTensorRt tensorRt;
    private PlannedMemory plannedMemory;
    private LoadedModel.Serving grmServing;
    private Engine engine;
    private GrmScorer scorer;
    private PromptTemplate promptTemplate;
    private BudgetPolicy policy;
    private ExecutorService executor;
    private final java.util.Map<ModelDirectory, LoadedModel.Serving> classifierServing = new java.util.concurrent.ConcurrentHashMap<>();
    private ModelDirectory metaModel;
    private ClassifierEngine metaEngine;
    private MetaInput.Form metaForm = MetaInput.Form.TEMPLATE;
    private float metaTemperature; // the meta-RM's default vote (MetaTemperature): 0 = the top half, and 0 without a meta-RM
    private ModelDirectory scalarModel;
    private ClassifierEngine scalarEngine;
    private java.util.concurrent.ScheduledExecutorService timer;

    void onStart(@Observes StartupEvent event) {
        setHealth(ServingStatus.NOT_SERVING);
        drainOnSignals();
        try {
            load();
            state = State.SERVING;
            setHealth(ServingStatus.SERVING);
        } catch (RuntimeException | java.io.IOException | LinkageError e) {
            state = State.FAILED;
            failure = e instanceof RuntimeException && e.getMessage() != null ? e.getMessage() : e.toString();
            LOG.errorf(e, "GRM failed to load; serving NOT_SERVING until fixed: %s", e.getMessage());
        }
    }

    private void load() throws java.io.IOException {
        long t0 = System.nanoTime();
        PrincipiaConfig.Model mc = config.model();
        Path dir;
        boolean embedded = mc.dir().isEmpty();
        if (embedded) {
            dir = DefaultModel.ensureEmbedded(mc.embedded(), false, mc.cacheDir(), mc.defaultSeed(), LOG::info);
        } else {
            dir = mc.dir().get();
        }
        model = ModelDirectory.open(dir, embedded);
        natives.add(model.tokenizer());
        int threads = config.backend().intraOpThreads();
        tensorRt = TensorRtLoading.choose(config.backend().kind(), LOG::info).orElse(null);
        GrmLoader.Loaded grm = tensorRt != null ? TensorRtLoading.loadGrm(model, config, tensorRt, LOG::info) : GrmLoader.load(model, config, LOG::info);
        backend = grm.backend();
        natives.add(0, backend);
        plannedMemory = grm.memory();
        grmServing = grm.serving();
        engine = new Engine("grm", backend, grm.engineConfig(), new EngineMetricsBinder(registry, "grm"));
        EngineMetricsBinder.bindGauges(registry, "grm", engine);
        promptTemplate = template(config.prompt().templateFile(), PromptTemplate.DEFAULT_RESOURCE);
        PromptTemplate principlesTemplate = template(config.prompt().principlesTemplateFile(), PromptTemplate.PRINCIPLES_RESOURCE);
        PrincipiaConfig.Limits lc = config.limits();
        executor = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "grm-postprocess");
            t.setDaemon(true);
            return t;
        });
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "grm-anytime");
            t.setDaemon(true);
            return t;
        });
        loadScalarModels(embedded, threads);
        // the meta template is read only by the template form: a conversation-form meta-RM does not depend on it
        PromptTemplate metaTemplate = metaEngine == null || metaForm != MetaInput.Form.TEMPLATE ? null
                : template(config.prompt().metaTemplateFile(), PromptTemplate.META_RESOURCE);
        MetaRm metaRm = metaEngine == null ? null : new MetaRm(SequenceClassifier.of(metaEngine), MetaInput.of(metaForm,
                PromptCodec.of(metaModel.tokenizer(), metaModel.chatTemplate()), metaTemplate, promptTemplate, principlesTemplate));
        ScalarModeScorer scalarRm = scalarEngine == null ? null
                : new ScalarModeScorer(SequenceClassifier.of(scalarEngine), scalarModel.tokenizer(), scalarModel.chatTemplate());
        policy = new BudgetPolicy(config.defaults().samples(), lc.maxSamples(), config.defaults().maxNewTokens(), lc.maxNewTokens(),
                config.defaults().temperature(), new LoadPolicy(config.budget().targetQueueWaitMs(), config.budget().maxInFlightSamples()),
                metaRm != null, metaTemperature);
        ScoringContext context = ScoringContext.of(Generator.of(engine), PromptCodec.of(model.tokenizer(), model.chatTemplate()),
                promptTemplate, principlesTemplate, model.tokenizer().tokenTexts(model.config().vocabSize()), model.eosTokenIds(),
                new ScoringLimits(lc.maxResponses(), lc.maxStringChars(), lc.maxConversationTurns(), lc.maxPrinciples(),
                        lc.maxPromptTokens()), metaRm, executor, timer);
        scorer = new GrmScorer(context, policy, scalarRm);
        LOG.infof("GRM %s (%s, %d layers, hidden %d, vocab %d) serving on %s after %d ms: weights %s (%.2f GB), KV %s %.2f GB, attention %s",
                dir.getFileName(), model.config().architecture(), model.config().numHiddenLayers(), model.config().hiddenSize(),
                model.config().vocabSize(), backendName(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), grmServing.weightPrecision(),
                grmServing.weightBytes() / 1e9, grmServing.kvCacheDtype(), grmServing.kvCacheBytes() / 1e9, grmServing.attention());
    }

    /**
     * The meta-RM (configured, or the embedded tiny one beside the embedded GRM) and the scalar RM
     * (configured, or the embedded tiny classifier when the embedded default runs). Each runs on its own
     * {@link ClassifierEngine}; the embedded classifier serves both roles from one engine.
     */
    private void loadScalarModels(boolean embeddedGrm, int threads) throws java.io.IOException {
        PrincipiaConfig.Model mc = config.model();
        Path metaDir = config.metaRm().dir().orElse(null);
        boolean embeddedMeta = metaDir == null && embeddedGrm && config.metaRm().embedded();
        if (embeddedMeta) metaDir = DefaultModel.ensureEmbedded(mc.embedded(), true, mc.cacheDir(), mc.defaultSeed(), LOG::info);
        if (metaDir != null) {
            metaModel = ModelDirectory.open(metaDir, embeddedMeta);
            natives.add(metaModel.tokenizer());
            metaEngine = scalarEngine("meta-rm", metaModel, threads);
            metaForm = MetaInput.Form.resolve(config.metaRm().input(), metaDir);
            metaTemperature = dev.principia.grm.MetaTemperature.resolve(config.metaRm().temperature(), metaDir);
            LOG.infof("meta-RM %s (%s) loaded, reading samples in %s form; by default %s", metaDir.getFileName(), metaModel.config().architecture(),
                    metaForm.configName(), metaTemperature > 0 ? "weighting every sample at meta temperature " + metaTemperature : "voting the top half");
        }
        Path scalarDir = config.scalarRm().dir().orElse(null);
        if (scalarDir != null) {
            scalarModel = ModelDirectory.open(scalarDir, false);
            natives.add(scalarModel.tokenizer());
            scalarEngine = scalarEngine("scalar-rm", scalarModel, threads);
            LOG.infof("scalar RM %s (%s) loaded", scalarDir.getFileName(), scalarModel.config().architecture());
        } else if (embeddedMeta) {
            scalarModel = metaModel;
            scalarEngine = metaEngine;
        }
    }

    private ClassifierEngine scalarEngine(String role, ModelDirectory dir, int threads) throws java.io.IOException {
        if (!dir.config().isSequenceClassifier() || dir.config().numLabels() != 1) {
            throw new IllegalArgumentException(dir.dir().resolve("config.json") + ": the " + role + " must be a *ForSequenceClassification "
                    + "model with num_labels 1; got " + dir.config().architecture() + " with num_labels " + dir.config().numLabels());
        }
        ClassifierBackend classifier;
        if (tensorRt != null) {
            TensorRtLoading.Classifier trt = TensorRtLoading.classifier(dir, config, tensorRt, LOG::info);
            classifierServing.put(dir, trt.serving());
            classifier = trt.backend();
        } else {
            ExportCache.Export export = ExportCache.ensure(dir, config.model().cacheDir(), ExportCache.SERVING, LOG::info);
            Path onnx = export.onnx();
            classifierServing.put(dir, new LoadedModel.Serving(export.preExported() && !dir.embeddedDefault() ? "pre-exported" : "fp32", GrmLoader.graphBytes(onnx), 0, "", "plain"));
            classifier = new OnnxClassifier(onnx, dir.config(), new OnnxClassifier.Options(threads, 16));
        }
        natives.add(0, classifier);
        ClassifierEngine scalar = new ClassifierEngine(role, classifier, config.metaRm().maxBatchTokens(), config.engine().maxPendingRequests() * 4);
        io.micrometer.core.instrument.FunctionCounter.builder("principia.scalar.sequences", scalar, ClassifierEngine::sequencesScored)
                .tag("model", role).description("Sequences scored by a scalar model (meta-RM, scalar RM)").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("principia.scalar.failed.steps", scalar, ClassifierEngine::failedSteps)
                .tag("model", role).description("Scalar-model forward passes that failed").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("principia.scalar.loop.errors", scalar, ClassifierEngine::loopErrors)
                .tag("model", role).description("Unexpected errors in a scalar engine's loop").register(registry);
        return scalar;
    }

    private static PromptTemplate template(java.util.Optional<Path> file, String resource) throws java.io.IOException {
        if (file.isPresent()) {
            try {
                return PromptTemplate.of(Files.readString(file.get()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file.get() + ": " + e.getMessage(), e);
            }
        }
        return PromptTemplate.loadResource(resource);
    }

    /**
     * Drains: new calls get UNAVAILABLE and health turns NOT_SERVING (so load balancers move away),
     * requests already admitted get up to {@code principia.engine.drain-timeout-ms} to finish, and only
     * then are the engines closed (whatever is still running is answered UNAVAILABLE).
     */
    void onStop(@Observes ShutdownEvent event) {
        drainAndClose();
    }

    /**
     * ONNX Runtime releases its native environment in a JVM shutdown hook of its own, and the JVM runs
     * shutdown hooks concurrently: a drain inside Quarkus' hook races it, and an engine still running a
     * step crashes the process (SIGSEGV in libonnxruntime). So SIGTERM and SIGINT drain and close first,
     * on the signal's own thread, and only then hand over to the JVM's handler (exit, shutdown hooks).
     */
    private void drainOnSignals() {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal signal = new sun.misc.Signal(name);
                sun.misc.SignalHandler[] previous = new sun.misc.SignalHandler[1];
                previous[0] = sun.misc.Signal.handle(signal, s -> {
                    drainAndClose();
                    try {
                        previous[0].handle(s);
                    } catch (RuntimeException e) {
                        System.exit(128 + s.getNumber()); // the previous handler was the native default
                    }
                });
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                LOG.warnf("cannot drain on SIG%s before exit (%s); shutdown drains in the JVM's shutdown hooks", name, e.getMessage());
            }
        }
    }

    /** Drains, stops the engines and closes native resources, once; later calls wait for the first to finish. */
    private void drainAndClose() {
        synchronized (drainLock) {
            if (closed) return;
            closed = true;
            drain();
        }
    }

    private void drain() {
        state = State.DRAINING;
        setHealth(ServingStatus.NOT_SERVING);
        awaitIdle(System.nanoTime() + config.engine().drainTimeoutMs() * 1_000_000L);
        if (numInFlight.get() > 0) {
            LOG.warnf("drain timeout: %d requests still running are answered UNAVAILABLE", numInFlight.get());
        }
        // close() returns once an engine's loop has stopped; what it still held is answered as shut down
        if (engine != null) engine.close();
        if (scalarEngine != null && scalarEngine != metaEngine) scalarEngine.close();
        if (metaEngine != null) metaEngine.close();
        awaitIdle(System.nanoTime() + 5_000_000_000L); // those answers are tallied on the executor
        if (executor != null) {
            executor.shutdown();
            try {
                executor.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (timer != null) timer.shutdownNow();
        // native resources last: no thread uses them any more
        for (AutoCloseable c : natives) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warnf("closing %s: %s", c, e.getMessage());
            }
        }
    }

    private void awaitIdle(long untilNanos) {
        while (numInFlight.get() > 0 && System.nanoTime() - untilNanos < 0) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void setHealth(ServingStatus status) {
        health.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, status);
        health.setStatus(SERVICE, status);
    }

    /**
     * Scores a request on the loaded GRM, or refuses it with UNAVAILABLE while loading, after a failed
     * load or while draining. A request counts as in flight from here until its answer completes, so
     * draining waits for requests still being planned or in the meta-RM stage, not only those in the engine.
     */
    GrmScorer.Handle score(ScoringRequest request) {
        numInFlight.incrementAndGet(); // before reading the state: drain sets the state, then waits for this count
        try {
            GrmScorer.Handle handle = scorer().score(request);
            handle.result().whenComplete((r, t) -> numInFlight.decrementAndGet());
            return handle;
        } catch (RuntimeException | Error e) {
            numInFlight.decrementAndGet();
            throw e;
        }
    }

    /** Why calls are refused now; empty while serving. */
    String notServingReason() {
        try {
            scorer();
            return "";
        } catch (ScoringException e) {
            return e.getMessage();
        }
    }

    /** Requests admitted by {@link #score} and not yet answered. */
    int numInFlight() {
        return numInFlight.get();
    }

    /** The scorer, or UNAVAILABLE with the reason while loading, after a failed load, or while draining. */
    private GrmScorer scorer() {
        return switch (state) {
            case SERVING -> scorer;
            case LOADING -> throw new ScoringException(ScoringException.Kind.UNAVAILABLE, "the GRM is still loading; retry shortly");
            case DRAINING -> throw new ScoringException(ScoringException.Kind.UNAVAILABLE, "the server is shutting down; retry on another replica");
            case FAILED -> throw new ScoringException(ScoringException.Kind.UNAVAILABLE, "the GRM failed to load: " + failure);
        };
    }

    State state() {
        return state;
    }

    Engine engine() {
        return engine;
    }

    BudgetPolicy policy() {
        return policy;
    }

    PromptTemplate promptTemplate() {
        return promptTemplate;
    }

    /** The backend's own name; empty before the GRM loaded. */
    String backendName() {
        return backend == null ? "" : backend.info().name();
    }

    /** The models loaded, in the order grm, meta_rm, scalar_rm. */
    java.util.List<LoadedModel> loadedModels() {
        java.util.List<LoadedModel> out = new java.util.ArrayList<>();
        if (model != null) out.add(loaded("grm", model, grmServing));
        if (metaModel != null) out.add(loaded("meta_rm", metaModel, classifierServing.get(metaModel)));
        if (scalarModel != null) out.add(loaded("scalar_rm", scalarModel, classifierServing.get(scalarModel)));
        return out;
    }

    /** The GRM's start-up memory plan; null before it is made. */
    PlannedMemory plannedMemory() {
        return plannedMemory;
    }

    private static LoadedModel loaded(String role, ModelDirectory m, LoadedModel.Serving serving) {
        var c = m.config();
        return new LoadedModel(role, m.name(), c.architecture(), m.dir().toString(), c.numHiddenLayers(), c.hiddenSize(),
                c.numAttentionHeads(), c.numKeyValueHeads(), c.vocabSize(), c.maxPositionEmbeddings(), m.numParameters(), m.embeddedDefault(),
                serving == null ? new LoadedModel.Serving("", 0, 0, "", "") : serving);
    }
}
