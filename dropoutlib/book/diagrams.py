"""Pictures of dropout drawn from real masks: thinned networks and a minibatch's masks.

Dropout trains thinned networks: every unit of a dropped layer is kept with
probability ``q = 1 - p``, and the units not kept are absent, with all
their connections, for that forward pass. The mask is drawn **per
example**: for a minibatch of ``B`` examples, layer ``l``'s keep-mask has
shape ``(B, n_l)``, and row ``b`` is the thinned network that example ``b``
passes through. One minibatch step therefore trains up to ``B`` different
thinned networks, each on one example, and averages their gradients.

:func:`minibatch_masks` draws exactly the masks that
:func:`dropoutlib.experiments.mlp_forward` applies in training (layer
``l``'s mask is ``keep_mask(fold_in(key, l), rates[l], (B, n_l))``, the
mask :func:`dropoutlib.dropout` draws for a ``(B, n_l)`` input);
:func:`draw_network` draws a network and, given one row of those masks, its
thinned version (after the idea of Srivastava et al., 2014, fig. 1);
:func:`mask_heatmap` shows a whole ``(B, n)`` mask, one row per example.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import matplotlib.colors as mcolors
import matplotlib.patches as mpatches
import numpy as np
from matplotlib.collections import LineCollection

from dropoutlib.masks import keep_mask

__all__ = ["NetworkDrawing", "draw_network", "mask_heatmap", "minibatch_masks"]

KEPT_COLOR = "#0072B2"  # the book palette's first colour
DROPPED_COLOR = "0.72"
EDGE_COLOR = "0.45"
LAYER_GAP = 2.0  # horizontal distance between layers, in units of the vertical spacing


def minibatch_masks(key: jax.Array, sizes: Sequence[int], rates: Sequence[float], batch: int) -> list[np.ndarray]:
    """The keep-masks a training forward pass applies to a minibatch of ``batch`` examples.

    ``sizes`` are the layer sizes of the MLP (input first, output last) and
    ``rates`` the drop rates of the layers that are dropped, one per layer
    except the output (input first), as in
    :func:`~dropoutlib.experiments.mlp_forward`. Returns one bool array
    of shape ``(batch, sizes[l])`` per dropped layer ``l``; True = kept.
    """
    if len(rates) != len(sizes) - 1:
        raise ValueError(f"rates needs one rate per layer except the output ({len(sizes) - 1}), got {len(rates)}")
    if batch <= 0:
        raise ValueError(f"batch must be positive, got {batch!r}")
    return [
        np.asarray(keep_mask(jax.random.fold_in(key, layer), rate, (batch, int(n))))
        for layer, (n, rate) in enumerate(zip(sizes[:-1], rates))
    ]


class NetworkDrawing(NamedTuple):
    """What :func:`draw_network` drew: units per layer, dropped units per layer, connections."""

    units: tuple[int, ...]
    dropped: tuple[int, ...]
    edges: int


def _positions(n: int) -> np.ndarray:
    """Vertical positions of ``n`` units, one apart, centred on 0."""
    return np.arange(n) - (n - 1) / 2.0


def draw_network(
    ax: Any,
    sizes: Sequence[int],
    keep: Sequence[Any] | None = None,
    *,
    title: str | None = None,
    layer_names: Sequence[str] | None = None,
    kept_color: str = KEPT_COLOR,
    dropped_color: str = DROPPED_COLOR,
    edge_color: str = EDGE_COLOR,
) -> NetworkDrawing:
    """Draw an MLP as columns of units; with ``keep``, draw the thinned network it selects.

    ``keep[l]`` (one ``(sizes[l],)`` bool array per layer except the output)
    marks the kept units of layer ``l``. A dropped unit is drawn hollow and
    crossed out, and none of its connections is drawn; a connection is
    drawn when both of its units are kept (output units always are).
    Without ``keep`` the full network is drawn. Returns a
    :class:`NetworkDrawing` with the counts of what was drawn.
    """
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2 or min(sizes) <= 0:
        raise ValueError(f"sizes needs at least two positive layer sizes, got {sizes!r}")
    if keep is None:
        masks = [np.ones(n, bool) for n in sizes[:-1]]
    else:
        if len(keep) != len(sizes) - 1:
            raise ValueError(f"keep needs one mask per layer except the output ({len(sizes) - 1}), got {len(keep)}")
        masks = [np.asarray(m, bool) for m in keep]
        for layer, (m, n) in enumerate(zip(masks, sizes)):
            if m.shape != (n,):
                raise ValueError(f"keep[{layer}] has shape {m.shape}, layer {layer} has {n} units")
    masks.append(np.ones(sizes[-1], bool))  # the output is never dropped
    tallest = max(sizes)
    ys = [_positions(n) for n in sizes]
    xs = [LAYER_GAP * layer for layer in range(len(sizes))]

    segments = []
    for layer in range(len(sizes) - 1):
        for i in np.flatnonzero(masks[layer]):
            for j in np.flatnonzero(masks[layer + 1]):
                segments.append([(xs[layer], ys[layer][i]), (xs[layer + 1], ys[layer + 1][j])])
    ax.add_collection(LineCollection(segments, colors=edge_color, linewidths=0.6, alpha=0.6, zorder=1))
    radius = 0.22
    for x, m, y in zip(xs, masks, ys):
        for unit, kept in enumerate(m):
            face = kept_color if kept else "white"
            edge = kept_color if kept else dropped_color
            ax.add_patch(mpatches.Circle((x, y[unit]), radius, facecolor=face, edgecolor=edge, lw=1.2, zorder=2))
            if not kept:
                d = radius * 0.7
                ax.plot([x - d, x + d], [y[unit] - d, y[unit] + d], color=dropped_color, lw=1.2, zorder=3)
                ax.plot([x - d, x + d], [y[unit] + d, y[unit] - d], color=dropped_color, lw=1.2, zorder=3)
    half = (tallest - 1) / 2.0 + 0.4
    ax.set_xlim(-0.5, xs[-1] + 0.5)
    ax.set_ylim(-half - (0.5 if layer_names else 0.0), half)
    ax.set_aspect("equal")
    ax.axis("off")
    if layer_names is not None:
        if len(layer_names) != len(sizes):
            raise ValueError(f"layer_names needs one name per layer ({len(sizes)}), got {len(layer_names)}")
        for layer, name in enumerate(layer_names):
            ax.text(xs[layer], -half - 0.1, name, ha="center", va="top", fontsize="small")
    if title is not None:
        ax.set_title(title)
    dropped = tuple(int((~m).sum()) for m in masks[:-1])
    return NetworkDrawing(tuple(sizes), dropped, len(segments))


def mask_heatmap(
    ax: Any,
    mask: Any,
    *,
    kept_color: str = KEPT_COLOR,
    dropped_color: str = DROPPED_COLOR,
    legend: bool = True,
) -> Any:
    """Show a ``(batch, units)`` keep-mask: one row per example, kept units coloured.

    Returns the ``AxesImage``; its data are the mask as 0 (dropped) and 1
    (kept). The legend sits above the image, off the data.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype != bool:
        raise ValueError(f"mask must be a 2-D bool array (batch, units), got {mask.dtype} of shape {mask.shape}")
    cmap = mcolors.ListedColormap([dropped_color, kept_color])
    image = ax.imshow(mask.astype(np.int8), cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xlabel("unit of the hidden layer")
    ax.set_ylabel("example in the minibatch")
    ax.grid(False)
    if legend:
        handles = [mpatches.Patch(color=kept_color, label="kept"), mpatches.Patch(color=dropped_color, label="dropped")]
        ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=0.2)
    return image
