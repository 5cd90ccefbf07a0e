"""The statistical battery for the counter-based masks (``hash`` and ``philox``).

The book is about the statistics of dropout masks, so the fast generators
are tested, not assumed. Every check compares a statistic with its exact
distribution under "independent Bernoulli(q) entries" and fails beyond 4
standard errors (or, for chi-square and spectral tests, beyond the matching
tail probability, about 3e-5). Keys are fixed, so each check is deterministic.

A battery that passes everything proves little, so it is also run on a
deliberately weak generator, a Weyl sequence ``i * golden ratio mod 2^32``
(equidistributed, but each element is its neighbour plus a constant), which
must fail. Debian's ``dieharder`` battery, run on the same generators by
``benchmarks/dieharder_battery.py``, is the standard outside check.
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
from dropoutlib._counter import flat_index, index_words
from dropoutlib.hashmask import hash_bits, hash_bits_at
from dropoutlib.masks import COUNTER_BASED, keep_threshold
from dropoutlib.philox import philox4x32, philox_bits, philox_bits_at

TAIL = 3.2e-5  # one-sided 4-sigma tail probability of a standard Normal
N = 1 << 22
LAGS = [1, 2, 3, 4, 7, 8, 16, 31, 32, 64, 255, 256, 1024, 4096, 65536]


def weyl_bits(key, shape):
    """A deliberately weak generator: ``(i + seed) * 0x9E3779B9 mod 2^32``."""
    seed = jax.random.key_data(key).astype(jnp.uint32).reshape(-1)[0]
    lo, _ = flat_index(shape)
    return (lo + seed) * jnp.uint32(0x9E3779B9)


GENERATORS = {**COUNTER_BASED, "weyl": weyl_bits}


@pytest.fixture(params=sorted(COUNTER_BASED))
def impl(request):
    return request.param


def mask(impl, key, keep_prob, shape):
    return (GENERATORS[impl](key, shape) >> 8) < keep_threshold(keep_prob)


def signs(m) -> np.ndarray:
    return np.asarray(m, dtype=np.float64) * 2.0 - 1.0


def correlation_z(a: np.ndarray, b: np.ndarray) -> float:
    """Sample correlation of two sequences, in standard errors (1/sqrt(n) under independence)."""
    a = (a - a.mean()) / a.std()
    b = (b - b.mean()) / b.std()
    return float(np.mean(a * b) * math.sqrt(a.size))


def worst_lag_z(impl, keep_prob) -> tuple[int, float]:
    x = signs(mask(impl, jax.random.key(5), keep_prob, (N,)))
    zs = {lag: correlation_z(x[:-lag], x[lag:]) for lag in LAGS}
    lag = max(zs, key=lambda k: abs(zs[k]))
    return lag, zs[lag]


def max_periodogram(impl, side=512) -> float:
    image = signs(mask(impl, jax.random.key(8), 0.5, (side, side)))
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2 / image.size
    power[0, 0] = 0.0
    return float(power.max())


# ---------------------------------------------------------------- Philox is Philox
# Random123's known-answer vectors (tests/kat_vectors of Salmon et al.'s
# Random123 distribution): rounds, counter (4 words), key (2 words), output.
PHILOX_KAT = [
    (7, [0, 0, 0, 0], [0, 0], [0x5F6FB709, 0x0D893F64, 0x4F121F81, 0x4F730A48]),
    (7, [0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x5207DDC2, 0x45165E59, 0x4D8EE751, 0x8C52F662]),
    (7, [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0], [0x4DFCCABA, 0x190A87F0, 0xC47362BA, 0xB6B5242A]),
    (10, [0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    (10, [0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    (10, [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0], [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]


@pytest.mark.parametrize("rounds, counter, key, expected", PHILOX_KAT)
def test_philox_matches_the_random123_known_answers(rounds, counter, key, expected):
    out = philox4x32([jnp.uint32(c) for c in counter], [jnp.uint32(k) for k in key], rounds=rounds)
    assert [int(w) for w in out] == expected
    # Vectorized and under jit, as the mask uses it.
    words = jax.jit(lambda c, k: philox4x32(list(c), list(k), rounds=rounds))(
        jnp.array(counter, jnp.uint32)[:, None], jnp.array(key, jnp.uint32)
    )
    assert [int(w[0]) for w in words] == expected


def test_philox_mask_bits_are_word_zero_at_counter_index():
    key = jax.random.key(3)
    k0, k1 = (jnp.uint32(w) for w in jax.random.key_data(key))
    bits = philox_bits(key, (4, 5))
    for flat in (0, 7, 19):
        assert int(bits.reshape(-1)[flat]) == int(philox4x32([jnp.uint32(flat), 0, 0, 0], [k0, k1])[0])


# ---------------------------------------------------------------- 64-bit indices
def test_flat_index_words_are_exact_beyond_2_to_the_32():
    shape = (7, 3, 2**31 + 5, 11)  # 5e11 elements: only the arithmetic is exercised
    strides = [3 * (2**31 + 5) * 11, (2**31 + 5) * 11, 11, 1]
    points = [(0, 0, 0, 0), (6, 2, 2**31 + 4, 10), (1, 0, 123456789, 3), (3, 1, 2**31, 0), (6, 0, 0, 7)]
    indices = [jnp.array([p[d] for p in points], jnp.uint32) for d in range(4)]
    lo, hi = index_words(indices, shape)
    for j, p in enumerate(points):
        exact = sum(i * s for i, s in zip(p, strides))
        assert (int(hi[j]) << 32) + int(lo[j]) == exact, p


def test_small_arrays_pay_nothing_for_the_high_word():
    lo, hi = flat_index((3, 4))
    assert hi is None
    np.testing.assert_array_equal(lo.reshape(-1), np.arange(12))


@pytest.mark.parametrize("bits_at", [hash_bits_at, philox_bits_at])
def test_the_mask_does_not_repeat_after_2_to_the_32_elements(bits_at):
    key = jax.random.key(4)
    lo = jnp.arange(1 << 16, dtype=jnp.uint32)
    first = np.asarray(bits_at(key, lo, jnp.zeros_like(lo)))
    second = np.asarray(bits_at(key, lo, jnp.ones_like(lo)))
    assert np.mean(first == second) < 1e-3  # equal only by chance (2^-32 each)
    np.testing.assert_array_equal(first, np.asarray(bits_at(key, lo)))  # hi = None means 0
    z = correlation_z(signs(first >> 31), signs(second >> 31))
    assert abs(z) < 4, z


# ---------------------------------------------------------------- the battery
@pytest.mark.parametrize("keep_prob", [0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_kept_fraction_within_4_sigma(keep_prob, seed, impl):
    fraction = float(mask(impl, jax.random.key(seed), keep_prob, (N,)).mean())
    sigma = math.sqrt(keep_prob * (1 - keep_prob) / N)
    assert abs(fraction - keep_prob) <= 4 * sigma, (fraction, keep_prob)


def test_extreme_keep_probabilities_are_exact(impl):
    assert bool(mask(impl, jax.random.key(0), 1.0, (N,)).all())
    assert not bool(mask(impl, jax.random.key(0), 0.0, (N,)).any())


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_per_row_dropped_counts_are_binomial(rate, impl):
    rows, width = 20_000, 1024
    kept = mask(impl, jax.random.key(3), 1 - rate, (rows, width))
    counts = np.asarray(width - kept.sum(axis=1))
    assert dl.dropped_count_chisquare(counts, width, rate)[2] > TAIL


@pytest.mark.parametrize("rate", [0.5, 0.1])
def test_per_column_counts_are_binomial(rate, impl):
    rows, width = 1024, 4096  # counts down columns: entries 4096 indices apart
    kept = mask(impl, jax.random.key(4), 1 - rate, (rows, width))
    counts = np.asarray(rows - kept.sum(axis=0))
    assert dl.dropped_count_chisquare(counts, rows, rate)[2] > TAIL


@pytest.mark.parametrize("rate", [0.5, 0.2])
def test_per_unit_keep_frequency_over_training_steps(rate, impl):
    # Training draws each step's mask from fold_in(key, step) over the SAME
    # unit positions; a bias tied to a position would be invisible to a test
    # on counts per row. Each unit's kept count over the steps is Binomial.
    steps, width = 4000, 1024
    base = jax.random.key(10)
    keys = jax.vmap(lambda s: jax.random.fold_in(base, s))(jnp.arange(steps))
    kept = jax.vmap(lambda k: mask(impl, k, 1 - rate, (width,)))(keys)
    dropped_per_unit = np.asarray(steps - kept.sum(axis=0))
    assert dl.dropped_count_chisquare(dropped_per_unit, steps, rate)[2] > TAIL


@pytest.mark.parametrize("keep_prob", [0.5, 0.9])
def test_no_neighbour_or_lag_correlation(keep_prob, impl):
    lag, z = worst_lag_z(impl, keep_prob)
    assert abs(z) < 4, f"lag {lag}: z = {z:.2f}"


def test_bits_have_no_lag_correlation_in_any_bit_position(impl):
    bits = np.asarray(GENERATORS[impl](jax.random.key(6), (N,)))
    for position in (0, 1, 8, 15, 23, 31):
        b = ((bits >> position) & 1).astype(np.float64)
        assert abs(b.mean() - 0.5) < 4 * 0.5 / math.sqrt(N), position
        for lag in (1, 2, 256):
            assert abs(correlation_z(b[:-lag], b[lag:])) < 4, (position, lag)


def test_independent_across_keys_and_fold_in_steps(impl):
    base = jax.random.key(7)
    keys = [jax.random.fold_in(base, step) for step in range(6)] + [jax.random.key(s) for s in (0, 1, 2)]
    masks = [signs(mask(impl, k, 0.5, (N,))) for k in keys]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            for shift in (0, 1):
                z = correlation_z(masks[i][shift:], masks[j][: N - shift])
                assert abs(z) < 4, f"keys {i} and {j}, shift {shift}: z = {z:.2f}"


def test_raw_keys_differing_in_one_word_are_independent(impl):
    # XOR-ing a raw key word into the index would make these masks copies of
    # each other with neighbours swapped; the key mixing must prevent that.
    raw = [jnp.array(words, jnp.uint32) for words in ([0, 0], [1, 0], [0, 1], [2, 0], [1 << 31, 0])]
    masks = [signs(mask(impl, k, 0.5, (N,))) for k in raw]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            for lag in (0, 1, 2, 3):
                z = correlation_z(masks[i][lag:], masks[j][: N - lag])
                assert abs(z) < 4, f"raw keys {i}, {j}, lag {lag}: z = {z:.2f}"


def test_two_dimensional_mask_has_no_spectral_structure(impl):
    # Stripes, blocks or diagonals in the image of a mask show up as a spike
    # in its 2-D power spectrum. For independent entries each normalized
    # periodogram ordinate is Exp(1): P(max of 262 144 > 25) < 4e-6.
    assert max_periodogram(impl) < 25.0


def test_mask_depends_only_on_the_flat_index(impl):
    key = jax.random.key(9)
    flat = mask(impl, key, 0.3, (1 << 20,))
    np.testing.assert_array_equal(mask(impl, key, 0.3, (1024, 1024)).ravel(), flat)
    np.testing.assert_array_equal(mask(impl, key, 0.3, (16, 256, 256)).ravel(), flat)


# ---------------------------------------------------------------- the negative control
def test_the_battery_fails_a_weak_generator():
    # The Weyl sequence keeps exactly the right fraction (it is
    # equidistributed), so the first test cannot see it; the lag and
    # spectral tests must, by far.
    fraction = float(mask("weyl", jax.random.key(0), 0.5, (N,)).mean())
    assert abs(fraction - 0.5) < 4 * 0.5 / math.sqrt(N)
    lag, z = worst_lag_z("weyl", 0.5)
    assert abs(z) > 100, f"the Weyl sequence passed the lag test: lag {lag}, z = {z:.1f}"
    assert max_periodogram("weyl") > 1000


# ---------------------------------------------------------------- layout and sharding
def test_mask_is_bit_identical_when_sharded_over_four_devices():
    script = textwrap.dedent(
        """
        import jax, jax.numpy as jnp, numpy as np
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        import dropoutlib as dl
        assert len(jax.devices()) == 4, jax.devices()
        x = jnp.arange(64 * 4096, dtype=jnp.float32).reshape(64, 4096)
        key = jax.random.key(11)
        single = jax.device_put(x, jax.devices()[0])
        mesh = Mesh(np.array(jax.devices()), ("d",))
        for impl in ("hash", "philox"):
            f = jax.jit(lambda k, x: dl.dropout(k, x, 0.3, impl=impl))
            g = jax.jit(jax.grad(lambda x, k: jnp.sum(dl.dropout(k, x, 0.3, impl=impl) ** 2)))
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


