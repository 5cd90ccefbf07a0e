"""Training small MLPs with dropout, one at a time or a whole grid at once.

A run is a pure function of ``(key, data, hyper)`` for a static ``config``:

* ``TrainConfig`` holds what changes the *program* (layer sizes, number of
  steps, optimizer, activation, direct or inverted dropout) and is static;
* ``Hyper`` holds what only changes *numbers* (dropout rates, learning rate,
  L2 and L1 strength, max-norm radius) and may be traced. That is what makes
  a sweep a single ``jax.vmap``: one compiled program trains every
  configuration of a grid side by side, and, where there are several
  devices, shards the configurations across them.

There is one training step, :func:`training_step`, and one optimizer
factory, :func:`make_optimizer`; :mod:`dropoutlib.experiments.reparam`
trains with the same two. Each step draws a fresh dropout mask from
``fold_in(dropout_key, step)`` (reusing one key would freeze one mask
forever, a classic bug), takes a gradient of the cross-entropy plus the
weight penalty, applies the optax update, and projects onto the max-norm
ball. The steps run inside ``jax.lax.scan``; every ``eval_every`` steps the
network is evaluated in test mode on all three splits, and the metric
``max_norm_active`` records how often the projection acted in between: the
fraction of (unit, step) pairs whose incoming weight vector left the ball.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import sys
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from tqdm.std import tqdm

from dropoutlib._checks import check_probability, is_traced
from dropoutlib.experiments.active_width import fit_init_to_active_units
from dropoutlib.experiments.data import N_CLASSES, Dataset
from dropoutlib.experiments.mlp import ACTIVATIONS, NOISES, Params, init_mlp, max_norm, mlp_apply, weight_penalty
from dropoutlib.masks import IMPLS

__all__ = [
    "METRICS",
    "OPTIMIZERS",
    "Hyper",
    "TrainConfig",
    "TrainResult",
    "check_hyper",
    "cross_entropy",
    "hyper_grid",
    "hyper_variants",
    "make_optimizer",
    "penalized_loss",
    "per_example_scores",
    "sweep",
    "train",
    "training_step",
]

OPTIMIZERS = ("sgd", "momentum", "adam")
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "weight_norm", "max_norm_active")


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
    impl: str = "hash"  # dropout mask generator, see dropoutlib.masks
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
    # Factors on the learning rate of the weights (not biases) that read the input
    # (first layer) and a hidden layer (every later layer). An inverted net at
    # eta with factors q_in^2, q_hidden^2 updates like a direct net at eta, and
    # a direct net with 1/q^2 like an inverted one (see reparam.py).
    lr_factor_input: Any = 1.0
    lr_factor_hidden: Any = 1.0


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


# ---------------------------------------------------------------- the one step
def make_optimizer(
    name: str,
    learning_rate: Any,
    *,
    momentum: float = 0.9,
    eps: float = 1e-8,
    layer_factors: Sequence[float] | None = None,
) -> optax.GradientTransformation:
    """``optax`` SGD, SGD with momentum, or Adam; optionally one learning-rate factor per layer.

    ``layer_factors[l]`` multiplies the update of layer ``l``'s weights (not
    its bias): how a direct-dropout net follows an inverted one
    (:func:`dropoutlib.experiments.reparam.direct_equivalent`).
    """
    if name == "sgd":
        base = optax.sgd(learning_rate)
    elif name == "momentum":
        base = optax.sgd(learning_rate, momentum=momentum)
    elif name == "adam":
        base = optax.adam(learning_rate, eps=eps)
    else:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    if layer_factors is None:
        return base
    factors = list(layer_factors)

    def scale(updates, state, params=None):
        if len(updates) != len(factors):
            raise ValueError(f"layer_factors has {len(factors)} entries for {len(updates)} layers")
        scaled = [{**u, "w": u["w"] * jnp.asarray(f, u["w"].dtype)} for u, f in zip(updates, factors)]
        return scaled, state

    return optax.chain(base, optax.GradientTransformation(lambda params: optax.EmptyState(), scale))


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of integer ``labels``."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def penalized_loss(
    params: Params,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    *,
    rates: Sequence[Any],
    l2: Any = 0.0,
    l1: Any = 0.0,
    **model: Any,
) -> jax.Array:
    """Train-mode cross-entropy plus :func:`~dropoutlib.experiments.mlp.weight_penalty`.

    ``model`` holds the remaining keyword arguments of
    :func:`~dropoutlib.experiments.mlp_forward` (``inverted``,
    ``activation``, ``impl``, ``noise``, ``active_units``).
    """
    logits = mlp_apply(params, x, key=key, rates=rates, train=True, **model)
    return cross_entropy(logits, y) + weight_penalty(params, l2, l1)


def training_step(
    params: Params,
    opt_state: Any,
    loss: Callable[[Params], jax.Array],
    optimizer: optax.GradientTransformation,
    radius: Any = math.inf,
) -> tuple[Params, Any]:
    """One update: the gradient of ``loss``, the optimizer's step, the max-norm projection."""
    grads = jax.grad(loss)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return max_norm(optax.apply_updates(params, updates), radius), opt_state


