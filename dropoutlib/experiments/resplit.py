"""Data for claims about a method: one fixed test set, a fresh training/validation split per run.

A claim such as "retaining half of the hidden units beats retaining a fifth"
is about dropout, not about one particular training set. The runs that test
it should therefore differ in their training data as well as in their
seeds. :func:`resplit_digits` keeps the **test** images fixed (those of
:func:`~dropoutlib.experiments.load_digits` with ``seed=test_seed``)
and deals the remaining images into validation and training afresh for
every ``split_seed``. Run ``r`` uses split ``r`` and seed ``r``; every
set-up compared within run ``r`` shares its data, initialization, batch
order and dropout masks (the pairing), and every run is scored on the same
test images. So the per-run, per-test-image scores form a crossed
``(runs, test images)`` array, exactly what the two-way bootstrap of
:func:`~dropoutlib.experiments.compare.paired_difference` resamples: its
interval covers the training data and seed (the runs) and the finite test
set (the images).

:func:`tile_train` serves data-size experiments. A training split of ``n``
examples, each repeated ``k`` times, has ``k n`` rows; a batch row drawn
uniformly from them is a uniformly drawn example, so training on the tiled
split is training on the ``n`` examples (in distribution; the draws
differ), while the array shape is the same for every ``n`` that divides
the row count. One compiled program then trains every size.
"""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from dropoutlib.experiments.data import Dataset, Split, checked_split_sizes, standardized_dataset

__all__ = ["resplit", "resplit_digits", "tile_train"]


def resplit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    split_seed: int,
    test_seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    train_size: int | None = None,
) -> Dataset:
    """A fixed test split and a training/validation split drawn by ``split_seed``.

    The test examples are the first ``round(n * test_fraction)`` of the
    permutation ``default_rng(test_seed).permutation(n)``, the rule of
    :func:`~dropoutlib.experiments.split_and_standardize`, so they do
    not depend on ``split_seed``. The other examples are permuted by
    ``default_rng([test_seed, split_seed])``; the first
    ``round(n * val_fraction)`` are the validation split, the rest the
    training split, of which ``train_size`` (if given) keeps the first.
    Each feature is standardized with the mean and standard deviation of
    the training split (constant features are only shifted).
    """
    x, y, n, n_val, n_test = checked_split_sizes(x, y, val_fraction, test_fraction, train_size)
    order = np.random.default_rng(test_seed).permutation(n)
    test_idx, rest = order[:n_test], order[n_test:]
    rest = rest[np.random.default_rng([test_seed, split_seed]).permutation(rest.size)]
    val_idx, train_idx = rest[:n_val], rest[n_val:]
    if train_size is not None:
        train_idx = train_idx[:train_size]
    return standardized_dataset(x, y, train_idx, val_idx, test_idx)


def resplit_digits(*, split_seed: int, test_seed: int = 0, train_size: int | None = None) -> Dataset:
    """The 1797 UCI digits: 359 fixed test images, 359 validation and 1079 training images per ``split_seed``.

    The test images are those of ``load_digits(seed=test_seed)``. See
    :func:`resplit` for the rules.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return resplit(bunch.data, bunch.target, split_seed=split_seed, test_seed=test_seed, train_size=train_size)


def tile_train(data: Dataset, rows: int) -> Dataset:
    """``data`` with its training split repeated to exactly ``rows`` rows.

    ``rows`` must be a multiple of the number ``n`` of training examples;
    each example then appears ``rows / n`` times, so a uniformly drawn row
    is a uniformly drawn example, the full-batch gradient is unchanged, and
    the training accuracy and loss (means over rows) are those of the ``n``
    examples. Validation and test splits are untouched.
    """
    n = data.train.x.shape[0]
    if rows <= 0 or rows % n:
        raise ValueError(f"rows ({rows}) must be a positive multiple of the {n} training examples")
    reps = rows // n
    train = Split(jnp.tile(data.train.x, (reps, 1)), jnp.tile(data.train.y, reps))
    return data._replace(train=train)
