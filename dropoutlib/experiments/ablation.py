"""Removing hidden units from a trained network: a test-time probe of co-adaptation.

Hinton et al. (2012) and Srivastava et al. (2014) explain dropout by
co-adaptation: in a plain network a unit can come to rely on particular
other units being present, and dropout, which makes every unit's company
unreliable, prevents that. A direct probe of the hypothesis is to delete
units from a trained network and see how much it suffers. If the dropout
network's units are less dependent on one another, it should lose less
accuracy when the same fraction of its hidden units is removed.

**Ablation.** Removing hidden unit ``j`` of layer ``l`` sets its
activation to zero for every input,

.. math:: h_{l} \\;\\to\\; m_{l} \\odot h_{l}, \\qquad m_{lj} \\in \\{0, 1\\},

which is the same as deleting the unit with its incoming and outgoing
weights. Unlike dropout the mask ``m_l`` is shared by all inputs (it
changes the network, not one forward pass), and it has an exact count:
``k_l = round(f n_l)`` of the ``n_l`` units of every hidden layer are
removed, the subset drawn uniformly among the ``C(n_l, k_l)`` subsets,
independently per layer and per draw. Each unit is then removed with
probability ``k_l / n_l`` in every draw.

By default the survivors are not rescaled: a deletion, the usual ablation.
With ``rescale=True`` the survivors of layer ``l`` are multiplied by
``n_l / (n_l - k_l)``, which keeps the next layer's input unchanged on
average over the subsets (``E[m_lj] = (n_l - k_l) / n_l``); for an
inverted-dropout network at ``f = p`` that is one of its training-time
thinned networks, with one mask for all inputs.

**Pairing.** The subsets depend on the seed index, the fraction and the
draw, never on the set-up, so at every seed the two networks being compared
lose exactly the same units: the comparison is paired, as
:func:`dropoutlib.experiments.compare.paired_difference` needs.

The forward pass is the test-mode pass of a plain or inverted-dropout MLP
(no scaling at test time); a direct-dropout network must first be converted
(:func:`dropoutlib.experiments.reparam.direct_params_from_inverted` does
the reverse).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from dropoutlib.experiments.mlp import ACTIVATIONS, Params

__all__ = [
    "AblationSummary",
    "ablated_logits",
    "ablation_keep_masks",
    "ablation_scores",
    "removed_count",
    "summarize_ablation",
]


def removed_count(width: int, fraction: float) -> int:
    """``round(fraction * width)``, the number of units removed from a layer of ``width``."""
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    return int(round(float(fraction) * int(width)))


def _keep_rows(key: jax.Array, width: int, k: ArrayLike, n_draws: int) -> jax.Array:
    """``(n_draws, width)`` bools with exactly ``k`` False per row, the False set uniform."""
    u = jax.random.uniform(key, (n_draws, width))
    rank = jnp.argsort(jnp.argsort(u, axis=-1), axis=-1)  # each unit's place in a random order
    return rank >= k  # the k units that come first are removed


def ablation_keep_masks(key: jax.Array, widths: Sequence[int], fraction: float, n_draws: int) -> list[jax.Array]:
    """Random unit subsets to keep: one ``(n_draws, n_l)`` bool array per hidden layer.

    Every row of layer ``l`` has exactly ``round(fraction * n_l)`` False
    entries (removed units), the subset uniform over all subsets of that
    size; layers and draws are independent (layer ``l`` uses
    ``fold_in(key, l)``).
    """
    if n_draws <= 0:
        raise ValueError(f"n_draws must be positive, got {n_draws!r}")
    return [
        _keep_rows(jax.random.fold_in(key, layer), int(n), removed_count(n, fraction), n_draws)
        for layer, n in enumerate(widths)
    ]


def ablated_logits(
    params: Params,
    x: ArrayLike,
    keep: Sequence[ArrayLike],
    *,
    activation: str = "relu",
    rescale: bool = False,
) -> jax.Array:
    """Test-mode logits of an MLP whose hidden unit ``j`` of layer ``l`` is removed where ``keep[l][j]`` is False.

    ``keep`` holds one ``(n_l,)`` mask per hidden layer (a leading batch of
    masks broadcasts against ``x`` only if the caller vmaps). With
    ``rescale=True`` the kept activations of layer ``l`` are multiplied by
    ``n_l / (number kept)`` (by 1 when none is kept).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if len(keep) != len(params) - 1:
        raise ValueError(f"keep needs one mask per hidden layer ({len(params) - 1}), got {len(keep)}")
    act = ACTIVATIONS[activation]
    h = jnp.asarray(x)
    for layer, p in enumerate(params):
        h = h @ p["w"] + p["b"]
        if layer < len(params) - 1:
            mask = jnp.asarray(keep[layer])
            if mask.shape != h.shape[-1:]:
                raise ValueError(f"keep[{layer}] has shape {mask.shape}, layer {layer} has {h.shape[-1]} units")
            scale = mask.astype(h.dtype)
            if rescale:
                kept = jnp.sum(scale)
                scale = scale * (mask.shape[0] / jnp.where(kept > 0, kept, mask.shape[0]))
            h = act(h) * scale
    return h


