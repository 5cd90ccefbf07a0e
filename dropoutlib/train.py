"""Training small MLPs with dropout, one at a time or a whole grid at once.

A run is a pure function of ``(key, data, hyper)`` for a static ``config``:

* ``TrainConfig`` holds what changes the *program* (layer sizes, number of
  steps, optimizer, activation, direct or inverted dropout) and is static;
* ``Hyper`` holds what only changes *numbers* (dropout rates, learning rate,
  L2 and L1 strength, max-norm radius) and may be traced. That is what makes
  a sweep a single ``jax.vmap``: one compiled program trains every
  configuration of a grid side by side.

Each step draws a fresh dropout mask from ``fold_in(dropout_key, step)``
(reusing one key would freeze one mask forever, a classic bug), takes a
gradient of the cross-entropy plus the weight penalty, applies the optax
update, and projects onto the max-norm ball. The steps run inside
``jax.lax.scan``; every ``eval_every`` steps the network is evaluated in test
mode on all three splits.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import sys
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.std import tqdm

from dropoutlib._checks import is_traced
from dropoutlib.data import N_CLASSES, Dataset
from dropoutlib.dropout import IMPLS
from dropoutlib.mlp import ACTIVATIONS, NOISES, init_mlp, max_norm, mlp_apply, weight_penalty

OPTIMIZERS = ("sgd", "momentum", "adam")
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "weight_norm")


class TrainConfig(NamedTuple):
    """The static part of a run: changing it recompiles."""

    hidden: tuple[int, ...] = (256,)
    steps: int = 1000
    eval_every: int = 50
    batch_size: int | None = None  # None: full-batch gradient descent
    optimizer: str = "sgd"  # "sgd", "momentum" or "adam"
    momentum: float = 0.9
    activation: str = "relu"
    inverted: bool = True
    impl: str = "hash"  # dropout mask generator: "hash" (default) or "bernoulli"
    noise: str = "bernoulli"  # "bernoulli" (dropout) or "gaussian" (N(1, p/q) noise)

    def validate(self) -> "TrainConfig":
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {self.impl!r}")
        if self.noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {self.noise!r}")
        if self.noise == "gaussian" and not self.inverted:
            raise ValueError("gaussian noise has mean 1, which is the inverted scheme; set inverted=True")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.steps <= 0 or self.eval_every <= 0 or self.steps % self.eval_every:
            raise ValueError(f"steps ({self.steps}) must be a positive multiple of eval_every ({self.eval_every})")
        if self.batch_size is not None and self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive or None, got {self.batch_size!r}")
        if any(int(h) <= 0 for h in self.hidden):
            raise ValueError(f"hidden sizes must be positive, got {self.hidden!r}")
        return self


class Hyper(NamedTuple):
    """The numeric part of a run: each field may be a traced scalar, or a batch in a sweep."""

    rate_input: Any = 0.0
    rate_hidden: Any = 0.0
    learning_rate: Any = 0.1
    l2: Any = 0.0
    l1: Any = 0.0
    max_norm: Any = math.inf
    hidden_units: Any = math.inf  # active units per hidden layer (<= the configured width)


class TrainState(NamedTuple):
    params: list
    opt_state: Any
    step: jax.Array
    key: jax.Array


@dataclasses.dataclass
class TrainResult:
    """Final parameters and learning curves.

    ``curves[name]`` has shape ``grid_shape + (n_evals,)``, evaluated after
    each of the ``steps`` in ``curves["step"]``; ``grid_shape`` is ``()`` for
    one run. ``params`` carries the same leading grid axes.
    """

    params: list
    curves: dict[str, np.ndarray]
    grid_shape: tuple[int, ...] = ()

    def final(self, name: str) -> np.ndarray:
        """The last evaluation of metric ``name``, one value per configuration."""
        return self.curves[name][..., -1]


def make_optimizer(config: TrainConfig, learning_rate: Any) -> optax.GradientTransformation:
    if config.optimizer == "sgd":
        return optax.sgd(learning_rate)
    if config.optimizer == "momentum":
        return optax.sgd(learning_rate, momentum=config.momentum)
    if config.optimizer == "adam":
        return optax.adam(learning_rate)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {config.optimizer!r}")


def _rates(config: TrainConfig, hyper: Hyper) -> list:
    return [hyper.rate_input] + [hyper.rate_hidden] * len(config.hidden)


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of integer ``labels``."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def _init(key: jax.Array, hyper: Hyper, data: Dataset, *, config: TrainConfig) -> TrainState:
    init_key, run_key = jax.random.split(key)
    sizes = (data.train.x.shape[1], *config.hidden, N_CLASSES)
    params = max_norm(init_mlp(init_key, sizes), hyper.max_norm)
    opt_state = make_optimizer(config, hyper.learning_rate).init(params)
    return TrainState(params, opt_state, jnp.zeros((), jnp.int32), run_key)


def _metrics(params: list, hyper: Hyper, data: Dataset, config: TrainConfig) -> dict[str, jax.Array]:
    out = {}
    for name, split in zip(("train", "val", "test"), data):
        logits = mlp_apply(
            params,
            split.x,
            rates=_rates(config, hyper),
            inverted=config.inverted,
            train=False,
            activation=config.activation,
            active_units=hyper.hidden_units,
        )
        out[f"{name}_loss"] = cross_entropy(logits, split.y)
        out[f"{name}_acc"] = jnp.mean(jnp.argmax(logits, axis=-1) == split.y)
    out["weight_norm"] = jnp.sqrt(sum(jnp.sum(p["w"] ** 2) for p in params))
    return out


def _segment(state: TrainState, hyper: Hyper, data: Dataset, *, config: TrainConfig) -> tuple[TrainState, dict]:
    """``eval_every`` training steps, then one evaluation."""
    optimizer = make_optimizer(config, hyper.learning_rate)
    dropout_key, batch_key = jax.random.split(state.key)
    x_all, y_all = data.train
    n_train = x_all.shape[0]

    def step(state: TrainState, _):
        if config.batch_size is None or config.batch_size >= n_train:
            x, y = x_all, y_all
        else:
            # Examples drawn uniformly with replacement: the i.i.d. sampling that
            # SGD theory assumes, and ~20x cheaper here than a permutation per step.
            idx = jax.random.randint(jax.random.fold_in(batch_key, state.step), (config.batch_size,), 0, n_train)
            x, y = x_all[idx], y_all[idx]

        def loss(params):
            logits = mlp_apply(
                params,
                x,
                key=jax.random.fold_in(dropout_key, state.step),
                rates=_rates(config, hyper),
                inverted=config.inverted,
                train=True,
                activation=config.activation,
                impl=config.impl,
                noise=config.noise,
                active_units=hyper.hidden_units,
            )
            return cross_entropy(logits, y) + weight_penalty(params, hyper.l2, hyper.l1)

        grads = jax.grad(loss)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = max_norm(optax.apply_updates(state.params, updates), hyper.max_norm)
        return TrainState(params, opt_state, state.step + 1, state.key), None

    state, _ = jax.lax.scan(step, state, None, length=config.eval_every)
    return state, _metrics(state.params, hyper, data, config)


@functools.lru_cache(maxsize=None)
def _compiled(config: TrainConfig, batched: bool):
    init = functools.partial(_init, config=config)
    segment = functools.partial(_segment, config=config)
    if batched:
        init = jax.vmap(init, in_axes=(0, 0, None))
        segment = jax.vmap(segment, in_axes=(0, 0, None))
    return jax.jit(init), jax.jit(segment)


def _check_data(data: Dataset) -> None:
    for name, split in zip(("train", "val", "test"), data):
        x, y = split
        if x.shape[0] == 0:
            raise ValueError(f"the {name} split is empty")
        if x.ndim != 2 or y.shape != (x.shape[0],):
            raise ValueError(f"the {name} split has mismatched shapes: x {x.shape}, y {y.shape}")
    widths = {split.x.shape[1] for split in data}
    if len(widths) != 1:
        raise ValueError(f"the splits disagree on the number of features: {sorted(widths)}")


def _check_hyper(hyper: Hyper) -> None:
    rules = {
        "rate_input": lambda v: 0.0 <= v <= 1.0,
        "rate_hidden": lambda v: 0.0 <= v <= 1.0,
        "learning_rate": lambda v: v > 0.0,
        "l2": lambda v: v >= 0.0,
        "l1": lambda v: v >= 0.0,
        "max_norm": lambda v: v > 0.0,
        "hidden_units": lambda v: v >= 1.0,
    }
    for name, ok in rules.items():
        value = getattr(hyper, name)
        if is_traced(value):
            continue
        for v in np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel():
            if not ok(v):  # NaN fails every rule
                raise ValueError(f"Hyper.{name} has an invalid value {v!r}")


def _run(keys, data: Dataset, hyper: Hyper, config: TrainConfig, batched: bool, progress: bool, grid_shape) -> TrainResult:
    config = config.validate()
    _check_data(data)
    _check_hyper(hyper)
    init, segment = _compiled(config, batched)
    state = init(keys, hyper, data)
    n_segments = config.steps // config.eval_every
    history = []
    # The bar appears only if the run outlasts `delay` seconds, and goes to
    # stderr, which the stored notebooks drop and nbval does not compare.
    with tqdm(total=config.steps, disable=not progress, delay=2.0, file=sys.stderr, unit="step", desc="training") as bar:
        for _ in range(n_segments):
            state, metrics = segment(state, hyper, data)
            history.append(metrics)
            bar.update(config.eval_every)
    curves = {name: np.stack([np.asarray(m[name]) for m in history], axis=-1) for name in METRICS}
    if grid_shape:
        curves = {name: value.reshape(grid_shape + value.shape[-1:]) for name, value in curves.items()}
        params = jax.tree.map(lambda leaf: leaf.reshape(grid_shape + leaf.shape[1:]), state.params)
    else:
        params = state.params
    curves["step"] = np.arange(1, n_segments + 1) * config.eval_every
    return TrainResult(params, curves, tuple(grid_shape))


def train(key: jax.Array, data: Dataset, hyper: Hyper, config: TrainConfig = TrainConfig(), *, progress: bool = False) -> TrainResult:
    """Train one MLP and record its learning curves.

    Minimizes ``mean cross-entropy + (l2/2) ||W||^2 + l1 ||W||_1`` with the
    configured optax optimizer, a fresh dropout mask each step, and the
    max-norm projection after each update. Deterministic for a fixed ``key``.
    """
    return _run(key, data, hyper, config, batched=False, progress=progress, grid_shape=())


def sweep(
    keys: jax.Array,
    data: Dataset,
    hypers: Hyper,
    config: TrainConfig = TrainConfig(),
    *,
    grid_shape: Sequence[int] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a batch of configurations at once with ``jax.vmap``.

    ``keys`` has shape ``(B,)`` and every field of ``hypers`` shape ``(B,)``
    (see :func:`hyper_grid`); configuration ``i`` gets exactly the result
    ``train(keys[i], data, hypers[i], config)`` would give, up to float
    round-off. ``grid_shape`` reshapes the batch axis of the result.
    """
    batch = keys.shape[0]
    grid_shape = tuple(grid_shape) if grid_shape is not None else (batch,)
    if math.prod(grid_shape) != batch:
        raise ValueError(f"grid_shape {grid_shape} does not hold {batch} configurations")
    hypers = Hyper(*(jnp.broadcast_to(jnp.asarray(v, jnp.float32), (batch,)) for v in hypers))
    return _run(keys, data, hypers, config, batched=True, progress=progress, grid_shape=grid_shape)


