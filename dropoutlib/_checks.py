"""Input validation shared by the public functions.

JAX cannot look inside a traced value, so every check here has two branches:
a concrete value (a Python number or a materialized array) is checked eagerly
and rejected with a message that names it; a traced value (under ``jit``,
``vmap`` or ``grad``) passes through, because it only exists at run time.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np


def is_traced(value: Any) -> bool:
    """True when ``value`` is an abstract tracer, i.e. it has no number yet."""
    return isinstance(value, jax.core.Tracer)


def check_probability(value: Any, name: str) -> None:
    """Reject a concrete ``value`` that is not a scalar probability in [0, 1].

    NaN is rejected too: ``0 <= nan <= 1`` is False, which is exactly why the
    comparison is written in this positive form.
    """
    if is_traced(value):
        return
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got an array of shape {np.shape(value)}: {value!r}")
    try:
        as_float = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from error
    if not 0.0 <= as_float <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


def normalize_axes(axes: int | Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    """Turn ``axes`` into sorted non-negative axis numbers of an ``ndim``-array.

    Raises ValueError for an axis out of range or given twice, naming it.
    """
    if isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    normalized = []
    for axis in axes:
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise ValueError(f"{name} must hold integers, got {axis!r} in {tuple(axes)!r}")
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"{name} holds axis {axis}, which is out of range for an array with {ndim} dimensions"
            )
        normalized.append(int(axis) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name} names an axis twice: {tuple(axes)!r}")
    return tuple(sorted(normalized))
