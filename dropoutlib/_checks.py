"""Input validation shared by the public functions.

JAX cannot look inside a traced value, so the checks of a VALUE have two
branches: a concrete value (a Python number or a materialized array) is
checked eagerly and rejected with a message that names it; a traced value
(under ``jit``, ``vmap`` or ``grad``) passes, because it only exists at run
time (:func:`dropoutlib.dropout` then offers ``checkify`` instead). Checks of
a SHAPE or DTYPE never need the value, so they hold under tracing too.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["check_key", "check_probability", "is_traced", "normalize_axes"]


def is_traced(value: Any) -> bool:
    """True when ``value`` is an abstract tracer, i.e. it has no number yet."""
    return isinstance(value, jax.core.Tracer)


def check_probability(value: Any, name: str) -> None:
    """Reject a ``value`` that is not a scalar real probability in [0, 1].

    Strings and bools are rejected even though Python would convert them
    (``float("0.5")``, ``True == 1``): either is almost surely a mistake. The
    range is checked only for a concrete value. NaN is rejected too:
    ``0 <= nan <= 1`` is False, which is why the test is written in this
    positive form.
    """
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (bool, np.bool_)) or (dtype is not None and dtype == jnp.bool_):
        raise TypeError(f"{name} must be a real number in [0, 1], got the bool {value!r}")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number in [0, 1], got the string {value!r}")
    if dtype is not None and not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
        raise TypeError(f"{name} must be a real number in [0, 1], got dtype {dtype}: {value!r}")
    if dtype is None and not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {type(value).__name__} {value!r}")
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got an array of shape {np.shape(value)}: {value!r}")
    if is_traced(value):
        return
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


def check_key(key: Any, name: str = "key") -> None:
    """Reject anything but ONE ``jax.random`` key, as ``jax.random`` does.

    A typed key (``jax.random.key``) must have shape ``()``; a raw legacy
    key (``jax.random.PRNGKey``) must be ``uint32[2]``. A batch of keys is
    refused rather than silently reduced to its first key: ``jax.vmap`` over
    the keys is the way to use many.
    """
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is None or shape is None:
        raise TypeError(f"{name} must be a jax.random key, got {type(key).__name__} {key!r}")
    if jnp.issubdtype(dtype, jax.dtypes.prng_key):
        if shape != ():
            raise ValueError(
                f"{name} must be a single key, got a batch of keys of shape {shape}; "
                "use jax.vmap over the keys to apply one per row"
            )
        return
    if dtype == jnp.uint32 and shape == (2,):
        return
    if dtype == jnp.uint32 and len(shape) >= 2 and shape[-1] == 2:
        raise ValueError(
            f"{name} must be a single key, got a batch of raw keys of shape {shape}; "
            "use jax.vmap over the keys to apply one per row"
        )
    raise ValueError(
        f"{name} must be a jax.random key (jax.random.key(seed), or a raw uint32[2] from "
        f"jax.random.PRNGKey), got an array of dtype {dtype} and shape {shape}"
    )


def normalize_axes(axes: int | Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    """Turn ``axes`` into sorted non-negative axis numbers of an ``ndim``-array.

    Raises ValueError for an axis that is not an integer (a bool included),
    out of range or given twice, naming it.
    """
    if isinstance(axes, (bool, np.bool_)) or isinstance(axes, (int, np.integer)):
        axes = (axes,)
    try:
        axes = tuple(axes)
    except TypeError as error:
        raise ValueError(f"{name} must be an integer or a sequence of integers, got {axes!r}") from error
    normalized = []
    for axis in axes:
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"{name} must hold integers, got {axis!r} in {axes!r}")
        if not -ndim <= axis < ndim:
            raise ValueError(f"{name} holds axis {axis}, which is out of range for an array with {ndim} dimensions")
        normalized.append(int(axis) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name} names an axis twice: {axes!r}")
    return tuple(sorted(normalized))
