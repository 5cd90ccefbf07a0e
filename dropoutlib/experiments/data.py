"""A real, small data set that needs no network: the UCI handwritten digits.

scikit-learn ships the 1797 8x8 grey-level digit images of the UCI
repository, so the book's experiments run offline, on two CPU cores, in
seconds. Splits are deterministic for a seed, and standardization is fitted
on the training split only, so no statistic of the validation or test
images leaks into training.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

__all__ = ["N_CLASSES", "Dataset", "Split", "load_digits", "split_and_standardize"]

N_CLASSES = 10


class Split(NamedTuple):
    """Inputs ``x`` of shape (examples, features) and integer labels ``y``."""

    x: jnp.ndarray
    y: jnp.ndarray


class Dataset(NamedTuple):
    """Train, validation and test splits (a pytree, so it can enter ``jit``)."""

    train: Split
    val: Split
    test: Split


def standardized_dataset(
    x: np.ndarray, y: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray, test_idx: np.ndarray
) -> Dataset:
    """The three splits, every feature standardized with the training split's statistics.

    Each feature is shifted by the training mean and divided by the training
    standard deviation; features constant on the training split are only shifted.
    """
    mean = x[train_idx].mean(axis=0)
    std = x[train_idx].std(axis=0)
    std = np.where(std > 0, std, 1.0)

    def split(idx: np.ndarray) -> Split:
        return Split(jnp.asarray((x[idx] - mean) / std), jnp.asarray(y[idx], dtype=jnp.int32))

    return Dataset(split(train_idx), split(val_idx), split(test_idx))


def checked_split_sizes(
    x: Any, y: Any, val_fraction: float, test_fraction: float, train_size: int | None
) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """Validate a split request; return ``x`` (float32), ``y``, ``n``, ``n_val``, ``n_test``.

    Shared by every splitter, so that they refuse the same bad requests with
    the same words: mismatched shapes, a fraction outside (0, 1), a split left
    empty, a ``train_size`` larger than the training split.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x must be (examples, features) and y (examples,), got shapes {x.shape} and {y.shape}")
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {fraction!r}")
    n = x.shape[0]
    n_val, n_test = int(round(n * val_fraction)), int(round(n * test_fraction))
    n_train = n - n_val - n_test
    if min(n_val, n_test, n_train) <= 0:
        raise ValueError(f"splitting {n} examples with val_fraction={val_fraction}, test_fraction={test_fraction} leaves an empty split")
    if train_size is not None and not 0 < train_size <= n_train:
        raise ValueError(f"train_size must be in [1, {n_train}], got {train_size!r}")
    return x, y, n, n_val, n_test


def split_and_standardize(
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    train_size: int | None = None,
) -> Dataset:
    """Shuffle by ``seed``, cut into train/validation/test, standardize on train.

    ``train_size`` keeps only the first ``train_size`` training examples (for
    data-size experiments); validation and test are unchanged, so results at
    different sizes are measured on the same images. Each feature is shifted
    and scaled by the mean and standard deviation of the (possibly reduced)
    training split; features that are constant there are only shifted.
    """
    x, y, n, n_val, n_test = checked_split_sizes(x, y, val_fraction, test_fraction, train_size)

    order = np.random.default_rng(seed).permutation(n)
    test_idx, val_idx, train_idx = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    if train_size is not None:
        train_idx = train_idx[:train_size]
    return standardized_dataset(x, y, train_idx, val_idx, test_idx)


def load_digits(
    *, seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2, train_size: int | None = None
) -> Dataset:
    """The 1797 UCI digits (64 pixels, 10 classes), split and standardized.

    With the default fractions: 1079 training, 359 validation and 359 test
    images. See :func:`split_and_standardize` for the rules.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return split_and_standardize(
        bunch.data, bunch.target, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction, train_size=train_size
    )
