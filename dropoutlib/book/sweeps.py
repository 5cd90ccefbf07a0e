"""Drawing a learning-rate sweep: error curves with bands, and diverged runs shown as diverged."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["sweep_curve", "sweep_table_row"]


def sweep_curve(
    ax: Any,
    grid: Sequence[float],
    errors: Any,
    failed: Any,
    *,
    label: str,
    color: str,
    diverged_at: float,
    scale: float = 100.0,
    linestyle: str = "-",
) -> None:
    """One curve of a sweep: the mean error over seeds, a +-1 sd band, and a marker where runs diverged.

    ``errors`` has shape ``(seeds, grid, examples)`` (1 = wrong) and
    ``failed`` ``(seeds, grid)``. The curve and its band (the spread of the
    per-seed error rates, ``ddof=1``) are drawn only where no seed
    diverged; at every other grid point an ``x`` marker at height
    ``diverged_at`` carries the number of diverged seeds, so a diverged run
    is shown, never clipped off the axis or averaged into a curve.
    """
    grid = np.asarray(grid, float)
    per_seed = scale * np.asarray(errors, float).mean(axis=-1)
    failed = np.asarray(failed, bool)
    ok = ~failed.any(axis=0)
    mean = np.where(ok, per_seed.mean(axis=0), np.nan)
    spread = np.where(ok, per_seed.std(axis=0, ddof=1), np.nan)
    ax.plot(grid, mean, linestyle, marker="o", ms=3, color=color, label=label)
    ax.fill_between(grid, mean - spread, mean + spread, color=color, alpha=0.2, linewidth=0)
    bad = ~ok
    ax.plot(grid[bad], np.full(bad.sum(), diverged_at), "x", color=color, ms=5)
    for g, n in zip(grid[bad], failed[:, bad].sum(axis=0)):
        ax.annotate(str(n), (g, diverged_at), textcoords="offset points", xytext=(4, 2), fontsize=6, color=color)


def sweep_table_row(errors: Any, failed: Any, *, scale: float = 100.0, digits: int = 1) -> list[str]:
    """The cells of one sweep curve for a table: the mean error, or ``"dN"`` where N seeds diverged."""
    per_point = scale * np.asarray(errors, float).mean(axis=(0, -1))
    counts = np.asarray(failed, bool).sum(axis=0)
    return [f"d{n}" if n else f"{e:.{digits}f}" for e, n in zip(per_point, counts)]
