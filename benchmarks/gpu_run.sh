#!/usr/bin/env bash
# The GPU measurements, as one script for a lent GPU machine (its image has
# jax[cuda], flax, equinox and torch, but no network). Results go to $OUT:
#   gpu_device.txt              the GPU (nvidia-smi) and JAX's devices
#   gpu_checks.json             bits and masks of every generator and key
#                               implementation, SHA-256 on the CPU device and
#                               on the GPU, against benchmarks/bits_sha256.json;
#                               XLA's temporary bytes and the saved residuals,
#                               fwd and fwd+bwd, for every mask and key impl
#   throughput_gpu_2e<N>.json   benchmarks/dropout_throughput.py at 2^N elements
#                               (every mask impl, every key impl, flax, equinox,
#                               torch), one process per size
#   training_step_gpu.json      benchmarks/training_step.py, incl. batch 8192
#   log.txt                     everything printed
# Each part runs under its own time limit and the next part runs even when one
# fails, so that one short lease brings back whatever worked. Without a GPU it
# runs what the CPU can (the bit check against the stored reference, the
# memory analysis, small benchmarks) and says that the GPU-only parts were
# skipped. QUICK=1 shortens everything (a dry run of the script).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1
# torch shares the GPU with JAX in one process: JAX must not take 75 % of it up front.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu_device.txt"
  SIZES="${SIZES:-20 24 28}"; REPEATS="${REPEATS:-7}"; STEP_REPEATS="${STEP_REPEATS:-11}"; MODELS="${MODELS:-mlp784 digits mlp784_b8192}"
else
  echo "no GPU found: skipping the GPU-only parts (GPU bits, GPU timings); running the CPU parts" | tee "$OUT/gpu_device.txt"
  SIZES="20"; REPEATS=5; STEP_REPEATS=5; MODELS="mlp784 digits"
fi
if [ "${QUICK:-0}" = 1 ]; then SIZES="16"; REPEATS=2; STEP_REPEATS=2; MODELS="digits"; fi
LIMIT_CHECKS="${LIMIT_CHECKS:-120}" LIMIT_SIZE="${LIMIT_SIZE:-110}" LIMIT_STEP="${LIMIT_STEP:-120}"

part() {  # part NAME LIMIT COMMAND...: run one part under a time limit, report, go on
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout "$limit" "$@"; local rc=$?
  echo "== part $name: exit $rc after $((SECONDS - start)) s (limit $limit s)"
}

"$PYTHON" -c "import jax; print('jax', jax.__version__, jax.devices())" | tee -a "$OUT/gpu_device.txt"
part checks "$LIMIT_CHECKS" "$PYTHON" benchmarks/gpu_checks.py --out "$OUT/gpu_checks.json"
for size in $SIZES; do
  part "throughput 2^$size" "$LIMIT_SIZE" "$PYTHON" benchmarks/dropout_throughput.py --sizes "$size" \
    --repeats "$REPEATS" --out "$OUT/throughput_gpu_2e$size.json" > >(grep -v '^{')
done
part training_step "$LIMIT_STEP" "$PYTHON" benchmarks/training_step.py --models $MODELS \
  --repeats "$STEP_REPEATS" --steps-per-call "${STEPS_PER_CALL:-1}" --out "$OUT/training_step_gpu.json" > >(grep -v '^{')
echo "results in $OUT"
