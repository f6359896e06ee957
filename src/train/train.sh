#!/usr/bin/env bash
# Trains the embedded default GRM and meta-RM (see src/train/README.md). Python-free: libtorch's CPU build through
# JavaCPP's presets, from the Maven profile `train` (never part of the server's build).
#   src/train/train.sh grm  --work target/train/grm --out target/train/grm-model [--seed 11] [--steps 3000] [--minutes M] [--init DIR] [--op-weights A,S,M,X] [--meta-context P]
#   src/train/train.sh meta --grm DIR --collect DIR[,DIR] --out DIR [--epochs 2] [--pairwise W] [--synthetic N] [--process W --check W --carry W] [--from DIR [--base-layers N]] [--extra-layers N [--freeze-base 1]] [--distill W --local W [--local-only 1] [--corrupt R] [--unsure P] [--fit-local EPOCHS] [--min-layer GAIN [--sharpness S]]] [--meta-input template|conversation] [--self-labels DIR] [--evaluate DIR | --grm-surprise DIR [--surprise-context meta]] [--held-out F]
#   src/train/train.sh selftest [--work DIR]     the trainer against slow references (run by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -B -q -o -Ptrain test-compile dependency:build-classpath -Dmdep.outputFile=target/train-classpath.txt \
  || ./mvnw -B -q -Ptrain test-compile dependency:build-classpath -Dmdep.outputFile=target/train-classpath.txt
cp="target/classes:target/test-classes:$(cat target/train-classpath.txt)"
rm -rf target/train-classes
javac -nowarn -d target/train-classes -cp "$cp" $(find src/train/java -name '*.java') 2>&1 | grep -v '^Note:' || true
[ -d target/train-classes/dev ] || { echo "train.sh: the trainer did not compile" >&2; exit 1; }
# one libtorch thread: OpenBLAS keeps its own two, and two spinning pools on two cores run 2.5-3.5x slower
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=PASSIVE
exec java -Xmx4g -Dorg.bytedeco.javacpp.cachedir="${JAVACPP_CACHE:-$HOME/.javacpp/cache}" -cp "target/train-classes:$cp" \
  dev.principia.train.Train "$@"
