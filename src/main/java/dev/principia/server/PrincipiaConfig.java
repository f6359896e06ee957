package dev.principia.server;

import java.nio.file.Path;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import io.smallrye.config.WithParentName;

/** Every {@code principia.*} key, with its default. README's configuration table mirrors this file. */
@ConfigMapping(prefix = "principia")
public interface PrincipiaConfig {

    Model model();

    Backend backend();

    Engine engine();

    Limits limits();

    Defaults defaults();

    Prompt prompt();

    Budget budget();

    Auth auth();

    interface Auth {
        /** API keys accepted by RewardService (comma-separated); unset = no authentication. Health and reflection stay open. */
        Optional<java.util.List<String>> apiKeys();
    }

    @WithName("meta-rm")
    MetaRm metaRm();

    @WithName("scalar-rm")
    ScalarRm scalarRm();

    interface MetaRm {
        /** HF directory of a meta reward model (*ForSequenceClassification, num_labels 1); unset = see embedded. */
        Optional<Path> dir();

        /** With the embedded default GRM and no dir: load the embedded meta-RM too (trained beside arithmetic, random beside tiny-qwen3). */
        @WithDefault("true")
        boolean embedded();

        /** Tokens per meta-RM forward pass; concurrent requests' samples share passes up to it. */
        @WithDefault("8192")
        int maxBatchTokens();

        /**
         * How the meta-RM reads a sample: {@code template} (the meta template's user turn) or {@code conversation} (the
         * GRM's prompt as the user turn, the judgment as the assistant's); unset = what the meta-RM's config.json
         * declares under {@code principia_meta_input}, else {@code template}.
         */
        Optional<String> input();

        /**
         * How a request that sets none of {@code budget.meta_keep}, {@code meta_min_score} and {@code meta_temperature}
         * is voted: a temperature &gt; 0 weights every valid sample as {@code meta_temperature} does; 0 keeps the top half
         * by meta score ({@code meta_keep} = ceil(k/2), the paper's rule); unset = what the meta-RM's config.json declares
         * under {@code principia_meta_temperature}, else 0.
         */
        Optional<Float> temperature();
    }

    interface ScalarRm {
        /**
         * HF directory of a scalar (Bradley-Terry) reward model serving mode = MODE_SCALAR; unset = the
         * embedded tiny classifier when the embedded default runs, else MODE_SCALAR is unavailable.
         */
        Optional<Path> dir();
    }

    interface Budget {
        /** Estimated queue wait above which requests that allow it (min_samples set) get fewer samples; 0 = off. */
        @WithDefault("0")
        long targetQueueWaitMs();

        /** Samples in flight above which requests that allow it get fewer samples; 0 = no cap. */
        @WithDefault("0")
        int maxInFlightSamples();
    }

    interface Model {
        /** HF model directory of the GRM; unset = the embedded default ({@link #embedded()}). */
        Optional<Path> dir();

        /**
         * The embedded default served when {@code dir} is unset: {@code arithmetic} (the small GRM and meta-RM trained in
         * this repository to judge integer arithmetic, README "The embedded default") or {@code tiny-qwen3} (random
         * weights with the real Qwen3 tokenizer and chat template: gibberish, every sample forced; a plumbing fixture).
         */
        @WithDefault("arithmetic")
        String embedded();

        /** Where the embedded default model and ONNX exports are written. */
        @WithDefault("${user.home}/.cache/principia")
        Path cacheDir();

        /** Seed of the {@code tiny-qwen3} embedded model's random weights. */
        @WithDefault("20250403")
        long defaultSeed();
    }

    interface Backend {
        /**
         * {@code principia.backend} itself: {@code auto}, {@code onnx} (ONNX Runtime on CPU) or {@code tensorrt} (TensorRT on
         * an NVIDIA GPU, needs the {@code gpu} build); auto = tensorrt where the driver and the TensorRT jars are found, logged with why.
         */
        @WithParentName
        @WithDefault("auto")
        String kind();

