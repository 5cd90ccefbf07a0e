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


def band(ax: Any, x: Any, samples: Any, label: str, color: str | None = None) -> Any:
    """Plot the mean over the first axis of ``samples`` with a +-1 standard deviation band.

    ``samples`` has shape ``(n_seeds, len(x))``; the standard deviation is the
    spread over seeds (``ddof=1``), the honest error bar for "how much would a
    rerun differ". Returns the mean line.
    """
    import numpy as np

    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2 or samples.shape[1] != len(x):
        raise ValueError(f"samples must have shape (n_seeds, {len(x)}), got {samples.shape}")
    mean = samples.mean(axis=0)
    spread = samples.std(axis=0, ddof=1) if samples.shape[0] > 1 else np.zeros_like(mean)
    (line,) = ax.plot(x, mean, label=label, color=color)
    ax.fill_between(x, mean - spread, mean + spread, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def mean_std(values: Any, digits: int = 2, scale: float = 1.0) -> str:
    """``"m ± s"`` of ``values`` (times ``scale``), ``s`` the spread over seeds (ddof=1)."""
    import numpy as np

    values = np.asarray(values, dtype=float).ravel() * scale
    spread = values.std(ddof=1) if values.size > 1 else 0.0
    return f"{values.mean():.{digits}f} ± {spread:.{digits}f}"


def load_result(name: str) -> dict[str, Any]:
    """A benchmark's stored results, ``dropoutlib/results/<name>.json``.

    Timings are measured by the scripts in ``benchmarks/`` and stored with the
    machine that produced them; chapters read them from here, so no timing
    is taken inside a cell whose output the regression test compares. They
    ship with the package, so the chapters also run on Colab.
    """
    import json
    from importlib import resources

    path = resources.files("dropoutlib") / "results" / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no stored benchmark result named {name!r} (looked for {path})")
    return json.loads(path.read_text())


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