def test_hash_bits_are_stable_across_releases():
    # The stored notebook outputs depend on these exact bits: a change to
    # the hash must be deliberate (and refresh every notebook).
    bits = np.asarray(hash_bits(jax.random.key(0), (4,)))
    assert bits.tolist() == [358374564, 3291125998, 4000877595, 2375931216]


def test_mulhi32_is_the_high_word_of_the_product():
    from dropoutlib.philox import mulhi32

    a = jax.random.bits(jax.random.key(1), (100_000,), jnp.uint32)
    for m in (0xD2511F53, 0xCD9E8D57, 0xFFFFFFFF, 1):
        np.testing.assert_array_equal(mulhi32(m, a), jax.lax.mulhi(jnp.uint32(m), a))
        exact = (np.asarray(a, np.uint64) * np.uint64(m)) >> np.uint64(32)
        np.testing.assert_array_equal(np.asarray(mulhi32(m, a)), exact.astype(np.uint32))
    assert not jax.config.jax_enable_x64  # the local scope did not leak


def _bit_correlation_z(a, b):
    """z-score of the correlation of each of the 32 bit positions of a and b (uint32)."""
    a, b = np.asarray(a, np.uint32), np.asarray(b, np.uint32)
    bits = np.arange(32, dtype=np.uint32)[:, None]
    x = 2.0 * ((a[None] >> bits) & 1) - 1
    y = 2.0 * ((b[None] >> bits) & 1) - 1
    return (x * y).sum(axis=1) / np.sqrt(a.size)  # N(0, 1) for independent uniform bits


