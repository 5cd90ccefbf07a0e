"""Numbers as the book prints them: rounded to what carries meaning."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["mean_std"]


def mean_std(values: Any, digits: int = 2, scale: float = 1.0) -> str:
    """``"m ± s"`` of ``values`` (times ``scale``), ``s`` the spread over seeds (ddof=1)."""
    values = np.asarray(values, dtype=float).ravel() * scale
    spread = values.std(ddof=1) if values.size > 1 else 0.0
    return f"{values.mean():.{digits}f} ± {spread:.{digits}f}"
