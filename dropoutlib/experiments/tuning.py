"""Choosing the learning rate and the stopping step on the validation split, scoring on the test split.

Comparing two retain probabilities at one shared learning rate and one
shared number of steps can reward the set-up that happens to suit that
learning rate, and a set-up that learns slowly (a low retain probability)
would lose because it is under-trained, not because it is worse. The fair
protocol gives each set-up its own best learning rate and stopping step,
chosen on data that the comparison does not score:

1. :func:`sweep_scored` trains a grid (every set-up at every candidate
   learning rate) like :func:`~dropoutlib.experiments.sweep`, and at
   every evaluation (each ``eval_every`` steps) it also keeps every
   configuration's per-example **test** scores;
2. :func:`choose_on_validation` picks, for each set-up of each run, the
   candidate (learning rate, evaluation step) with the lowest
   **validation** error, ties broken by the lower validation loss;
3. the test scores at the chosen candidates are what the set-ups are
   compared on (:func:`~dropoutlib.experiments.compare.paired_difference`).

The test split plays no part in the choice, so the test error of the
chosen candidate is an unbiased estimate of the error of the whole
procedure (train, choose on validation, stop). Each run chooses on its own
validation split, so the spread over runs includes the noise of the choice.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dropoutlib.experiments.data import Dataset, Split
from dropoutlib.experiments.mlp import mlp_apply

# The training program itself (initialization, segments of steps) is the
# one of `train.sweep`, reused rather than copied, so the two cannot drift.
from dropoutlib.experiments.train import (
    METRICS,
    Hyper,
    TrainConfig,
    _check_data,
    _init_compiled,
    _rates,
    _segment_compiled,
    check_hyper,
    hyper_variants,
)

__all__ = ["Chosen", "ScoredSweep", "choose_on_validation", "stack_runs", "sweep_runs", "sweep_scored"]


class ScoredSweep(NamedTuple):
    """Learning curves plus the per-example test scores at every evaluation.

    ``curves[name]`` has shape ``grid_shape + (n_evals,)`` (the metrics of
    ``dropoutlib.experiments.train.METRICS``); ``test_correct`` and
    ``test_loss`` have shape ``grid_shape + (n_evals, n_test)``: 1.0 where
    the configuration classifies test example ``i`` correctly after
    ``steps[e]`` steps, and its cross-entropy there. ``steps`` has shape
    ``(n_evals,)``.
    """

    curves: dict
    test_correct: np.ndarray
    test_loss: np.ndarray
    steps: np.ndarray


@functools.partial(jax.jit, static_argnames=("config",))
def _test_scores(params, hypers: Hyper, split: Split, *, config: TrainConfig):
    def one(p, h):
        return mlp_apply(
            p,
            split.x,
            rates=_rates(config, h),
            inverted=config.inverted,
            train=False,
            activation=config.activation,
            active_units=h.hidden_units,
        )

    logits = jax.vmap(one)(params, hypers)
    correct = (jnp.argmax(logits, axis=-1) == split.y).astype(jnp.float32)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.broadcast_to(split.y, logits.shape[:-1]))
    return correct, loss


def sweep_scored(
    keys: jax.Array,
    data: Dataset,
    hypers: Hyper,
    config: TrainConfig,
    *,
    grid_shape: Sequence[int] | None = None,
) -> ScoredSweep:
    """Train a batch of configurations like :func:`~dropoutlib.experiments.sweep`, keeping test scores.

    The training is :func:`~dropoutlib.experiments.sweep`'s own (the
    same compiled initialization and training segments), so ``curves`` are
    identical to ``sweep(...).curves``. After each segment of
    ``config.eval_every`` steps every configuration is also scored on each
    test example in test mode. Runs on one device.
    """
    batch = keys.shape[0]
    grid_shape = tuple(grid_shape) if grid_shape is not None else (batch,)
    if math.prod(grid_shape) != batch:
        raise ValueError(f"grid_shape {grid_shape} does not hold {batch} configurations")
    config = config.validate()
    _check_data(data)
    hypers = Hyper(*(jnp.broadcast_to(jnp.asarray(v, jnp.float32), (batch,)) for v in hypers))
    check_hyper(hypers)
    state = _init_compiled(keys, hypers, data, config=config, batched=True)
    history, correct, loss = [], [], []
    for _ in range(config.steps // config.eval_every):
        state, metrics = _segment_compiled(state, hypers, data, config=config, batched=True)
        history.append(metrics)
        c, l = _test_scores(state.params, hypers, data.test, config=config)
        correct.append(np.asarray(c))
        loss.append(np.asarray(l))
    curves = {name: np.stack([np.asarray(m[name]) for m in history], axis=-1).reshape(grid_shape + (-1,)) for name in METRICS}
    n_test = data.test.x.shape[0]
    steps = np.arange(1, len(history) + 1) * config.eval_every
    return ScoredSweep(
        curves,
        np.stack(correct, axis=1).reshape(grid_shape + (len(history), n_test)),
        np.stack(loss, axis=1).reshape(grid_shape + (len(history), n_test)),
        steps,
    )


def stack_runs(runs: Sequence[ScoredSweep]) -> ScoredSweep:
    """Stack the results of several runs (one per data split) along a new leading axis."""
    if not runs:
        raise ValueError("runs is empty")
    if any(not np.array_equal(r.steps, runs[0].steps) for r in runs):
        raise ValueError("the runs evaluated at different steps")
    curves = {name: np.stack([r.curves[name] for r in runs]) for name in runs[0].curves}
    return ScoredSweep(
        curves,
        np.stack([r.test_correct for r in runs]),
        np.stack([r.test_loss for r in runs]),
        runs[0].steps,
    )


def sweep_runs(
    runs: Sequence[int],
    variants: Sequence[Hyper] | Callable[[int], Sequence[Hyper]],
    learning_rates: Sequence[float] | None,
    config: TrainConfig,
    data_for: Callable[[int], Dataset],
) -> ScoredSweep:
    """Every variant at every learning rate, in each run; grid ``(runs, variants, learning rates)``.

    Run ``r`` trains on ``data_for(r)`` (its own data split) with the key
    ``jax.random.key(r)``, shared by all its configurations: within a run the
    variants are paired (same initialization, batches and dropout masks).
    One :func:`sweep_scored` call per run; with data of equal shapes they all
    reuse one compiled program.

    ``variants`` may also be a function of the run ``r`` (the same number of
    variants in every run), and ``learning_rates`` may be ``None``: then each
    variant trains at its own ``learning_rate`` only (a candidate axis of
    length 1), for instance the rate that run chose in an earlier sweep.
    """
    results = []
    for r in runs:
        run_variants = list(variants(r) if callable(variants) else variants)
        rates = [None] if learning_rates is None else [float(lr) for lr in learning_rates]
        grid = [v if lr is None else v._replace(learning_rate=lr) for v in run_variants for lr in rates]
        keys, hypers, _ = hyper_variants([r], grid)
        results.append(sweep_scored(keys, data_for(r), hypers, config, grid_shape=(len(run_variants), len(rates))))
    return stack_runs(results)


class Chosen(NamedTuple):
    """What :func:`choose_on_validation` picked, per set-up and run.

    Every field has the sweep's leading shape (all grid axes but the
    candidate axes): ``candidate`` the index of the chosen candidate axis
    value (a learning rate, say), ``step`` the chosen stopping step, and
    ``train_error``, ``val_error``, ``test_error`` the errors there
    (fractions). ``test_correct`` and ``test_loss`` add the test-example
    axis: the scores to compare.
    """

    candidate: np.ndarray
    step: np.ndarray
    train_error: np.ndarray
    val_error: np.ndarray
    test_error: np.ndarray
    test_correct: np.ndarray
    test_loss: np.ndarray


def choose_on_validation(scored: ScoredSweep, candidate_axis: int = -1) -> Chosen:
    """For each set-up, the (candidate, evaluation step) with the lowest validation error.

    ``candidate_axis`` names the grid axis whose values compete (the
    learning rate); every evaluation step competes as well. The winner has
    the lowest validation error; among equal errors (one validation image is
    a step of ``1 / n_val``), the lowest validation loss. Nothing measured
    on the test split enters the choice.
    """
    val_acc = scored.curves["val_acc"]
    axis = candidate_axis % (val_acc.ndim - 1)

    def last(a: np.ndarray, extra: int = 0) -> np.ndarray:
        """Move the candidate axis next to the evaluation axis, then merge the two."""
        a = np.moveaxis(a, axis, val_acc.ndim - 2)
        lead = a.shape[: val_acc.ndim - 2]
        return a.reshape(lead + (-1,) + a.shape[val_acc.ndim :] if extra else lead + (-1,))

    val_error = last(1.0 - val_acc)
    val_loss = last(scored.curves["val_loss"])
    tied = val_error == val_error.min(axis=-1, keepdims=True)
    best = np.argmin(np.where(tied, val_loss, np.inf), axis=-1)
    n_evals = val_acc.shape[-1]

    def pick(a: np.ndarray, extra: int = 0) -> np.ndarray:
        flat = last(a, extra)
        index = best.reshape(best.shape + (1,) * (1 + extra))
        return np.take_along_axis(flat, index, axis=best.ndim).squeeze(best.ndim)

    return Chosen(
        candidate=best // n_evals,
        step=scored.steps[best % n_evals],
        train_error=pick(1.0 - scored.curves["train_acc"]),
        val_error=pick(1.0 - val_acc),
        test_error=pick(1.0 - scored.curves["test_acc"]),
        test_correct=pick(scored.test_correct, extra=1),
        test_loss=pick(scored.test_loss, extra=1),
    )