# ---------------------------------------------------------------- a run
def _rates(config: TrainConfig, hyper: Hyper) -> list:
    return [hyper.rate_input] + [hyper.rate_hidden] * len(config.hidden)


def _optimizer(config: TrainConfig, hyper: Hyper) -> optax.GradientTransformation:
    """The configured optimizer, with the learning rate times ``lr_factor_input`` on the
    first layer's weights and times ``lr_factor_hidden`` on every later layer's weights."""
    rates = {
        "bias": hyper.learning_rate,
        "input": hyper.learning_rate * hyper.lr_factor_input,
        "hidden": hyper.learning_rate * hyper.lr_factor_hidden,
    }
    parts = {name: make_optimizer(config.optimizer, lr, momentum=config.momentum) for name, lr in rates.items()}
    # One optimizer per group, not a factor multiplied in after one optimizer:
    # with factors 1 each update is computed by the same operations as with a
    # single optimizer (sweeps were checked bit for bit; a factor applied last
    # changed the compiled arithmetic and the last bits of every result).
    labels = lambda params: [{"w": "hidden" if layer else "input", "b": "bias"} for layer in range(len(params))]  # noqa: E731
    return optax.multi_transform(parts, labels)


def _projected_fraction(params: Params, radius: Any) -> jax.Array:
    """The fraction of units whose incoming weight vector lies outside the max-norm ball."""
    outside = [jnp.linalg.norm(p["w"], axis=0) > radius for p in params]
    return sum(jnp.sum(o) for o in outside) / sum(o.size for o in outside)


def _init(key: jax.Array, hyper: Hyper, data: Dataset, *, config: TrainConfig) -> TrainState:
    init_key, run_key = jax.random.split(key)
    sizes = (data.train.x.shape[1], *config.hidden, N_CLASSES)
    # Networks narrower than the configured width start as the narrow network would.
    params = fit_init_to_active_units(init_mlp(init_key, sizes), hyper.hidden_units)
    params = max_norm(params, hyper.max_norm)
    opt_state = _optimizer(config, hyper).init(params)
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
    optimizer = _optimizer(config, hyper)
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
        loss = functools.partial(
            penalized_loss,
            x=x,
            y=y,
            key=jax.random.fold_in(dropout_key, state.step),
            rates=_rates(config, hyper),
            l2=hyper.l2,
            l1=hyper.l1,
            inverted=config.inverted,
            activation=config.activation,
            impl=config.impl,
            noise=config.noise,
            active_units=hyper.hidden_units,
        )
        params, opt_state = training_step(state.params, state.opt_state, loss, optimizer)
        active = _projected_fraction(params, hyper.max_norm)  # before the projection acts
        params = max_norm(params, hyper.max_norm)
        return TrainState(params, opt_state, state.step + 1, state.key), active

    state, active = jax.lax.scan(step, state, None, length=config.eval_every)
    return state, {**_metrics(state.params, hyper, data, config), "max_norm_active": jnp.mean(active)}


def _batched(fn: Callable, batched: bool) -> Callable:
    return jax.vmap(fn, in_axes=(0, 0, None)) if batched else fn


# jit with the static config, instead of a cache of compiled closures: JAX's
# own compilation cache keys on (config, batched) and the argument shapes.
@functools.partial(jax.jit, static_argnames=("config", "batched"))
def _init_compiled(keys, hyper, data, *, config: TrainConfig, batched: bool):
    return _batched(functools.partial(_init, config=config), batched)(keys, hyper, data)


@functools.partial(jax.jit, static_argnames=("config", "batched"))
def _segment_compiled(state, hyper, data, *, config: TrainConfig, batched: bool):
    return _batched(functools.partial(_segment, config=config), batched)(state, hyper, data)


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


_POSITIVE = {
    "learning_rate": lambda v: v > 0.0,
    "l2": lambda v: v >= 0.0,
    "l1": lambda v: v >= 0.0,
    "max_norm": lambda v: v > 0.0,
    "hidden_units": lambda v: v >= 1.0,
    "lr_factor_input": lambda v: v > 0.0,
    "lr_factor_hidden": lambda v: v > 0.0,
}


def check_hyper(hyper: Hyper) -> None:
    """Reject concrete hyperparameters that are out of range, naming the field and the value.

    Rates go through the same check as :func:`dropoutlib.dropout`'s ``rate``;
    every field may be a scalar or an array of values (a sweep). Traced
    fields pass.
    """
    for name in Hyper._fields:
        value = getattr(hyper, name)
        if is_traced(value):
            continue
        for v in np.ravel(np.asarray(value)):
            if name.startswith("rate_"):
                check_probability(v.item() if hasattr(v, "item") else v, f"Hyper.{name}")
            elif not _POSITIVE[name](float(v)):  # NaN fails every rule
                raise ValueError(f"Hyper.{name} has an invalid value {v!r}")


