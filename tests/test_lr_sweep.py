"""Reading a learning-rate sweep: divergence flags, plateaus and shifted curves on synthetic scores."""

import math

import numpy as np
import pytest

from dropoutlib.experiments import lr_sweep

SEEDS, GRID, EXAMPLES = 5, 7, 300


def _errors(rates_per_point, seed=0):
    """Per-example errors with the given error rate at each grid point, independent draws."""
    rng = np.random.default_rng(seed)
    return (rng.random((SEEDS, len(rates_per_point), EXAMPLES)) < np.asarray(rates_per_point)[None, :, None]).astype(float)


def test_diverged_flags_non_finite_and_worse_than_uniform_losses():
    flags = lr_sweep.diverged([0.1, 2.2, math.log(10) + 1e-6, np.nan, np.inf, 1e19])
    assert flags.tolist() == [False, False, True, True, True, True]


def test_the_plateau_is_every_point_not_detectably_worse_than_the_best():
    errors = _errors([0.6, 0.3, 0.05, 0.05, 0.05, 0.3, 0.6])
    failed = np.zeros((SEEDS, GRID), bool)
    result = lr_sweep.plateau(errors, failed)
    assert result.members == (2, 3, 4) and result.contiguous
    assert result.best in (2, 3, 4)
    assert result.interval([1, 2, 4, 8, 16, 32, 64]) == (4, 16)
    assert all(d.excludes_zero for j, d in enumerate(result.differences) if j not in result.members)


def test_a_point_with_a_diverged_seed_is_never_on_the_plateau():
    errors = _errors([0.6, 0.3, 0.05, 0.05, 0.04, 0.3, 0.6])
    failed = np.zeros((SEEDS, GRID), bool)
    failed[1, 4] = True  # the lowest error, but one seed diverged there
    result = lr_sweep.plateau(errors, failed)
    assert 4 not in result.members and result.best in (2, 3)
    with pytest.raises(ValueError, match="no optimum"):
        lr_sweep.plateau(errors, np.ones((SEEDS, GRID), bool))
    with pytest.raises(ValueError, match="seeds, grid"):
        lr_sweep.plateau(errors[0], failed)


def test_shifted_curves_that_coincide_and_curves_that_do_not():
    curve = [0.5, 0.3, 0.1, 0.05, 0.05, 0.9, 0.9]
    b = _errors(curve, seed=1)
    a = np.concatenate([_errors([0.7, 0.6], seed=2), b[:, :-2]], axis=1)  # b, two grid points later
    failed_b = np.zeros((SEEDS, GRID), bool)
    failed_b[:, 5:] = True
    failed_a = np.zeros((SEEDS, GRID), bool)
    same = lr_sweep.shifted_comparison(a, failed_a, b, failed_b, 2)
    assert same.points == 5 and same.disagreements == 0 and same.detectable == 0
    assert same.largest.mean == 0.0 and same.largest_at in range(5)
    other = lr_sweep.shifted_comparison(a, failed_a, b, failed_b, 1)
    assert other.disagreements == SEEDS and other.detectable >= 1
    assert other.largest_at in (1, 2)  # error rates 0.5 vs 0.3 and 0.3 vs 0.1: the largest gaps
    with pytest.raises(ValueError, match="same seeds"):
        lr_sweep.shifted_comparison(a[:, :3], failed_a, b, failed_b, 1)
