"""The dropout diagrams draw what the masks say, and the masks are the ones training applies."""

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

import dropoutlib.experiments as dx  # noqa: E402
from dropoutlib.book.diagrams import draw_network, mask_heatmap, minibatch_masks  # noqa: E402

SIZES = (6, 10, 10, 3)
RATES = (0.2, 0.5, 0.5)


def test_minibatch_masks_are_the_masks_mlp_forward_applies():
    # Rebuild a training forward pass from the masks alone (inverted
    # dropout: kept entries divided by q) and compare with the library's.
    key = jax.random.key(4)
    params = dx.init_mlp(jax.random.key(0), SIZES)
    x = jax.random.normal(jax.random.key(1), (32, SIZES[0]))
    masks = minibatch_masks(key, SIZES, RATES, batch=32)
    assert [m.shape for m in masks] == [(32, n) for n in SIZES[:-1]]
    h = x
    for layer, p in enumerate(params):
        h = jnp.where(masks[layer], h / (1.0 - RATES[layer]), 0.0) @ p["w"] + p["b"]
        if layer < len(params) - 1:
            h = jax.nn.relu(h)
    logits = dx.mlp_apply(params, x, key=key, rates=RATES, train=True)
    np.testing.assert_allclose(h, logits, rtol=1e-5, atol=1e-5)


def test_every_example_gets_its_own_mask():
    (inputs, hidden, _) = minibatch_masks(jax.random.key(0), (64, 256, 256, 10), RATES, batch=64)
    assert len({row.tobytes() for row in hidden}) == 64
    # Kept fraction within 4 sigma of q.
    q, n = 0.5, hidden.size
    assert abs(hidden.mean() - q) < 4 * np.sqrt(q * (1 - q) / n)
    assert abs(inputs.mean() - 0.8) < 4 * np.sqrt(0.8 * 0.2 / inputs.size)


def test_minibatch_masks_rejects_a_wrong_number_of_rates():
    with pytest.raises(ValueError, match="one rate per layer"):
        minibatch_masks(jax.random.key(0), SIZES, (0.5, 0.5), batch=4)


def drawn(ax):
    (edges,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    return edges, circles


def test_the_full_network_draws_every_unit_and_connection():
    fig, ax = plt.subplots()
    result = draw_network(ax, SIZES)
    edges, circles = drawn(ax)
    assert result.edges == len(edges.get_segments()) == 6 * 10 + 10 * 10 + 10 * 3
    assert len(circles) == sum(SIZES) and result.dropped == (0, 0, 0)
    plt.close(fig)


def test_a_thinned_network_draws_only_connections_between_kept_units():
    masks = minibatch_masks(jax.random.key(2), SIZES, RATES, batch=1)
    keep = [m[0] for m in masks]
    fig, ax = plt.subplots()
    result = draw_network(ax, SIZES, keep)
    edges, circles = drawn(ax)
    kept = [int(m.sum()) for m in keep] + [SIZES[-1]]
    expected = sum(a * b for a, b in zip(kept[:-1], kept[1:]))
    assert result.edges == len(edges.get_segments()) == expected
    assert result.dropped == tuple(int((~m).sum()) for m in keep) and sum(result.dropped) > 0
    # Dropped units are hollow: white face; kept units are filled.
    hollow = sum(1 for c in circles if c.get_facecolor()[:3] == (1.0, 1.0, 1.0))
    assert hollow == sum(result.dropped)
    # No drawn connection touches a dropped unit.
    dropped_points = {
        (2.0 * layer, y) for layer, m in enumerate(keep) for y, k in zip(np.arange(len(m)) - (len(m) - 1) / 2, m) if not k
    }
    ends = {tuple(point) for segment in edges.get_segments() for point in segment}
    assert not dropped_points & ends
    plt.close(fig)


def test_draw_network_rejects_masks_that_do_not_fit():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="one mask per layer"):
        draw_network(ax, SIZES, [np.ones(6, bool)])
    with pytest.raises(ValueError, match="keep\\[1\\]"):
        draw_network(ax, SIZES, [np.ones(6, bool), np.ones(9, bool), np.ones(10, bool)])
    plt.close(fig)


def test_mask_heatmap_shows_the_mask():
    mask = minibatch_masks(jax.random.key(3), (8, 40, 3), (0.0, 0.5), batch=16)[1]
    fig, ax = plt.subplots()
    image = mask_heatmap(ax, mask)
    np.testing.assert_array_equal(image.get_array(), mask.astype(np.int8))
    assert ax.get_xlabel() and ax.get_ylabel()
    with pytest.raises(ValueError, match="2-D bool"):
        mask_heatmap(ax, mask.astype(float))
    plt.close(fig)