def test_related_keys_give_unrelated_bits_at_related_indices():
    # The hash's bits are H(H(i ^ s0) ^ s1) (H = lowbias32, (s0, s1) the key's
    # seeds). For two keys, the bits of key k' at index i ^ s0 ^ s0' are
    # H(u ^ d) where key k's at index i are H(u), with u = H(i ^ s0) ^ s1 and
    # d = s1 ^ s1': the two streams differ only by a constant XOR before one
    # final lowbias32. That one hash's differential must leave no
    # correlation in any bit position (4-sigma), for keys one fold_in step
    # apart and for keys differing in one raw word.
    from dropoutlib._counter import key_words
    from dropoutlib.hashmask import _seeds, lowbias32

    base = jax.random.key(11)
    pairs = [(jax.random.fold_in(base, t), jax.random.fold_in(base, t + 1)) for t in range(4)]
    pairs += [(jax.random.key(0), jax.random.key(1)),
              (jnp.array([0, 0], jnp.uint32), jnp.array([1, 0], jnp.uint32))]
    index = jnp.arange(1 << 20, dtype=jnp.uint32)
    for n, (k, k2) in enumerate(pairs):
        (s0, s1), (t0, t1) = _seeds(*key_words(k)), _seeds(*key_words(k2))
        here, there = hash_bits_at(k, index), hash_bits_at(k2, index ^ s0 ^ t0)
        u = lowbias32(index ^ s0) ^ s1  # the relation itself, checked exactly
        np.testing.assert_array_equal(here, lowbias32(u))
        np.testing.assert_array_equal(there, lowbias32(u ^ (s1 ^ t1)))
        z = _bit_correlation_z(here, there)
        worst = int(np.abs(z).argmax())
        assert abs(z[worst]) < 4, f"pair {n}: bit {worst}, z = {z[worst]:.1f}"
        # The control: with a weak final mix (one xor-shift instead of
        # lowbias32) the same relation shows at once.
        weak = lambda v: v ^ (v >> 16)  # noqa: E731
        assert np.abs(_bit_correlation_z(weak(u), weak(u ^ (s1 ^ t1)))).max() > 100