def hyper_grid(seeds: Sequence[int], base: Hyper = Hyper(), **axes: Sequence[float]) -> tuple[jax.Array, Hyper, tuple[int, ...]]:
    """The Cartesian product of seeds and hyperparameter values, flattened.

    ``hyper_grid([0, 1, 2], rate_hidden=[0.0, 0.5])`` gives 6 keys, a
    ``Hyper`` whose fields are arrays of 6 values, and the grid shape
    ``(3, 2)`` (seeds first, then the axes in the order given). Fields not
    named keep their value from ``base``.
    """
    unknown = set(axes) - set(Hyper._fields)
    if unknown:
        raise ValueError(f"unknown hyperparameters {sorted(unknown)}; choose from {Hyper._fields}")
    names = list(axes)
    combos = list(itertools.product(list(seeds), *(list(axes[n]) for n in names)))
    keys = jnp.stack([jax.random.key(int(c[0])) for c in combos])
    fields = base._asdict()
    for j, name in enumerate(names):
        fields[name] = np.array([c[j + 1] for c in combos], dtype=np.float32)
    batch = len(combos)
    hyper = Hyper(**{k: np.broadcast_to(np.asarray(v, np.float32), (batch,)) for k, v in fields.items()})
    return keys, hyper, (len(seeds), *(len(axes[n]) for n in names))


def hyper_variants(seeds: Sequence[int], variants: Sequence[Hyper]) -> tuple[jax.Array, Hyper, tuple[int, ...]]:
    """Every seed crossed with every one of a list of whole configurations.

    For comparisons of named settings (no dropout against dropout 0.2/0.5,
    L2 against max-norm, ...) that are not a Cartesian grid of single
    hyperparameters. Returns keys, a batched ``Hyper`` and the grid shape
    ``(len(seeds), len(variants))``.
    """
    if not variants:
        raise ValueError("variants is empty: give at least one Hyper")
    combos = [(seed, variant) for seed in seeds for variant in variants]
    keys = jnp.stack([jax.random.key(int(seed)) for seed, _ in combos])
    fields = {
        name: np.array([float(getattr(variant, name)) for _, variant in combos], dtype=np.float32) for name in Hyper._fields
    }
    return keys, Hyper(**fields), (len(seeds), len(variants))
