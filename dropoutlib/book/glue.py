"""Numbers for the book's prose, in myst-nb's glue format, with or without myst-nb.

A sentence of the book that states a number reads it from a glued value
(``{glue:text}`name:.2f```), so the prose and the computation cannot drift
apart, and nbval, which compares the glue records, sees every such number.

The record is what ``myst_nb.glue`` writes: a display output whose MIME
types carry the prefix ``application/papermill.record/`` and whose metadata
names it. It is written here without importing myst-nb, so a notebook's
outputs are the same in the book's environment and in a fresh Colab
runtime, where front ends show nothing for the prefixed types.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["GLUE_PREFIX", "glue", "glue_all"]

GLUE_PREFIX = "application/papermill.record/"


def _plain(value: Any) -> Any:
    """A plain Python number or string, so the stored record reads as one."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def glue(name: str, value: Any, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the book's prose (``{glue:}`name```).

    NumPy and JAX scalars are turned into plain Python numbers first. With
    ``display=True`` the value is also shown. Outside IPython there is
    nothing to record into, so nothing happens.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    from IPython.display import display as ipython_display

    bundle, metadata = shell.display_formatter.format(_plain(value))
    prefix = "" if display else GLUE_PREFIX
    metadata = {**metadata, "scrapbook": {"name": name, "mime_prefix": prefix}}
    ipython_display({prefix + mime: data for mime, data in bundle.items()}, raw=True, metadata=metadata)


def glue_all(values: Mapping[str, Any]) -> None:
    """Glue every ``name: value`` of ``values``: one line in a cell instead of one per number."""
    for name, value in values.items():
        glue(name, value)
