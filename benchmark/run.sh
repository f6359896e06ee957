#!/usr/bin/env bash
# Runs a benchmark from benchmark/ against this checkout.
#   benchmark/run.sh engine [stories15m|110m|tiny-qwen3 ...]    engine decode throughput, overhead, forking
#   benchmark/run.sh step [stories15m|110m|tinyllama-1.1b ...]  decode step alone: median/min ms, thread CPU ms (BENCH_OPTS="-Dbench.weights=fp32,int8 -Dbench.attention=plain|gqa|portable|both")
#   benchmark/run.sh gqa [110m|110m-kv4 ...]                    plain vs GQA decoder graph, ORT driven directly, 512-token contexts
#   benchmark/run.sh load [options]                             Score load against a running server (see --help)
#   benchmark/run.sh bigexport [workDir] [layers] [fp32|fp16]   3.3 GB sharded bf16 checkpoint -> ONNX under -Xmx1g, then run
#   benchmark/run.sh genmodel SHAPE DIR [seed]                  servable random-weight model of a real shape (tinyllama-1.1b, llama-0.56b, qwen2-7b, 110m)
#   benchmark/run.sh serve --model DIR [--weights W] [--samples 4]  packaged server on a real-size checkpoint: export, SERVING, Score, peak RSS
#   benchmark/run.sh overload [--seconds 60] [--factor 10]      open loop at factor x the sustainable rate; refusals, heap, RSS
#   benchmark/run.sh drain [--rmb FILE] [--runs 3]              SIGTERM with 16 requests in flight; every answer exactly once
#   benchmark/run.sh soak [--minutes 30]                        steady mixed load; heap, RSS, KV sampled every 30 s
#   benchmark/run.sh accuracy --input FILE [--samples 32] [--addr HOST:PORT] [--out DIR] [--limit N] [--meta-min-score X]
#                                                               (or --draws FILE: the table again from an earlier run's draws.jsonl)
#                                                               Voting@k / MetaRM@k against a running server: Markdown, CSV, PNG
#   benchmark/run.sh arith --seed S --count N --out FILE         arithmetic judging items (RMB best-of-N shape) from a seed
#   benchmark/run.sh trt [workDir]                              TensorRT decode/prefill tokens/s, 110M (GPU node; see benchmark/gpu/run.sh)
# BENCH_MVN_ARGS (e.g. -Pgpu) is passed to every Maven call: the gpu profile adds the TensorRT/CUDA natives.
# overload, drain and soak package the server once and start it themselves (target/quarkus-app, ports from
# 9100 / 8180, embedded model cached under target/principia-cache); it is stopped when the mode ends.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-engine}; shift || true
./mvnw -B -q -o ${BENCH_MVN_ARGS:-} test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test \
  || ./mvnw -B -q ${BENCH_MVN_ARGS:-} test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
# A manifest-only jar carries the class path, as Surefire does: with a 24 kB -cp command line,
# ONNX Runtime's native initialisation crashed (SIGSEGV) on this machine.
root=$(pwd)
{
  echo "Manifest-Version: 1.0"
  printf 'Class-Path: %s\n' "$(for p in "$root/target/test-classes/" "$root/target/classes/" $(tr ':' ' ' < target/bench-classpath.txt); do printf 'file://%s ' "$p"; done)" | fold -w 70 | sed '2,$s/^/ /'
} > target/bench-manifest.txt
(cd target && jar cfm bench-classpath.jar bench-manifest.txt)
cp=target/bench-classpath.jar
case "$what" in
  overload|drain|soak|serve)
    ./mvnw -B -q -o ${BENCH_MVN_ARGS:-} package -DskipTests || ./mvnw -B -q ${BENCH_MVN_ARGS:-} package -DskipTests
    # The client starts the server as its child; should the client die, kill the server it recorded.
    rm -f target/bench-server.pid
    trap '[ -f target/bench-server.pid ] && kill -9 "$(cat target/bench-server.pid)" 2>/dev/null || true' EXIT INT TERM
    main=$(case "$what" in overload) echo Overload ;; drain) echo Drain ;; soak) echo Soak ;; serve) echo Serve ;; esac)
    java -Xmx1g -Djava.util.logging.manager=org.jboss.logmanager.LogManager -cp "$cp" "dev.principia.benchmark.$main" "$@"
    exit $? ;;
  engine) exec java -Xmx8g ${BENCH_OPTS:-} -cp "$cp" dev.principia.benchmark.EngineBenchmark "$@" ;;
  step) exec java -Xmx8g ${BENCH_OPTS:-} -cp "$cp" dev.principia.benchmark.BackendStepBenchmark "$@" ;;
  gqa) exec java -Xmx8g ${BENCH_OPTS:-} -cp "$cp" dev.principia.benchmark.GqaStepBenchmark "$@" ;;
  load) exec java -Xmx2g -cp "$cp" dev.principia.benchmark.ScoreLoad "$@" ;;
  genmodel) exec java -Xmx2g -cp "$cp" dev.principia.benchmark.GenModel "$@" ;;
  bigexport) exec java -Xmx1g -cp "$cp" dev.principia.benchmark.BigModelExport "$@" ;;
  trt) exec java -Xmx8g ${BENCH_OPTS:-} -cp "$cp" dev.principia.benchmark.TensorRtBenchmark "$@" ;;
  accuracy) exec java -Xmx2g -Djava.awt.headless=true -cp "$cp" dev.principia.benchmark.Accuracy "$@" ;;
  arith) exec java -Xmx512m -cp "$cp" dev.principia.benchmark.ArithmeticItems "$@" ;;
  *) echo "unknown benchmark '$what' (engine, step, gqa, load, genmodel, bigexport, overload, drain, soak, serve, accuracy, arith, trt)" >&2; exit 2 ;;
esac
