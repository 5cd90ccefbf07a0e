"""The exact McNemar comparison of paired yes/no outcomes and its intervals."""

import numpy as np
import pytest
from scipy import stats

from dropoutlib.experiments.paired_binary import (
    format_p,
    min_discordant,
    paired_binary_test,
    rate_interval,
)


def test_counts_and_discordant_seeds_by_hand():
    a = np.array([1, 1, 1, 0, 0, 1, 0, 0], bool)
    b = np.array([1, 0, 0, 0, 1, 0, 0, 0], bool)
    t = paired_binary_test(a, b)
    assert (t.n, t.count_a, t.count_b, t.only_a, t.only_b) == (8, 4, 2, 3, 1)
    # Exact McNemar: Binomial(4, 1/2), two-sided, 3 of 4: P(X>=3) + P(X<=1) = 10/16.
    assert t.p_value == pytest.approx(10 / 16)
    assert t.verdict() == "no detectable difference" and not t.detectable


def test_all_one_way_gives_two_to_the_one_minus_k():
    for k in range(1, 10):
        a = np.r_[np.ones(k, bool), np.zeros(20 - k, bool)]
        t = paired_binary_test(a, np.zeros(20, bool))
        assert t.p_value == pytest.approx(2.0 ** (1 - k))
        assert t.detectable == (2.0 ** (1 - k) < 0.05)
    assert min_discordant() == 6
    assert min_discordant(0.99) == 8  # 2^-7 = 0.0078 < 0.01, 2^-6 = 0.0156 is not


def test_verdict_direction_and_symmetry():
    a = np.r_[np.ones(8, bool), np.zeros(16, bool)]
    b = np.zeros(24, bool)
    assert paired_binary_test(a, b).verdict() == "more often"
    assert paired_binary_test(b, a).verdict() == "less often"
    assert paired_binary_test(a, b).p_value == pytest.approx(paired_binary_test(b, a).p_value)


def test_interval_agrees_with_the_test():
    # The Clopper-Pearson interval of the discordant share excludes 1/2 exactly
    # when the exact two-sided p-value is below 5 %.
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = rng.random(30) < rng.random(), rng.random(30) < rng.random()
        t = paired_binary_test(a, b)
        assert t.detectable == (t.p_value < 0.05)


def test_pairing_matters_fisher_differs():
    # Concordant seeds change Fisher's p but not McNemar's.
    a = np.r_[np.ones(10, bool), np.ones(6, bool), np.zeros(8, bool)]
    b = np.r_[np.ones(10, bool), np.zeros(6, bool), np.zeros(8, bool)]
    t = paired_binary_test(a, b)
    fisher = stats.fisher_exact([[16, 8], [10, 14]]).pvalue
    assert t.p_value == pytest.approx(2.0**-5)
    assert abs(fisher - t.p_value) > 0.05


def test_no_discordant_seed():
    a = np.array([1, 0, 1, 0], bool)
    t = paired_binary_test(a, a.copy())
    assert t.p_value == 1.0 and t.verdict() == "no detectable difference"
    assert (t.share_low, t.share_high) == (0.0, 1.0)


def test_rate_interval_is_clopper_pearson():
    low, high = rate_interval(0, 24)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 24))
    low, high = rate_interval(24, 24)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 24))
    low, high = rate_interval(5, 20)
    assert low == pytest.approx(stats.beta.ppf(0.025, 5, 16))
    assert high == pytest.approx(stats.beta.ppf(0.975, 6, 15))


def test_format():
    a = np.r_[np.ones(12, bool), np.zeros(12, bool)]
    t = paired_binary_test(a, np.zeros(24, bool))
    assert t.format() == "12/24 vs 0/24 (12:0 discordant), p = 0.00049"
    assert format_p(1.0) == "1" and format_p(0.4375) == "0.44"


def test_bad_input_raises():
    with pytest.raises(ValueError):
        paired_binary_test(np.ones(3, bool), np.ones(4, bool))
    with pytest.raises(ValueError):
        paired_binary_test(np.array([0, 2, 1]), np.array([0, 1, 1]))
    with pytest.raises(ValueError):
        paired_binary_test(np.ones(3, bool), np.ones(3, bool), confidence=1.0)
    with pytest.raises(ValueError):
        rate_interval(5, 4)
    with pytest.raises(ValueError):
        min_discordant(0.0)
