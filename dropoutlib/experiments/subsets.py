"""Many training sets, one test set: runs that differ in the training images they see.

A comparison of two training set-ups (dropout against none, say) made on
one split of the data holds for that split's training images: another draw
of the training set can give another answer, and no number of seeds on the
one split measures how much. Here every **run** draws its own training set,
and all runs are scored on the **same** held-out images:

* the 1797 UCI digits are shuffled once by ``split_seed``; the first
  ``n_test`` images are the test set, which no run ever trains on, and the
  remaining ``1797 - n_test`` are the training **pool**;
* run ``r`` trains on ``train_size`` images drawn from the pool without
  replacement, by ``numpy.random.default_rng([split_seed, r])`` (all of the
  pool, in that random order, when ``train_size`` is None);
* every pixel is standardized with the mean and standard deviation of the
  run's own training images (a pixel constant there is only shifted), as
  :func:`dropoutlib.experiments.split_and_standardize` does, so no
  statistic of the test images or of the unused pool reaches training.

With ``split_seed=0`` and ``n_test=718`` the test set is exactly the
validation and test images of ``load_digits(seed=0)`` and the pool its 1079
training images.

Because every run is scored on one test set, the per-run, per-image scores
of two set-ups form two ``(runs, images)`` arrays, paired run by run (the
same training images, seed, initial weights, minibatches) and image by
image. :func:`dropoutlib.experiments.compare.paired_difference` resamples
runs and images independently (a two-way bootstrap); its interval then
covers the three sources of noise: the training set drawn, the seed, and
the finite test set. It is conditional on the pool and the test set: the
training sets are draws from one pool of images, not from the population
of all handwritten digits.

Nothing is tuned in such a comparison, so there is no validation split: the
returned ``Dataset.val`` is the test set again (the training loop's curves
then report it twice).

:func:`train_runs` trains several set-ups on every run, paired: all set-ups
of run ``r`` get the key ``jax.random.key(r)``, hence the same initial
weights, minibatches and dropout keys (see
:func:`~dropoutlib.experiments.hyper_variants`), and one vmapped
sweep per kind of noise. :func:`network_outputs` gives the trained networks'
test-mode logits and hidden activations on the test images.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dropoutlib.experiments.data import Dataset, Split
from dropoutlib.experiments.mlp import mlp_forward
from dropoutlib.experiments.train import Hyper, TrainConfig, hyper_variants, sweep

__all__ = ["N_DIGITS", "Runs", "pool_and_test_indices", "run_data", "network_outputs", "train_runs"]

N_DIGITS = 1797


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return np.asarray(bunch.data, np.float32), np.asarray(bunch.target)


def pool_and_test_indices(*, split_seed: int = 0, n_test: int = 718, n: int = N_DIGITS) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training pool and of the fixed test set among ``n`` images.

    The images are shuffled by ``numpy.random.default_rng(split_seed)``; the
    first ``n_test`` are the test set, the rest the pool, in shuffled order.
    """
    if not 0 < n_test < n:
        raise ValueError(f"n_test must be in [1, {n - 1}], got {n_test!r}")
    order = np.random.default_rng(split_seed).permutation(n)
    return order[n_test:], order[:n_test]


def run_data(run: int, train_size: int | None = None, *, split_seed: int = 0, n_test: int = 718) -> Dataset:
    """The data of run ``run``: its own training images from the pool, the common test set.

    Args:
      run: the run's index (a non-negative integer); it alone picks the
        training images, by ``default_rng([split_seed, run])``.
      train_size: how many pool images to train on; None for all of them.
      split_seed, n_test: see :func:`pool_and_test_indices`.

    Returns:
      ``Dataset(train, val, test)`` with ``val`` the same split as ``test``
      (nothing is tuned), every split standardized with the training images'
      statistics.
    """
    if int(run) < 0:
        raise ValueError(f"run must be a non-negative integer, got {run!r}")
    x, y = _digits()
    pool, test = pool_and_test_indices(split_seed=split_seed, n_test=n_test, n=x.shape[0])
    size = pool.size if train_size is None else int(train_size)
    if not 0 < size <= pool.size:
        raise ValueError(f"train_size must be in [1, {pool.size}] (the pool), got {train_size!r}")
    train = pool[np.random.default_rng([split_seed, int(run)]).permutation(pool.size)[:size]]
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std = np.where(std > 0, std, 1.0)

    def split(idx: np.ndarray) -> Split:
        return Split(jnp.asarray((x[idx] - mean) / std), jnp.asarray(y[idx], dtype=jnp.int32))

    held_out = split(test)
    return Dataset(split(train), held_out, held_out)


