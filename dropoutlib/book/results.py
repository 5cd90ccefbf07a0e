"""Stored benchmark results: measured by ``benchmarks/``, shown by the chapters.

No timing is taken inside a cell whose output the regression test compares;
the chapters read the numbers from here. They ship with the package, so the
chapters also run on Colab.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["load_result"]


def load_result(name: str) -> dict[str, Any]:
    """A benchmark's stored results, ``dropoutlib/book/results/<name>.json``."""
    path = resources.files("dropoutlib.book") / "results" / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no stored benchmark result named {name!r} (looked for {path})")
    return json.loads(path.read_text())
