#!/usr/bin/env bash
# The GPU measurements, as one script for a lent GPU machine (its image has
# jax[cuda], flax, equinox and torch, but no network). Results go to $OUT:
#   gpu_device.txt          the GPU (nvidia-smi)
#   gpu_checks.json         bits and masks of every generator and key
#                           implementation, SHA-256 on the CPU device and on
#                           the GPU, against benchmarks/bits_sha256.json; XLA's
#                           temporary bytes and the saved residuals, fwd and
#                           fwd+bwd, for every mask impl and key impl
#   throughput_gpu.json     benchmarks/dropout_throughput.py (every mask impl,
#                           every key impl, flax, equinox, torch; 2^20-2^28)
#   training_step_gpu.json  benchmarks/training_step.py
# Without a GPU it runs what the CPU can (the bit check against the stored
# reference, the memory analysis, both benchmarks on small sizes) and says
# that the GPU-only parts were skipped. QUICK=1 shortens the benchmarks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$PWD"
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu_device.txt"
  SIZES="20 24 28"
else
  echo "no GPU found: skipping the GPU-only parts (GPU bits, GPU timings); running the CPU parts" | tee "$OUT/gpu_device.txt"
  SIZES="20"
fi
REPEATS=15
STEP_REPEATS=21
if [ "${QUICK:-0}" = 1 ]; then SIZES="16"; REPEATS=2; STEP_REPEATS=2; fi
"$PYTHON" -c "import jax; print('jax', jax.__version__, jax.devices())" | tee "$OUT/jax_devices.txt"
"$PYTHON" benchmarks/gpu_checks.py --out "$OUT/gpu_checks.json" | tee "$OUT/gpu_checks.txt"
"$PYTHON" benchmarks/dropout_throughput.py --sizes $SIZES --repeats "$REPEATS" \
  --out "$OUT/throughput_gpu.json" | grep -v '^{' | tee "$OUT/throughput_gpu.txt"
"$PYTHON" benchmarks/training_step.py --repeats "$STEP_REPEATS" \
  --out "$OUT/training_step_gpu.json" | grep -v '^{' | tee "$OUT/training_step_gpu.txt"
echo "results in $OUT"