def _mesh(batch: int) -> Mesh | None:
    """A one-axis mesh over the devices that evenly share ``batch`` configurations, if more than one."""
    devices = jax.devices()
    usable = max(d for d in range(1, len(devices) + 1) if batch % d == 0)
    return Mesh(np.array(devices[:usable]), ("config",)) if usable > 1 else None


def _run(keys, data: Dataset, hyper: Hyper, config: TrainConfig, batched: bool, progress: bool, grid_shape) -> TrainResult:
    config = config.validate()
    _check_data(data)
    check_hyper(hyper)
    if batched and (mesh := _mesh(keys.shape[0])) is not None:
        # Shard the configuration axis; the data are replicated. Each device
        # trains its own configurations with the same program as one device.
        config_axis = NamedSharding(mesh, PartitionSpec("config"))
        keys, hyper = jax.device_put((keys, hyper), config_axis)
        data = jax.device_put(data, NamedSharding(mesh, PartitionSpec()))
    state = _init_compiled(keys, hyper, data, config=config, batched=batched)
    n_segments = config.steps // config.eval_every
    history = []
    # The bar goes to stderr and appears only if the run outlasts `delay` seconds.
    with tqdm(total=config.steps, disable=not progress, delay=2.0, file=sys.stderr, unit="step", desc="training") as bar:
        for _ in range(n_segments):
            state, metrics = _segment_compiled(state, hyper, data, config=config, batched=batched)
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


def per_example_scores(result: TrainResult, split: Any, hypers: Hyper, config: TrainConfig) -> dict[str, np.ndarray]:
    """Each configuration's test-mode score on every example of ``split``.

    Returns ``{"correct": ..., "loss": ..., "logits": ...}`` with shapes
    ``grid_shape + (examples,)`` (``+ (classes,)`` for the logits): 1.0 where
    the prediction is right, and the per-example cross-entropy. These are the
    paired, per-example scores that
    :func:`dropoutlib.experiments.compare.paired_difference` needs. ``hypers``
    is the (batched) ``Hyper`` the result was trained with: direct-dropout
    nets need their rates at test time.
    """
    grid = result.grid_shape
    flat = jax.tree.map(lambda leaf: jnp.reshape(leaf, (-1,) + leaf.shape[len(grid):]), result.params)
    batch = jax.tree.leaves(flat)[0].shape[0]
    hypers = Hyper(*(jnp.broadcast_to(jnp.asarray(v, jnp.float32), (batch,)) for v in hypers))

    def one(params, hyper):
        return mlp_apply(
            params,
            split.x,
            rates=_rates(config, hyper),
            inverted=config.inverted,
            train=False,
            activation=config.activation,
            active_units=hyper.hidden_units,
        )

    logits = jax.jit(jax.vmap(one))(flat, hypers)
    labels = jnp.asarray(split.y)
    correct = (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.broadcast_to(labels, logits.shape[:-1]))
    return {
        "correct": np.asarray(correct).reshape(grid + correct.shape[1:]),
        "loss": np.asarray(loss).reshape(grid + loss.shape[1:]),
        "logits": np.asarray(logits).reshape(grid + logits.shape[1:]),
    }


def train(key: jax.Array, data: Dataset, hyper: Hyper, config: TrainConfig = TrainConfig(), *, progress: bool = False) -> TrainResult:
    """Train one MLP and record its learning curves.

    Minimizes ``mean cross-entropy + (l2/2) ||W||^2 + l1 ||W||_1`` with the
    configured optax optimizer, a fresh dropout mask each step, and the
    max-norm projection after each update. Deterministic for a fixed ``key``.
    ``progress=True`` shows a progress bar on stderr for runs longer than 2 s.
    """
    return _run(key, data, hyper, config, batched=False, progress=progress, grid_shape=())


def sweep(
    keys: jax.Array,
    data: Dataset,
    hypers: Hyper,
    config: TrainConfig = TrainConfig(),
    *,
    grid_shape: Sequence[int] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train a batch of configurations at once with ``jax.vmap``.

    ``keys`` has shape ``(B,)`` and every field of ``hypers`` shape ``(B,)``
    (see :func:`hyper_grid`); configuration ``i`` gets exactly the result
    ``train(keys[i], data, hypers[i], config)`` would give, up to float
    round-off. ``grid_shape`` reshapes the batch axis of the result.

    With several devices (``jax.devices()``), the configurations are sharded
    across as many of them as divide ``B`` evenly; the results are the same
    as on one device.
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
    ``(len(seeds), len(variants))``. Every variant of one seed gets the same
    key, hence the same initialization, data order and masks: the pairing
    that the comparisons of :mod:`dropoutlib.experiments.compare` need.
    """
    if not variants:
        raise ValueError("variants is empty: give at least one Hyper")
    combos = [(seed, variant) for seed in seeds for variant in variants]
    keys = jnp.stack([jax.random.key(int(seed)) for seed, _ in combos])
    fields = {
        name: np.array([float(getattr(variant, name)) for _, variant in combos], dtype=np.float32) for name in Hyper._fields
    }
    return keys, Hyper(**fields), (len(seeds), len(variants))
