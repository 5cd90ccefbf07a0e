"""Goals judged only as far as the rounds resolve them (dropoutlib.book.goals)."""

import numpy as np
import pytest

from dropoutlib.book.goals import describe, median_interval, resolve


def test_fifteen_rounds_give_order_statistics_4_and_12():
    low, high, coverage = median_interval(list(range(15, 0, -1)))  # any order
    assert (low, high) == (4, 12)  # 1-based order statistics 4 and 12
    assert coverage == pytest.approx(1 - 2 * (1 + 15 + 105 + 455) / 2**15)  # 0.965


def test_the_interval_covers_the_median_as_often_as_it_says():
    # 20 000 sets of 15 exponential rounds (median ln 2): the interval's
    # coverage, 0.9648, within 4 standard errors.
    rng = np.random.default_rng(0)
    trials = rng.exponential(size=(20_000, 15))
    _, _, coverage = median_interval(trials[0])
    covered = np.mean([lo < np.log(2) < hi for lo, hi, _ in map(median_interval, trials)])
    assert abs(covered - coverage) < 4 * np.sqrt(coverage * (1 - coverage) / len(trials))


def test_too_few_rounds_give_no_interval():
    with pytest.raises(ValueError, match="5 values"):
        median_interval([1.0, 2.0, 3.0, 4.0, 5.0])  # [min, max] covers only 94 %
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])[:2] == (1.0, 6.0)  # 96.9 %


@pytest.mark.parametrize(
    ("stats", "goal", "at_most", "expected"),
    [
        ({"median": 1.0, "min": 0.9, "max": 1.1}, 1.15, True, "met"),
        ({"median": 1.1, "min": 0.9, "max": 1.2}, 1.15, True, "undetermined"),
        ({"median": 1.2, "min": 1.16, "max": 1.3}, 1.15, True, "missed"),
        ({"median": 1.5, "min": 1.2, "max": 1.6}, 1.3, False, "undetermined"),
        ({"median": 1.5, "min": 1.4, "max": 1.6}, 1.3, False, "met"),
        ({"median": 1.2, "min": 1.1, "max": 1.25}, 1.3, False, "missed"),
        ({"median": 1.15, "min": 1.1, "max": 1.15}, 1.15, True, "met"),  # on the line
    ],
)
def test_resolve_from_the_range_of_the_rounds(stats, goal, at_most, expected):
    verdict, low, high = resolve(stats, goal, at_most=at_most)
    assert (verdict, low, high) == (expected, stats["min"], stats["max"])


def test_resolve_uses_the_median_interval_when_rounds_are_stored():
    # One wild round on each side: [min, max] spans the goal, the interval
    # for the median (order statistics 4 and 12 of 15) does not.
    rounds = [0.5] + [1.0 + 0.005 * i for i in range(13)] + [9.0]
    stats = {"min": 0.5, "median": 1.035, "max": 9.0, "rounds": rounds}
    assert resolve({k: stats[k] for k in ("min", "median", "max")}, 1.1)[0] == "undetermined"
    assert resolve(stats, 1.1) == ("met", 1.01, pytest.approx(1.05))
    assert resolve(stats, 1.0)[0] == "missed"
    assert resolve(stats, 1.03)[0] == "undetermined"


def test_describe_says_what_was_judged():
    spans = {"median": 1.9, "min": 0.49, "max": 9.27}
    assert describe(spans, 1.3) == (
        "not resolved by this measurement: its rounds (0.49 to 9.27) span the goal")
    assert describe({"median": 1.01, "min": 1.0, "max": 1.02}, 1.03) == (
        "met: all its rounds (1.00 to 1.02) are within it")
    assert describe({"median": 1.2, "min": 1.1, "max": 1.3}, 1.03) == (
        "missed: all its rounds (1.10 to 1.30) are beyond it")
    rounds = {**spans, "rounds": [0.49] + [1.0] * 13 + [9.27]}
    assert describe(rounds, 1.3) == (
        "met: the 95 % interval for its median (1.00 to 1.00) is within it")
