"""Reading a learning-rate sweep honestly: diverged runs, the plateau of good rates, shifted curves.

A sweep trains every seed at every learning rate of a grid. Three rules:

* A run **diverged** when its final training loss is not finite or exceeds
  ``ln 10``, the loss of a uniform guess over the ten classes
  (:func:`diverged`). Such a run has no meaningful error rate; it is shown
  as diverged, and a learning rate where any seed diverged is not a
  candidate optimum.
* The optimum is not the argmax of a noisy curve but a **plateau**
  (:func:`plateau`): the learning rates whose error is not detectably
  worse than the best one's, by the paired difference over seeds AND
  validation examples (:func:`~dropoutlib.experiments.compare.paired_difference`).
* Two schemes related by a factor ``k`` in the learning rate have curves
  that coincide after a shift by ``k`` (:func:`shifted_comparison` compares
  grid point ``j + shift`` of one with point ``j`` of the other).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from dropoutlib.experiments.compare import PairedDifference, paired_difference

__all__ = ["DIVERGED_LOSS", "Plateau", "Shifted", "diverged", "evaluate", "plateau", "shifted_comparison"]

DIVERGED_LOSS = math.log(10.0)


def diverged(train_loss: Any) -> np.ndarray:
    """True where the final training loss is not finite or above ``ln 10`` (a uniform guess)."""
    loss = np.asarray(train_loss, dtype=float)
    return ~np.isfinite(loss) | (loss > DIVERGED_LOSS)


@dataclasses.dataclass(frozen=True)
class Plateau:
    """The best grid point and every point not detectably worse than it.

    ``members`` are grid indices in increasing order; ``contiguous`` says
    whether they form one run of neighbours; ``differences[j]`` is the paired
    difference ``error[j] - error[best]`` (None for the best point and for
    points where a seed diverged).
    """

    best: int
    members: tuple[int, ...]
    contiguous: bool
    differences: tuple[PairedDifference | None, ...]

    def interval(self, grid: Any) -> tuple[float, float]:
        """The plateau's smallest and largest learning rate."""
        grid = list(grid)
        return grid[self.members[0]], grid[self.members[-1]]


def plateau(errors: Any, failed: Any, *, confidence: float = 0.95, n_resamples: int = 4000) -> Plateau:
    """The plateau of good learning rates of one curve.

    Args:
      errors: per-example errors (1 = wrong), shape ``(seeds, grid, examples)``.
      failed: ``(seeds, grid)`` booleans, True where a run diverged.
      confidence, n_resamples: of the paired intervals.

    The best point has the lowest mean error among the points where no seed
    diverged; a point belongs to the plateau when no seed diverged there and
    the ``confidence`` interval of its paired difference to the best point
    includes zero.
    """
    errors = np.asarray(errors, dtype=float)
    failed = np.asarray(failed, dtype=bool)
    if errors.ndim != 3 or failed.shape != errors.shape[:2]:
        raise ValueError(f"need errors (seeds, grid, examples) and failed (seeds, grid), got {errors.shape}, {failed.shape}")
    ok = ~failed.any(axis=0)
    if not ok.any():
        raise ValueError("every grid point has a diverged seed: there is no optimum")
    means = np.where(ok, errors.mean(axis=(0, 2)), np.inf)
    best = int(np.argmin(means))
    members, differences = [], []
    for j in range(errors.shape[1]):
        if j == best or not ok[j]:
            differences.append(None)
            members += [j] if j == best else []
            continue
        d = paired_difference(errors[:, j], errors[:, best], confidence=confidence, n_resamples=n_resamples)
        differences.append(d)
        if not d.excludes_zero:
            members.append(j)
    contiguous = members == list(range(members[0], members[-1] + 1))
    return Plateau(best, tuple(members), contiguous, tuple(differences))


@dataclasses.dataclass(frozen=True)
class Shifted:
    """Curve A at grid point ``j + shift`` against curve B at ``j``, for every ``j`` where both exist.

    ``disagreements`` counts (seed, point) pairs where exactly one of the two
    runs diverged. ``largest`` is the paired difference of largest magnitude
    among the points where no run of either curve diverged (None if there is none),
    found at grid point ``largest_at`` of curve B; ``detectable`` counts those
    points whose interval excludes zero.
    """

    shift: int
    points: int
    disagreements: int
    detectable: int
    largest: PairedDifference | None
    largest_at: int | None


def shifted_comparison(
    errors_a: Any, failed_a: Any, errors_b: Any, failed_b: Any, shift: int, *, n_resamples: int = 4000
) -> Shifted:
    """Compare curve A shifted by ``shift`` grid points with curve B (paired by seed and example).

    ``errors_*`` have shape ``(seeds, grid, examples)`` and ``failed_*``
    ``(seeds, grid)``, on the same grid and seeds.
    """
    errors_a, errors_b = np.asarray(errors_a, float), np.asarray(errors_b, float)
    failed_a, failed_b = np.asarray(failed_a, bool), np.asarray(failed_b, bool)
    if errors_a.shape != errors_b.shape or failed_a.shape != failed_b.shape:
        raise ValueError("the two curves need the same seeds, grid and examples")
    n = errors_a.shape[1]
    js = [j for j in range(n) if 0 <= j + shift < n]
    disagreements = sum(int(np.sum(failed_a[:, j + shift] != failed_b[:, j])) for j in js)
    diffs = {}
    for j in js:
        if failed_a[:, j + shift].any() or failed_b[:, j].any():
            continue
        diffs[j] = paired_difference(errors_a[:, j + shift], errors_b[:, j], n_resamples=n_resamples)
    at = max(diffs, key=lambda j: abs(diffs[j].mean)) if diffs else None
    detectable = sum(d.excludes_zero for d in diffs.values())
    return Shifted(shift, len(js), disagreements, detectable, diffs.get(at), at)


def evaluate(result: Any, data: Any, hypers: Any, config: Any) -> dict[str, np.ndarray]:
    """Per-example validation and test errors and the divergence flags of a sweep's runs.

    ``result``, ``hypers`` and ``config`` are what
    :func:`~dropoutlib.experiments.train.per_example_scores` takes. Returns
    ``{"val": ..., "test": ...}`` (1 = wrong, shape ``grid + (examples,)``)
    and ``"failed"`` (shape ``grid``): :func:`diverged` applied to the
    test-mode cross-entropy on the training split.
    """
    from dropoutlib.experiments.train import per_example_scores

    out = {name: 1.0 - per_example_scores(result, split, hypers, config)["correct"] for name, split in (("val", data.val), ("test", data.test))}
    out["failed"] = diverged(per_example_scores(result, data.train, hypers, config)["loss"].mean(axis=-1))
    return out