class Runs(NamedTuple):
    """Set-ups trained on several runs: parameters and curves with leading axes ``(runs, set-ups)``.

    ``curves[name]`` has shape ``(runs, set-ups, evaluations)`` (the
    metrics of :func:`~dropoutlib.experiments.sweep`), and
    ``curves["step"]`` the steps of the evaluations; ``test`` is the common
    test set, ``names`` the set-ups in order.
    """

    params: list
    curves: dict[str, np.ndarray]
    test: Split
    names: tuple[str, ...]


def train_runs(
    runs: Sequence[int],
    train_size: int | None,
    setups: Mapping[str, tuple[Hyper, str]],
    config: TrainConfig,
    *,
    split_seed: int = 0,
    n_test: int = 718,
) -> Runs:
    """Train every set-up on the data of every run (:func:`run_data`), paired within a run.

    ``setups`` maps a name to ``(hyper, noise)``, ``noise`` being
    ``"bernoulli"`` (dropout) or ``"gaussian"`` (the ``noise`` of
    :class:`~dropoutlib.experiments.train.TrainConfig`, which replaces
    ``config.noise``). Run ``r`` trains all its set-ups from the key
    ``jax.random.key(r)``: the same initialization, minibatches and noise
    keys. Set-ups with the same noise share one vmapped sweep.
    """
    if not runs or not setups:
        raise ValueError("need at least one run and one set-up")
    names = tuple(setups)
    groups: dict[str, list[str]] = {}
    for name, (_, noise) in setups.items():
        groups.setdefault(noise, []).append(name)
    params, curves, test = [], [], None
    for run in runs:
        data = run_data(int(run), train_size, split_seed=split_seed, n_test=n_test)
        test = data.test
        trained = {}
        for noise, members in groups.items():
            keys, hypers, shape = hyper_variants([int(run)], [setups[m][0] for m in members])
            result = sweep(keys, data, hypers, config._replace(noise=noise), grid_shape=shape)
            for j, member in enumerate(members):
                trained[member] = (
                    jax.tree.map(lambda leaf: np.asarray(leaf[0, j]), result.params),
                    {k: v[0, j] for k, v in result.curves.items() if k != "step"},
                    result.curves["step"],
                )
        params.append(jax.tree.map(lambda *leaves: np.stack(leaves), *(trained[n][0] for n in names)))
        curves.append({k: np.stack([trained[n][1][k] for n in names]) for k in trained[names[0]][1]})
        steps = trained[names[0]][2]
    stacked = jax.tree.map(lambda *leaves: np.stack(leaves), *params)
    curve_arrays = {k: np.stack([c[k] for c in curves]) for k in curves[0]}
    curve_arrays["step"] = steps
    return Runs(stacked, curve_arrays, test, names)


def network_outputs(params: list, x: jax.Array) -> tuple[np.ndarray, list[np.ndarray]]:
    """Test-mode logits and hidden activations of a grid of networks on inputs ``x``.

    ``params`` has leading axes ``(runs, set-ups)``. The test-mode pass of
    an inverted-dropout or Gaussian-noise network is the plain network, so
    no rate is needed (a direct-dropout network would need its ``q``).
    Returns logits ``(runs, set-ups, examples, classes)`` and one
    ``(runs, set-ups, examples, units)`` array per hidden layer.
    """
    logits, hidden = jax.jit(jax.vmap(jax.vmap(lambda p: mlp_forward(p, x))))(params)
    return np.asarray(logits), [np.asarray(h) for h in hidden]
