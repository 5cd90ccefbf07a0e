"""The bit fingerprints and the goal judgements that chapter 8's GPU section uses."""

import json
from pathlib import Path

import pytest

from dropoutlib.book.bitcheck import bit_hashes
from dropoutlib.book.goals import judge, quotient_bounds

REFERENCE = Path(__file__).resolve().parents[1] / "benchmarks" / "bits_sha256.json"


def test_bits_on_this_cpu_equal_the_stored_reference():
    reference = json.loads(REFERENCE.read_text())["sha256"]
    assert bit_hashes() == reference


def test_a_changed_bit_changes_the_fingerprint():
    small = bit_hashes(n=1 << 10)
    assert len(set(small.values())) < len(small)  # rbg and unsafe_rbg share bits
    assert small != bit_hashes(n=1 << 11)


@pytest.mark.parametrize(
    ("stats", "goal", "at_most", "expected"),
    [
        ({"median": 1.0, "min": 0.9, "max": 1.1}, 1.15, True, ("met", "met")),
        ({"median": 1.1, "min": 0.9, "max": 1.2}, 1.15, True, ("met", "missed")),
        ({"median": 1.2, "min": 1.16, "max": 1.3}, 1.15, True, ("missed", "missed")),
        ({"median": 1.5, "min": 1.2, "max": 1.6}, 1.3, False, ("met", "missed")),
        ({"median": 1.5, "min": 1.4, "max": 1.6}, 1.3, False, ("met", "met")),
        ({"median": 1.2, "min": 1.1, "max": 1.6}, 1.3, False, ("missed", "missed")),
        ({"median": 1.5, "min": None, "max": None}, 1.3, False, ("met", "unknown")),
    ],
)
def test_judge(stats, goal, at_most, expected):
    assert judge(stats, goal, at_most=at_most) == expected


def test_quotient_bounds_contain_every_round():
    a, b = [2.0, 2.4, 2.2], [1.1, 1.0, 1.05]  # the extremes fall in the same rounds
    stats = lambda v: {"median": sorted(v)[1], "min": min(v), "max": max(v)}  # noqa: E731
    bounds = quotient_bounds(stats(a), stats(b))
    quotients = [x / y for x, y in zip(a, b)]
    assert all(bounds["min"] <= q <= bounds["max"] for q in quotients)
    assert (bounds["min"], bounds["max"]) == pytest.approx((min(quotients), max(quotients)))
    assert bounds["median"] == pytest.approx(2.2 / 1.05)
