"""Where the noise of a paired comparison comes from: runs, test images, and the rest.

A paired comparison scored on a common test set gives one difference per
run and test image, ``d[r, i]`` (for the test error: +1, 0 or -1). The
crossed random-effects model

.. math:: d_{ri} = \\mu + a_r + b_i + e_{ri}, \\qquad
          \\operatorname{Var} a = \\sigma_a^2,\\;
          \\operatorname{Var} b = \\sigma_b^2,\\;
          \\operatorname{Var} e = \\sigma_e^2,

separates three sources: ``a_r``, how much run ``r`` (its training set and
seed) favours one set-up; ``b_i``, how much image ``i`` favours one set-up
whatever the run; and ``e_{ri}``, the rest (with one observation per cell,
the run-by-image interaction cannot be told from noise and is part of it).
The estimated mean ``mean(d)`` over ``R`` runs and ``N`` images has

.. math:: \\operatorname{Var} \\bar d = \\sigma_a^2 / R + \\sigma_b^2 / N + \\sigma_e^2 / (R N).

The method-of-moments (two-way ANOVA) estimates use the residual mean square
``MS_e = SS_e / ((R-1)(N-1))`` of the additive fit, with
``E[MS_e] = sigma_e^2``, and the spreads of the run means and the image
means, ``E[s_r^2] = sigma_a^2 + sigma_e^2 / N`` and
``E[s_i^2] = sigma_b^2 + sigma_e^2 / R``:

.. math:: \\hat\\sigma_e^2 = MS_e, \\quad
          \\hat\\sigma_a^2 = s_r^2 - MS_e / N, \\quad
          \\hat\\sigma_b^2 = s_i^2 - MS_e / R,

each unbiased; a negative estimate is set to zero. The split matters when
planning: more runs shrink the first and the last term, a larger test set
the last two, and only a larger test set shrinks ``sigma_b^2 / N``. The
spread of the per-image means alone, ``s_i^2 / N``, is NOT the image part:
it also holds ``sigma_e^2 / (R N)``, which more runs do shrink.

With few runs ``sigma_a^2`` is estimated from few numbers and is rough; the
decomposition is for understanding and planning, and the interval of a
comparison comes from :func:`dropoutlib.experiments.compare.paired_difference`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["VarianceComponents", "variance_components"]


class VarianceComponents(NamedTuple):
    """Estimated variances of the run effect, the image effect and the residual (per observation)."""

    run: float
    image: float
    residual: float
    n_runs: int
    n_images: int

    def standard_error(self, n_runs: float | None = None, n_images: float | None = None) -> float:
        """``sqrt(run / R + image / N + residual / (R N))``, by default at the measured ``R`` and ``N``."""
        r = self.n_runs if n_runs is None else n_runs
        n = self.n_images if n_images is None else n_images
        if r <= 0 or n <= 0:
            raise ValueError(f"need positive numbers of runs and images, got {r!r} and {n!r}")
        return math.sqrt(self.run / r + self.image / n + self.residual / (r * n))

    def parts(self) -> dict[str, float]:
        """The three terms of the standard error at the measured sizes, as standard errors."""
        r, n = self.n_runs, self.n_images
        return {
            "runs": math.sqrt(self.run / r),
            "images": math.sqrt(self.image / n),
            "residual": math.sqrt(self.residual / (r * n)),
        }


def variance_components(d: ArrayLike) -> VarianceComponents:
    """Method-of-moments variance components of a ``(runs, images)`` array of paired differences."""
    d = np.asarray(d, np.float64)
    if d.ndim != 2 or min(d.shape) < 2:
        raise ValueError(f"need a (runs, images) array with at least 2 of each, got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError("the differences hold NaN or infinity")
    r, n = d.shape
    run_means, image_means, grand = d.mean(axis=1), d.mean(axis=0), d.mean()
    residual = d - run_means[:, None] - image_means[None, :] + grand
    ms_e = float((residual**2).sum() / ((r - 1) * (n - 1)))
    run = max(0.0, float(run_means.var(ddof=1)) - ms_e / n)
    image = max(0.0, float(image_means.var(ddof=1)) - ms_e / r)
    return VarianceComponents(run, image, ms_e, r, n)
