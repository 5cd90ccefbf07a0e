"""dropoutlib: dropout and its statistics, in JAX.

Pure functions, key first, in the style of ``jax.random``. ``rate`` is always
the DROP probability ``p``; ``q = 1 - p`` is the keep probability.

The core needs JAX alone: :func:`dropout` and :func:`gaussian_dropout`, the
keep-masks and their generators, one unit's moments, and the Binomial count
of dropped units. Two subpackages sit on top, each with its own extra:

* :mod:`dropoutlib.experiments` (``pip install dropoutlib[experiments]``):
  the digits data, the MLP, training and vmapped sweeps, the two
  parametrizations, ensembles, dropout as a penalty, and the paired
  comparison statistics;
* :mod:`dropoutlib.book` (``pip install dropoutlib[book]``): glue, figure
  style, tables, stored benchmark results and compiled-cost profiling for
  the book's notebooks.
"""

from dropoutlib.binomial import (
    chernoff_bound,
    dropped_count_cdf,
    dropped_count_chisquare,
    dropped_count_interval,
    dropped_count_logpmf,
    dropped_count_pmf,
    dropped_fraction_tail,
)
from dropoutlib.dropout import dropout, keep_probability
from dropoutlib.gaussian import gaussian_dropout
from dropoutlib.masks import IMPLS, keep_mask
from dropoutlib.moments import dropout_moments, variance_z_score, z_score

__all__ = [
    "IMPLS",
    "chernoff_bound",
    "dropout",
    "dropout_moments",
    "dropped_count_cdf",
    "dropped_count_chisquare",
    "dropped_count_interval",
    "dropped_count_logpmf",
    "dropped_count_pmf",
    "dropped_fraction_tail",
    "gaussian_dropout",
    "keep_mask",
    "keep_probability",
    "variance_z_score",
    "z_score",
]

__version__ = "0.2.0"
