#!/usr/bin/env bash
# The GPU checks, as one short script for a lent GPU machine (whose image has
# jax[cuda], flax, equinox and torch, but no network): the throughput benchmark
# on the GPU, the compiled memory of forward+backward, and the hash mask's
# bits, which must equal the CPU's bit for bit. Results go to $OUT.
set -euo pipefail
export PYTHONPATH="$PWD"
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu_device.txt"
python3 - <<'PY' | tee "$OUT/gpu_checks.txt"
import hashlib, jax, jax.numpy as jnp, numpy as np
import dropoutlib as dl
from dropoutlib.hashmask import hash_bits
print("jax", jax.__version__, jax.devices())
bits = np.asarray(hash_bits(jax.random.key(2026), (1 << 20,)))
print("hash_bits sha256", hashlib.sha256(bits.tobytes()).hexdigest())
x = jnp.ones((1 << 24,), jnp.float32)
for impl in ("bernoulli", "hash"):
    f = jax.jit(lambda x, g: jax.vjp(lambda x: dl.dropout(jax.random.key(0), x, 0.5, impl=impl), x)[1](g))
    m = f.lower(x, x).compile().memory_analysis()
    print(f"fwd+bwd temp bytes, 2^24 float32, {impl}: {m.temp_size_in_bytes}")
PY
python3 benchmarks/dropout_throughput.py --sizes 20 24 28 --repeats 15 --out "$OUT/throughput_gpu.json" | grep -v '^{'
