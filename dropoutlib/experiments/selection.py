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

A choice at the end of a grid says less than one inside it: the best value
may lie beyond the values tried. :func:`on_grid_edge` names the
hyperparameters along which the chosen setting sits at an end.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["choose_by_validation", "on_grid_edge"]


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
      A dict from each method's name to its chosen column, the one with the
      lowest mean error over seeds (ties broken by the lowest mean loss, then
      by the position in the group).
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


def on_grid_edge(grid: Sequence[Mapping[str, float]], chosen: int) -> list[str]:
    """The hyperparameters along which setting ``chosen`` sits at an end of its grid.

    Args:
      grid: one mapping per setting, hyperparameter name -> value (every
        mapping with the same names), e.g. ``[{"l2": 1e-3, "l1": 3e-5}, ...]``;
        the grid need not be a full Cartesian product.
      chosen: the index of the chosen setting in ``grid``.

    Returns:
      The names, in the order of the mappings, of the hyperparameters that
      vary in the grid and along which the chosen setting is the smallest or
      the largest value among the settings that agree with it on every other
      varying hyperparameter (its line along that name). A line holding the
      chosen setting alone counts: nothing was tried on either side.
      Hyperparameters that take one value in the whole grid were not searched
      and are not reported.
    """
    if not grid:
        raise ValueError("the grid is empty")
    names = list(grid[0])
    if any(list(g) != names for g in grid):
        raise ValueError("every setting of the grid must name the same hyperparameters, in the same order")
    if not 0 <= chosen < len(grid):
        raise ValueError(f"chosen must index the grid of {len(grid)} settings, got {chosen!r}")
    varying = [n for n in names if len({float(g[n]) for g in grid}) > 1]
    edges = []
    for name in varying:
        others = [n for n in varying if n != name]
        line = [float(g[name]) for g in grid if all(float(g[o]) == float(grid[chosen][o]) for o in others)]
        value = float(grid[chosen][name])
        if value <= min(line) or value >= max(line):
            edges.append(name)
    return edges
