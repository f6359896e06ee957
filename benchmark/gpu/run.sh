#!/usr/bin/env bash
# One command for a GPU node (NVIDIA driver for CUDA 13.x, see README "TensorRT backend"):
#   benchmark/gpu/run.sh [all|tests|bench|serve]      (default all; each stage also runs alone)
#   1. facts: nvidia-smi, driver, GPU;
#   2. tests: ./mvnw -Pgpu test of the gpu-tagged tests (TensorRT vs ONNX Runtime on the 110M portable graph,
#      64 greedy tokens, classifier parity) plus the TensorRT unit tests;
#   3. bench: decode tokens/s at 1..256 sequences and prefill tokens/s, 110M fp16 (TensorRtBenchmark);
#   4. serve: the packaged server (-Pgpu, principia.backend=tensorrt) on a generated TinyLlama-1.1B-shaped
#      checkpoint, one k = 8 Score after SERVING (plan build time included in time to SERVING).
# Writes benchmark/gpu/results/<UTC time>-<host>.md. Work files (models, plans) under ${GPU_WORK:-target/gpu-work}.
set -uo pipefail
cd "$(dirname "$0")/../.."
stage=${1:-all}
work=${GPU_WORK:-target/gpu-work}
mkdir -p "$work" benchmark/gpu/results
out="benchmark/gpu/results/$(date -u +%Y%m%dT%H%M%SZ)-$(hostname -s).md"
export BENCH_MVN_ARGS=-Pgpu
say() { printf '%s\n' "$*" | tee -a "$out"; }
run() { say ""; say "\`\`\`"; say "\$ $*"; "$@" 2>&1 | tail -n "${TAIL:-40}" | tee -a "$out"; local rc=${PIPESTATUS[0]}; say "\`\`\` (exit $rc)"; return 0; }

say "# TensorRT backend on $(hostname -s), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
run nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
run nvidia-smi
if [[ $stage == all || $stage == tests ]]; then
  say "## gpu-tagged tests"
  TAIL=60 run ./mvnw -B -Pgpu test -Dtest='TensorRtParityTest,TensorRtProbeTest,TensorRtEnginesTest,ProfileShapesTest,PlanCacheTest' -Dsurefire.failIfNoSpecifiedTests=false
fi
if [[ $stage == all || $stage == bench ]]; then
  say "## decode and prefill, 110M fp16 (FixedKvBackend + TensorRtDecoder)"
  TAIL=30 run benchmark/run.sh trt "$work/trt"
fi
if [[ $stage == all || $stage == serve ]]; then
  say "## k = 8 Score, TinyLlama-1.1B shape, packaged server on TensorRT"
  [ -f "$work/tinyllama-1.1b/config.json" ] || run benchmark/run.sh genmodel tinyllama-1.1b "$work/tinyllama-1.1b"
  TAIL=40 run benchmark/run.sh serve --model "$work/tinyllama-1.1b" --weights fp16 --samples 8 --keep-cache --cache "$work/serve-cache" \
    -D principia.backend=tensorrt -D principia.engine.max-model-len=2048
fi
say ""
say "results: $out"