@functools.partial(jax.jit, static_argnames=("n_draws", "activation", "rescale"))
def _scores_at(params, x, y, seed_keys, ks, *, n_draws, activation, rescale):
    """Per-example correctness and loss, averaged over draws, for one fraction.

    ``params`` leaves have shape ``(seeds, variants, ...)``; ``seed_keys``
    shape ``(seeds,)``; ``ks`` holds the removed count per hidden layer.
    """
    widths = [p["w"].shape[-1] for p in params[:-1]]

    def one_seed(seed_params, key):
        masks = [_keep_rows(jax.random.fold_in(key, l), n, k, n_draws) for l, (n, k) in enumerate(zip(widths, ks))]

        def one_variant(net):
            def one_draw(*keep):
                logits = ablated_logits(net, x, keep, activation=activation, rescale=rescale)
                correct = (jnp.argmax(logits, -1) == y).astype(jnp.float32)
                return correct, optax.softmax_cross_entropy_with_integer_labels(logits, y)

            correct, loss = jax.lax.map(lambda keep: one_draw(*keep), masks)
            return correct.mean(0), loss.mean(0)

        return jax.vmap(one_variant)(seed_params)  # every variant sees the same masks

    return jax.vmap(one_seed)(params, seed_keys)


def ablation_scores(
    params: Params,
    split: Any,
    fractions: Sequence[float],
    *,
    key: jax.Array,
    n_draws: int = 10,
    activation: str = "relu",
    rescale: bool = False,
) -> dict[str, np.ndarray]:
    """Per-example test-mode scores of trained networks with a fraction of their hidden units removed.

    Args:
      params: a trained grid, leaves with leading axes ``(seeds, variants)``
        (as :func:`dropoutlib.experiments.sweep` returns with
        ``grid_shape=(seeds, variants)``).
      split: the examples to score (``.x``, ``.y``).
      fractions: fractions ``f`` of every hidden layer's units to remove.
      key: the subsets of seed ``s`` and fraction index ``i`` come from
        ``fold_in(fold_in(key, s), i)``; all variants of a seed share them.
      n_draws: random subsets per seed and fraction; the scores are their
        average. ``f = 0`` and ``f = 1`` have one subset only.
      activation, rescale: see :func:`ablated_logits`.

    Returns:
      ``{"correct": ..., "loss": ...}``, each of shape
      ``(seeds, variants, len(fractions), examples)``: the fraction of draws
      in which the example is classified right, and its mean cross-entropy.
    """
    first = jnp.shape(params[0]["w"])
    if len(first) != 4:
        raise ValueError(f"params needs leading axes (seeds, variants); got first-layer weights of shape {first}")
    n_seeds = first[0]
    widths = [p["w"].shape[-1] for p in params[:-1]]
    x, y = jnp.asarray(split.x), jnp.asarray(split.y)
    correct, loss = [], []
    for i, f in enumerate(fractions):
        ks = tuple(removed_count(n, f) for n in widths)
        seed_keys = jnp.stack([jax.random.fold_in(jax.random.fold_in(key, s), i) for s in range(n_seeds)])
        c, l = _scores_at(params, x, y, seed_keys, jnp.asarray(ks), n_draws=n_draws, activation=activation, rescale=rescale)
        correct.append(np.asarray(c))
        loss.append(np.asarray(l))
    return {"correct": np.stack(correct, axis=2), "loss": np.stack(loss, axis=2)}


