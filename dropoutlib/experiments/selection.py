"""Choosing each method's setting on the validation split, the way a results table is built.

A table of regularizers gives each method a small grid of its own settings
(L2 strengths, max-norm radii, ...), trains every setting with the same
seeds, picks per method the setting with the lowest mean **validation**
error, and reports that setting's **test** error. The test split plays no
part in the choice, so the reported test error is not selected on.

Validation errors of a few hundred images are multiples of ``1 / n_val``
averaged over seeds, so two settings often tie exactly; the tie goes to the
lower mean validation loss (a continuous score), and only then to the
setting listed first.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["choose_by_validation"]


def choose_by_validation(
    val_error: Any,
    val_loss: Any,
    groups: Mapping[str, Sequence[int]],
) -> dict[str, int]:
    """For each named group of settings, the index of its best setting on validation.

    Args:
      val_error: shape ``(seeds, settings)``, each run's validation error.
      val_loss: shape ``(seeds, settings)``, each run's validation loss, the
        tie-breaker.
      groups: method name -> the setting indices (columns) of its grid.

    Returns:
      Method name -> the chosen column: lowest mean error over seeds, ties
      broken by the lowest mean loss, then by the position in the group.
    """
    error = np.asarray(val_error, np.float64)
    loss = np.asarray(val_loss, np.float64)
    if error.ndim != 2 or error.shape != loss.shape:
        raise ValueError(f"need val_error and val_loss of one shape (seeds, settings), got {error.shape} and {loss.shape}")
    if not (np.all(np.isfinite(error)) and np.all(np.isfinite(loss))):
        raise ValueError("validation scores hold NaN or infinity: a diverged run cannot be ranked")
    # Errors are counts over a finite split; rounding merges float round-off
    # (k/359 in float32, summed in another order) into the exact ties it is.
    mean_error, mean_loss = np.round(error.mean(axis=0), 9), loss.mean(axis=0)
    chosen = {}
    for name, columns in groups.items():
        columns = [int(c) for c in columns]
        if not columns or min(columns) < 0 or max(columns) >= error.shape[1]:
            raise ValueError(f"group {name!r} needs column indices in [0, {error.shape[1]}), got {columns}")
        # Lexicographic: error first, then loss, then the order given.
        chosen[name] = min(columns, key=lambda c: (mean_error[c], mean_loss[c], columns.index(c)))
    return chosen
