"""One look for every figure in the book, and the bands that show spread over seeds."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import numpy as np

__all__ = ["BOOK_STYLE", "band", "use_book_style"]

BOOK_STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "legend.frameon": False,
    "legend.fontsize": "small",
    "lines.linewidth": 1.6,
    "font.size": 10,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(
        color=["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
    ),
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (a colour-blind-safe palette, light grid).

    In a notebook it also switches the inline figures to PNG at twice the
    pixel density ("retina"), so that they stay sharp on high-resolution
    screens; the rendered book shows them at their nominal size.
    """
    mpl.rcParams.update(BOOK_STYLE)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def band(ax: Any, x: Any, samples: Any, label: str, color: str | None = None) -> Any:
    """Plot the mean over the first axis of ``samples`` with a +-1 standard deviation band.

    ``samples`` has shape ``(n_seeds, len(x))``; the standard deviation is the
    spread over seeds (``ddof=1``), which shows how much a rerun would
    differ, not the uncertainty of a comparison (see
    :mod:`dropoutlib.experiments.compare` for that). Returns the mean line.
    """
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2 or samples.shape[1] != len(x):
        raise ValueError(f"samples must have shape (n_seeds, {len(x)}), got {samples.shape}")
    mean = samples.mean(axis=0)
    spread = samples.std(axis=0, ddof=1) if samples.shape[0] > 1 else np.zeros_like(mean)
    (line,) = ax.plot(x, mean, label=label, color=color)
    ax.fill_between(x, mean - spread, mean + spread, color=line.get_color(), alpha=0.2, linewidth=0)
    return line
