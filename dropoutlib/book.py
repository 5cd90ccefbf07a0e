"""Helpers the book's notebooks share: glue, and one figure style.

Nothing here is needed to use dropout; it keeps the notebooks short and
consistent, and lets them run where the book's toolchain is absent (Colab).
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl

# One look for every figure in the book.
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
    """Apply the book's matplotlib style (a colour-blind-safe palette, light grid)."""
    mpl.rcParams.update(BOOK_STYLE)


def glue(name: str, value: Any, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the book's prose (``{glue:}`name```).

    Uses myst-nb's ``glue`` when it is installed. Where it is not (a plain
    Jupyter or Colab kernel) the value is not recorded, because nothing would
    read it; with ``display=True`` it is still shown. Glue plain Python numbers
    (``float(x)``, ``int(x)``) so the stored record reads as a number.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as ipython_display

            ipython_display(value)
        return
    myst_glue(name, value, display=display)