@dataclasses.dataclass(frozen=True)
class AblationSummary:
    """Accuracy against the removed fraction, with 95 % intervals, for two set-ups.

    ``accuracy[v]`` has rows ``(mean, low, high)`` per fraction for variant
    ``v``; ``extra_drop`` has rows ``(mean, low, high)`` per fraction for
    the paired difference of the accuracy LOST by removal,

    .. math:: \\Delta(f) = [a_A(f) - a_A(0)] - [a_B(f) - a_B(0)],

    positive when set-up A loses less than set-up B.
    """

    fractions: np.ndarray
    accuracy: np.ndarray  # (variants, fractions, 3)
    extra_drop: np.ndarray  # (fractions, 3)


def _two_way_intervals(
    diffs: Sequence[np.ndarray], *, confidence: float, n_resamples: int, seed: int, chunk: int = 500
) -> np.ndarray:
    """Column-wise :func:`~dropoutlib.experiments.compare.paired_difference`, with shared replicates.

    ``diffs`` holds one ``(seeds, columns, examples)`` array of paired
    differences per split. The seed and example counts are drawn from
    ``default_rng(seed)`` in the same order as ``paired_difference`` draws
    them, so column ``c`` gets exactly the interval that
    ``paired_difference`` gives for it (up to float round-off); the draws
    are made once for all columns instead of once per column. Returns
    ``(columns, 3)`` rows of ``(mean, low, high)``.
    """
    rng = np.random.default_rng(seed)
    n_columns = diffs[0].shape[1]
    replicates = np.zeros((n_resamples, n_columns))
    for d in diffs:
        n_s, _, n_e = d.shape
        w = rng.multinomial(n_s, np.full(n_s, 1.0 / n_s), size=n_resamples)  # seed counts
        v = rng.multinomial(n_e, np.full(n_e, 1.0 / n_e), size=n_resamples)  # example counts
        for start in range(0, n_resamples, chunk):
            rows = slice(start, start + chunk)
            weighted = np.einsum("bs,sce->bce", w[rows], d)
            replicates[rows] += np.einsum("bce,be->bc", weighted, v[rows]) / (n_s * n_e)
    replicates /= len(diffs)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail], axis=0)
    mean = np.mean([d.mean(axis=(0, 2)) for d in diffs], axis=0)
    return np.stack([mean, low, high], axis=-1)


def summarize_ablation(
    correct: Sequence[np.ndarray],
    fractions: Sequence[float],
    *,
    a: int = 1,
    b: int = 0,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> AblationSummary:
    """Means and intervals (two-way bootstrap over seeds and examples, splits as strata).

    ``correct`` holds one ``(seeds, variants, fractions, examples)`` array
    per data split (from :func:`ablation_scores`). The interval of one
    set-up's mean accuracy is that of its difference from zero; the
    difference between set-ups ``a`` and ``b`` is paired (same seeds, same
    removed units, same examples). Every interval is the one
    :func:`~dropoutlib.experiments.compare.paired_difference` gives for the
    same scores and ``seed``; only the resampling is shared across columns,
    which makes it fast. ``fractions[0]`` must be 0.
    """
    if float(fractions[0]) != 0.0:
        raise ValueError("fractions[0] must be 0: the loss by removal is measured from the intact network")
    correct = [np.asarray(c, np.float64) for c in correct]
    n_variants, n_fractions = correct[0].shape[1:3]
    if n_fractions != len(fractions):
        raise ValueError(f"the scores hold {n_fractions} fractions, {len(fractions)} were named")
    columns = []
    for c in correct:
        accuracy = c.reshape(c.shape[0], n_variants * n_fractions, c.shape[-1])  # difference from zero
        lost = c - c[:, :, :1]  # a(f) - a(0)
        extra = lost[:, a] - lost[:, b]  # (seeds, fractions, examples)
        columns.append(np.concatenate([accuracy, extra], axis=1))
    rows = _two_way_intervals(columns, confidence=confidence, n_resamples=n_resamples, seed=seed)
    accuracy = rows[: n_variants * n_fractions].reshape(n_variants, n_fractions, 3)
    return AblationSummary(np.asarray(fractions, float), accuracy, rows[n_variants * n_fractions :])
