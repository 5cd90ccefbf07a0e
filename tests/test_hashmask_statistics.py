"""The statistical battery for the counter-based ``hash`` mask.

The book is about the statistics of dropout masks, so the fast generator is
tested, not assumed. Every check compares a statistic with its exact
distribution under "independent Bernoulli(q) entries" and fails beyond 4
standard errors (or, for chi-square and spectral tests, beyond the matching
tail probability, about 3e-5). Keys are fixed, so each check is deterministic.
"""

import math
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib as dl
from dropoutlib.hashmask import hash_bits, hash_mask

TAIL = 3.2e-5  # one-sided 4-sigma tail probability of a standard Normal
N = 1 << 22


def signs(mask) -> np.ndarray:
    return np.asarray(mask, dtype=np.float64) * 2.0 - 1.0


def correlation_z(a: np.ndarray, b: np.ndarray) -> float:
    """Sample correlation of two sequences, in standard errors (1/sqrt(n) under independence)."""
    a = (a - a.mean()) / a.std()
    b = (b - b.mean()) / b.std()
    return float(np.mean(a * b) * math.sqrt(a.size))


@pytest.mark.parametrize("keep_prob", [0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_kept_fraction_within_4_sigma(keep_prob, seed):
    fraction = float(hash_mask(jax.random.key(seed), keep_prob, (N,)).mean())
    sigma = math.sqrt(keep_prob * (1 - keep_prob) / N)
    assert abs(fraction - keep_prob) <= 4 * sigma, (fraction, keep_prob)


def test_extreme_keep_probabilities_are_exact():
    assert bool(hash_mask(jax.random.key(0), 1.0, (N,)).all())
    assert not bool(hash_mask(jax.random.key(0), 0.0, (N,)).any())


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_per_row_dropped_counts_are_binomial(rate):
    rows, width = 20_000, 1024
    kept = hash_mask(jax.random.key(3), 1 - rate, (rows, width))
    counts = np.asarray(width - kept.sum(axis=1))
    _, _, pvalue = dl.dropped_count_chisquare(counts, width, rate)
    assert pvalue > TAIL


@pytest.mark.parametrize("rate", [0.5, 0.1])
def test_per_column_counts_are_binomial(rate):
    rows, width = 1024, 4096  # counts down columns: entries 4096 indices apart
    kept = hash_mask(jax.random.key(4), 1 - rate, (rows, width))
    counts = np.asarray(rows - kept.sum(axis=0))
    assert dl.dropped_count_chisquare(counts, rows, rate)[2] > TAIL


LAGS = [1, 2, 3, 4, 7, 8, 16, 31, 32, 64, 255, 256, 1024, 4096, 65536]


@pytest.mark.parametrize("keep_prob", [0.5, 0.9])
def test_no_neighbour_or_lag_correlation(keep_prob):
    x = signs(hash_mask(jax.random.key(5), keep_prob, (N,)))
    for lag in LAGS:
        z = correlation_z(x[:-lag], x[lag:])
        assert abs(z) < 4, f"lag {lag}: z = {z:.2f}"


def test_bits_have_no_lag_correlation_in_any_bit_position():
    bits = np.asarray(hash_bits(jax.random.key(6), (N,)))
    for position in (0, 1, 8, 15, 23, 31):
        b = ((bits >> position) & 1).astype(np.float64)
        assert abs(b.mean() - 0.5) < 4 * 0.5 / math.sqrt(N), position
        for lag in (1, 2, 256):
            assert abs(correlation_z(b[:-lag], b[lag:])) < 4, (position, lag)


def test_independent_across_keys_and_fold_in_steps():
    base = jax.random.key(7)
    keys = [jax.random.fold_in(base, step) for step in range(6)] + [jax.random.key(s) for s in (0, 1, 2)]
    masks = [signs(hash_mask(k, 0.5, (N,))) for k in keys]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            for shift in (0, 1):
                z = correlation_z(masks[i][shift:], masks[j][: N - shift])
                assert abs(z) < 4, f"keys {i} and {j}, shift {shift}: z = {z:.2f}"


def test_raw_keys_differing_in_one_word_are_independent():
    # XOR-ing a raw key word into the index would make these masks copies of
    # each other with neighbours swapped; the seed mixing must prevent that.
    raw = [jnp.array(words, jnp.uint32) for words in ([0, 0], [1, 0], [0, 1], [2, 0], [1 << 31, 0])]
    masks = [signs(hash_mask(k, 0.5, (N,))) for k in raw]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            for lag in (0, 1, 2, 3):
                z = correlation_z(masks[i][lag:], masks[j][: N - lag])
                assert abs(z) < 4, f"raw keys {i}, {j}, lag {lag}: z = {z:.2f}"


def test_two_dimensional_mask_has_no_spectral_structure():
    # Stripes, blocks or diagonals in the image of a mask show up as a spike
    # in its 2-D power spectrum. For independent entries each normalized
    # periodogram ordinate is Exp(1): P(max of 262 144 > 25) < 4e-6.
    side = 512
    image = signs(hash_mask(jax.random.key(8), 0.5, (side, side)))
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2 / image.size
    power[0, 0] = 0.0
    assert power.max() < 25.0, power.max()
    rows = np.asarray(hash_mask(jax.random.key(8), 0.5, (side, side))).sum(axis=1)
    assert dl.dropped_count_chisquare(side - rows, side, 0.5, min_expected=5)[2] > TAIL


def test_mask_depends_only_on_the_flat_index():
    key = jax.random.key(9)
    flat = hash_mask(key, 0.3, (1 << 20,))
    np.testing.assert_array_equal(hash_mask(key, 0.3, (1024, 1024)).ravel(), flat)
    np.testing.assert_array_equal(hash_mask(key, 0.3, (16, 256, 256)).ravel(), flat)


def test_mask_is_bit_identical_when_sharded_over_four_devices(tmp_path):
    script = textwrap.dedent(
        """
        import jax, jax.numpy as jnp, numpy as np
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        import dropoutlib as dl
        assert len(jax.devices()) == 4, jax.devices()
        x = jnp.arange(64 * 4096, dtype=jnp.float32).reshape(64, 4096)
        key = jax.random.key(11)
        f = jax.jit(lambda k, x: dl.dropout(k, x, 0.3, impl="hash"))
        g = jax.jit(jax.grad(lambda x, k: jnp.sum(dl.dropout(k, x, 0.3, impl="hash") ** 2)))
        single = jax.device_put(x, jax.devices()[0])
        mesh = Mesh(np.array(jax.devices()), ("d",))
        for spec in (P("d", None), P(None, "d")):
            sharded = jax.device_put(x, NamedSharding(mesh, spec))
            assert len(sharded.sharding.device_set) == 4
            np.testing.assert_array_equal(np.asarray(f(key, sharded)), np.asarray(f(key, single)))
            np.testing.assert_array_equal(np.asarray(g(sharded, key)), np.asarray(g(single, key)))
        print("sharding-invariant")
        """
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sharding-invariant" in result.stdout
