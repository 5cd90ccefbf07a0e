"""The benchmark scripts' own logic: ratios per round, the dieharder streams, the bit-identity reference.

The timings themselves are not tested (they are measurements); what turns
them into the book's numbers is.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import dieharder_battery as battery
from benchmarks import gpu_checks
from benchmarks.harness import interleaved, spread, summarize
from dropoutlib.hashmask import hash_bits, hash_bits_at
from dropoutlib.philox import philox_bits, philox_bits_at


def test_ratios_are_taken_round_by_round():
    # Each round's time is divided by the reference's time in the SAME round,
    # so that a drift of the machine between rounds cancels. (The ratio of
    # the two medians would be 3 / 3 = 1 here, not the median ratio, 2.)
    out = summarize([2.0, 3.0, 9.0], [1.0, 3.0, 3.0])
    assert out["ratio"] == {"min": 1.0, "median": 2.0, "max": 3.0, "rounds": [2.0, 1.0, 3.0]}
    assert out["ms"] == {"min": 2.0, "median": 3.0, "max": 9.0}
    assert spread([3.0, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0}
    with pytest.raises(ValueError, match="2 samples against 3"):
        summarize([1.0, 2.0], [1.0, 2.0, 3.0])


def test_interleaved_rotates_the_order_every_round():
    calls = []
    samplers = {name: (lambda name=name: calls.append(name) or 1.0) for name in "abc"}
    times = interleaved(samplers, repeats=3)
    assert calls == list("abc" "bca" "cab")
    assert times == {name: [1.0] * 3 for name in "abc"}


def _first_block(generator, stream):
    return next(battery.stream_words(generator, stream))


def test_index_stream_is_the_mask_bits_at_one_key():
    key = jax.random.key(battery.KEY_SEED)
    np.testing.assert_array_equal(_first_block("hash", "index")[:4096], hash_bits(key, (4096,)))
    np.testing.assert_array_equal(_first_block("philox", "index")[:4096], philox_bits(key, (4096,)))


def test_steps_stream_is_one_unit_across_fold_in_keys():
    key = jax.random.key(battery.KEY_SEED)
    block = _first_block("hash", "steps")
    expected = [int(hash_bits_at(jax.random.fold_in(key, t), jnp.uint32(battery.STEP_INDEX))) for t in range(4)]
    assert block[:4].tolist() == expected
    block = _first_block("philox", "steps")
    assert int(block[3]) == int(philox_bits_at(jax.random.fold_in(key, 3), jnp.uint32(battery.STEP_INDEX)))


def test_wrap_stream_crosses_2_to_the_32():
    key = jax.random.key(battery.KEY_SEED)
    stream = battery.stream_words("hash", "wrap")
    words = np.concatenate([next(stream) for _ in range((1 << 24) // battery.CHUNK + 1)])
    crossing = (1 << 32) - battery.WRAP_START  # position of flat index 2^32
    assert words[crossing - 1] == int(hash_bits_at(key, jnp.uint32(0xFFFFFFFF)))
    assert words[crossing] == int(hash_bits_at(key, jnp.uint32(0), jnp.uint32(1)))
    assert words[crossing + 5] == int(hash_bits_at(key, jnp.uint32(5), jnp.uint32(1)))
    # A block that starts 5 words before the wrap carries into the high word.
    block = battery._make_along_index("hash")(key, jnp.uint32((1 << 32) - 5), jnp.uint32(0))
    assert int(block[4]) == int(hash_bits_at(key, jnp.uint32(0xFFFFFFFF)))
    assert int(block[5]) == int(hash_bits_at(key, jnp.uint32(0), jnp.uint32(1)))


def test_weyl_control_is_a_weyl_sequence():
    words = _first_block("weyl", "index")[:1000].astype(np.uint64)
    steps = (words[1:] - words[:-1]) % (1 << 32)
    assert set(steps.tolist()) == {battery.GOLDEN}


def test_dieharder_report_is_parsed():
    text = """#=============================================================================#
        test_name   |ntup| tsamples |psamples|  p-value |Assessment
#=============================================================================#
   diehard_birthdays|   0|       100|     100|0.95014646|  PASSED
        diehard_runs|   0|    100000|     100|0.00000000|  FAILED
         rgb_bitdist|  12|    100000|     100|0.99612345|   WEAK
"""
    results = battery.parse_dieharder(text)
    assert [(r["test"], r["ntup"], r["pvalue"], r["assessment"]) for r in results] == [
        ("diehard_birthdays", 0, 0.95014646, "PASSED"),
        ("diehard_runs", 0, 0.0, "FAILED"),
        ("rgb_bitdist", 12, 0.99612345, "WEAK"),
    ]


def test_bits_match_the_reference_that_the_gpu_run_compares_with():
    # benchmarks/gpu_run.sh checks a GPU's bits against this file; it must
    # describe what this CPU computes (refresh it with --write-reference).
    reference = json.loads(gpu_checks.REFERENCE.read_text())["sha256"]
    assert gpu_checks.bit_hashes(jax.devices("cpu")[0]) == reference