        /** ONNX Runtime intra-op threads; 0 = one per available core. */
        @WithDefault("0")
        int intraOpThreads();

        /** Let ONNX Runtime's idle intra-op threads spin between operators (faster on dedicated cores, worse when shared). */
        @WithDefault("false")
        boolean allowSpinning();

        /**
         * Precision of the GRM's exported weights: {@code auto}, {@code fp32}, {@code fp16}, {@code bf16}, {@code int8}
         * or {@code int4}; auto = int8 above 1 B parameters on CPU, else fp32. Ignored for a pre-exported graph.
         */
        @WithDefault("auto")
        String weights();

        /**
         * The GRM decoder's attention graph: {@code auto}, {@code plain} (standard operators), {@code gqa} (ONNX Runtime's
         * GroupQueryAttention, KV updated in place) or {@code portable} (standard operators, fixed-capacity KV updated in
         * place: the graph TensorRT builds; slower than gqa on CPU); auto = gqa where it applies (fp32 activations, head_dim a
         * multiple of 16), never portable.
         */
        @WithDefault("auto")
        String attention();
    }

    interface Engine {
        /** Sequences running at once (each holds a KV slot). */
        @WithDefault("64")
        int maxNumSeqs();

        /** Tokens fed to the model per step; bounds prefill chunks so decodes keep flowing. */
        @WithDefault("512")
        int maxNumBatchedTokens();

        /**
         * KV cache pool in bytes across all running sequences, held off the Java heap; 0 = what the memory
         * plan leaves after weights, activations and the JVM heap (capped at what max-num-seqs sequences of
         * max-model-len tokens can use).
         */
        @WithDefault("0")
        long kvCacheBytes();

        /** Memory the process may use, for the start-up memory plan; 0 = the container's cgroup limit or physical memory. */
        @WithDefault("0")
        long memoryLimitBytes();

        /** Requests admitted but unfinished; beyond it calls get RESOURCE_EXHAUSTED. */
        @WithDefault("256")
        int maxPendingRequests();

        /** Longest sequence (prompt + generated); capped by the model's max_position_embeddings. */
        @WithDefault("8192")
        int maxModelLen();

        /** On shutdown, how long admitted requests may run to completion before the engine closes. */
        @WithDefault("30000")
        long drainTimeoutMs();
    }

    interface Limits {
        @WithDefault("16")
        int maxResponses();

        @WithDefault("32")
        int maxSamples();

        @WithDefault("2048")
        int maxNewTokens();

        /** Characters in any one turn, response or principle. */
        @WithDefault("32768")
        int maxStringChars();

        @WithDefault("64")
        int maxConversationTurns();

        @WithDefault("32")
        int maxPrinciples();

        @WithDefault("6144")
        int maxPromptTokens();

        /** Items in one ScoreBatch call. */
        @WithDefault("256")
        int maxBatchItems();

        /** ScoreStream items scored at once per call; further items wait (backpressure). */
        @WithDefault("64")
        int maxStreamInFlight();
    }

    interface Defaults {
        /** k when a request leaves budget.samples at 0. */
        @WithDefault("1")
        int samples();

        /** Tokens per sample when a request leaves budget.max_new_tokens unset. */
        @WithDefault("256")
        int maxNewTokens();

        /** Temperature when k > 1 and the request leaves it unset (the paper's 0.5). */
        @WithDefault("0.5")
        float temperature();
    }

    interface Prompt {
        /** A GRM prompt template file replacing the built-in one (syntax: see README). */
        Optional<Path> templateFile();

        /** The GRM prompt used when the caller supplies principles (the model writes only critique and scores). */
        Optional<Path> principlesTemplateFile();

        /** The meta reward model's prompt template ({{judgment}} holds one sample's text). */
        Optional<Path> metaTemplateFile();
    }
}
