"""The paired comparison: its interval covers seeds and test examples, and the words follow it."""

import numpy as np
import pytest

import dropoutlib.experiments as dx


def synthetic(rng, n_seeds, n_examples, delta, seed_sd=0.02, base=0.9):
    """Paired 0/1 correctness of two set-ups with a true accuracy gap ``delta``.

    Each example has its own difficulty (shared by both set-ups, which is
    what pairing exploits) and each seed shifts both set-ups' accuracy.
    """
    difficulty = rng.uniform(-0.08, 0.08, size=n_examples)
    a = np.empty((n_seeds, n_examples))
    b = np.empty((n_seeds, n_examples))
    for s in range(n_seeds):
        shift = rng.normal(0, seed_sd)
        p_b = np.clip(base + difficulty + shift, 0, 1)
        p_a = np.clip(p_b + delta + rng.normal(0, seed_sd), 0, 1)
        u = rng.random(n_examples)  # common random numbers: the pairing
        a[s] = u < p_a
        b[s] = u < p_b
    return a, b


def test_mean_is_the_mean_paired_difference():
    rng = np.random.default_rng(0)
    a, b = synthetic(rng, 5, 300, 0.02)
    result = dx.paired_difference(a, b)
    assert result.mean == pytest.approx(float((a - b).mean()))
    assert result.low < result.mean < result.high
    assert result.n_seeds == 5 and result.n_examples == 300
    assert result.method.startswith("two-way bootstrap")


def test_interval_widens_when_the_test_set_shrinks():
    rng = np.random.default_rng(1)
    a, b = synthetic(rng, 5, 2000, 0.02, seed_sd=0.0)
    full = dx.paired_difference(a, b)
    small = dx.paired_difference(a[:, :200], b[:, :200])
    assert (small.high - small.low) > 2.0 * (full.high - full.low)  # about sqrt(10) wider


def test_interval_covers_the_test_set_noise_that_seed_spread_misses():
    # One seed repeated: the spread over seeds is zero, yet 200 test examples
    # leave real uncertainty. A seeds-only interval would be a point.
    rng = np.random.default_rng(2)
    a1, b1 = synthetic(rng, 1, 200, 0.03, seed_sd=0.0)
    a, b = np.repeat(a1, 5, axis=0), np.repeat(b1, 5, axis=0)
    result = dx.paired_difference(a, b)
    assert result.high - result.low > 0.01
    seeds_only = dx.paired_difference(a.mean(1), b.mean(1))
    assert seeds_only.high == seeds_only.low


def test_coverage_on_synthetic_data_with_a_known_difference():
    # 200 replications of a 5-seed, 300-example comparison with a true gap of
    # 2 points. The true difference of a replication's populations is
    # delta; a 95 % interval must cover it in about 95 % of them. The bound
    # is 4 binomial standard errors below 0.95; the two-way bootstrap is
    # conservative, so coverage above 0.95 is expected, not a failure.
    rng = np.random.default_rng(3)
    delta, reps = 0.02, 200
    covered = 0
    for rep in range(reps):
        a, b = synthetic(rng, 5, 300, delta)
        result = dx.paired_difference(a, b, n_resamples=2000, seed=rep)
        covered += result.low <= delta <= result.high
    coverage = covered / reps
    assert coverage >= 0.95 - 4 * np.sqrt(0.95 * 0.05 / reps), coverage
    assert coverage < 1.0, "an interval that always covers is too wide to be useful"


def test_per_seed_scores_use_the_paired_t_interval():
    from scipy import stats

    a = np.array([1.0, 1.2, 0.9, 1.4, 1.1])
    b = np.array([0.8, 1.1, 0.9, 1.0, 0.7])
    result = dx.paired_difference(a, b)
    low, high = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (result.low, result.high) == pytest.approx((low, high))
    assert result.method == "paired t over seeds" and result.n_examples is None


def test_splits_are_strata():
    rng = np.random.default_rng(4)
    a1, b1 = synthetic(rng, 5, 300, 0.03)
    a2, b2 = synthetic(rng, 5, 250, 0.01)
    result = dx.paired_difference([a1, a2], [b1, b2])
    assert result.mean == pytest.approx(((a1 - b1).mean() + (a2 - b2).mean()) / 2)
    assert result.n_seeds == 10 and result.n_examples == 550


def test_the_words_follow_the_interval():
    better = dx.PairedDifference(0.02, 0.01, 0.03, 0.95, 5, 300, "x")
    unclear = dx.PairedDifference(0.02, -0.01, 0.05, 0.95, 5, 300, "x")
    assert better.verdict() == "better" and better.verdict(higher_is_better=False) == "worse"
    assert unclear.verdict() == "no detectable difference"
    assert better.format(scale=100, digits=1, unit="points") == "+2.0 [+1.0, +3.0] points"
    assert better.scaled(100).mean == pytest.approx(2.0)


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.ones((5, 3)), np.ones((5, 4)), "paired"),
        (np.ones((1, 3)), np.ones((1, 3)), "at least 2 seeds"),
        (np.full((3, 3), np.nan), np.ones((3, 3)), "NaN"),
        ([np.ones((3, 3))], [np.ones((3, 3)), np.ones((3, 3))], "same number of splits"),
    ],
)
def test_bad_inputs_are_named(a, b, message):
    with pytest.raises(ValueError, match=message):
        dx.paired_difference(a, b)
    with pytest.raises(ValueError, match="confidence"):
        dx.paired_difference(np.ones((3, 3)), np.ones((3, 3)), confidence=95)
