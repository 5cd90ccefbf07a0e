"""Calibration and separation of predicted probabilities, with paired intervals.

Two questions about a classifier's probabilities, beyond its error rate:

* **Calibration.** Of the predictions made with confidence ``c`` (the largest
  class probability), is a fraction ``c`` right? Sort the predictions into
  ``B`` equal-width bins of confidence; bin ``b`` holds ``n_b`` of the ``n``
  predictions, with mean confidence ``conf_b`` and accuracy ``acc_b``. The
  *reliability diagram* plots ``acc_b`` against ``conf_b``, and the *expected
  calibration error* is

  .. math:: \\mathrm{ECE} = \\sum_b \\frac{n_b}{n} \\lvert \\mathrm{acc}_b - \\mathrm{conf}_b \\rvert
            = \\frac{1}{n} \\sum_b \\Bigl\\lvert \\sum_{i \\in b} (\\mathrm{correct}_i - c_i) \\Bigr\\rvert .

  A calibrated predictor has ECE near 0 (not exactly: with finitely many
  predictions the absolute value makes the estimate biased upward, by
  roughly ``sqrt(2 / pi) * sum_b sqrt(acc_b (1 - acc_b) n_b) / n``).
* **Separation.** Does a score (an entropy, a mutual information) rank
  unfamiliar inputs above familiar ones? The area under the ROC curve is the
  probability that a random unfamiliar input scores higher than a random
  familiar one, ties counting one half; it equals the Mann-Whitney statistic
  ``U / (n_in n_out)`` (``scipy.stats.mannwhitneyu`` computes ``U``).

The book compares set-ups **paired** (same seeds, same test examples) with
intervals that cover the seeds and the finite test set, as
:func:`dropoutlib.experiments.compare.paired_difference` does for averages
of per-example scores. For calibration the book compares such averages: the
log loss and the *overconfidence* ``mean(c_i - correct_i)`` (average
confidence minus accuracy) are means of per-example scores
(:func:`scores_from_logits`); the ECE is shown as a description, next to
the ECE that a perfectly calibrated predictor with the same confidences
would show from sampling noise alone (:func:`calibrated_ece_reference`,
which must be told whether the predictions of several seeds on the same
examples share their outcomes).
(A bootstrap interval for an ECE difference is not offered: resampling
inflates the ECE of the better calibrated set-up more, so the percentile
interval is shifted.)

The AUROC is not an average of per-example scores either, but to first
order it is: its Hajek projection gives each example ``i`` a component
``psi_i = V_in(i) + V_out(i) - AUROC`` whose mean is exactly the AUROC
(``V_in(i)``: the fraction of unfamiliar inputs that outscore familiar input
``i``; ``V_out(i)``: the fraction of familiar inputs that unfamiliar input
``i`` outscores). Its variance over examples is DeLong's variance (DeLong,
DeLong and Clarke-Pearson, 1988) for a design in which example ``i`` of the
two sets is drawn as a pair (the rotated copy of test image ``i``, say).
:func:`auroc_components` returns the components, which go to
``paired_difference`` like any per-example score.

Mutual information and entropies of MC-dropout predictions
(:func:`predictive_entropy`, :func:`mutual_information`) are the scores
whose separation the AUROC measures.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jax.typing import ArrayLike
from scipy import special, stats

from dropoutlib.experiments.compare import PairedDifference, paired_difference

__all__ = [
    "ReliabilityBins",
    "auroc",
    "auroc_components",
    "auroc_difference",
    "auroc_estimate",
    "calibrated_ece_reference",
    "confidence_and_correct",
    "expected_calibration_error",
    "mutual_information",
    "predictive_entropy",
    "reliability_bins",
    "scores_from_logits",
]


def confidence_and_correct(probs: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The confidence ``max_k probs[..., k]`` and 1.0 where the argmax equals the label."""
    probs = np.asarray(probs, np.float64)
    labels = np.asarray(labels)
    if probs.ndim < 1 or probs.shape[:-1] != np.broadcast_shapes(probs.shape[:-1], labels.shape):
        raise ValueError(f"probs {probs.shape} and labels {labels.shape} do not match")
    return probs.max(axis=-1), (probs.argmax(axis=-1) == labels).astype(np.float64)


def _bin_index(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins on [0, 1]; a confidence of exactly 1 falls in the last bin."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins!r}")
    if np.any((confidence < 0.0) | (confidence > 1.0)) or not np.all(np.isfinite(confidence)):
        raise ValueError("confidences must lie in [0, 1]")
    return np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)


class ReliabilityBins(NamedTuple):
    """Per-bin count, mean confidence and accuracy (NaN in empty bins), and the bin edges."""

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def reliability_bins(confidence: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> ReliabilityBins:
    """The points of a reliability diagram: ``n_bins`` equal-width bins of confidence on [0, 1].

    Arrays of any shape are pooled (for example seeds x examples).
    """
    confidence = np.ravel(np.asarray(confidence, np.float64))
    correct = np.ravel(np.asarray(correct, np.float64))
    if confidence.shape != correct.shape:
        raise ValueError(f"confidence {confidence.shape} and correct {correct.shape} must match")
    index = _bin_index(confidence, n_bins)
    count = np.bincount(index, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, confidence, minlength=n_bins) / count
        accuracy = np.bincount(index, correct, minlength=n_bins) / count
    return ReliabilityBins(np.linspace(0.0, 1.0, n_bins + 1), count.astype(np.int64), mean_conf, accuracy)


def expected_calibration_error(confidence: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> float:
    """``ECE = sum_b (n_b / n) |acc_b - conf_b|`` over equal-width bins, all predictions pooled."""
    bins = reliability_bins(confidence, correct, n_bins)
    full = bins.count > 0
    n = bins.count.sum()
    return float(np.sum(bins.count[full] / n * np.abs(bins.accuracy[full] - bins.confidence[full])))


def calibrated_ece_reference(
    confidence: ArrayLike,
    n_bins: int = 10,
    *,
    shared_outcomes: bool = False,
    n_draws: int = 2000,
    seed: int = 0,
    quantile: float = 0.95,
) -> tuple[float, float]:
    """The ECE a perfectly calibrated predictor with these confidences shows from noise alone.

    Draws outcomes ``correct_i ~ Bernoulli(c_i)`` ``n_draws`` times
    (calibrated by construction), computes the ECE of each draw with the
    same ``n_bins`` bins, and returns the mean and the ``quantile`` of those
    ECEs: the floor below which an observed ECE carries no evidence of
    miscalibration. How the outcomes depend on each other is an assumption:

    * ``shared_outcomes=False``: every prediction's outcome is drawn
      independently. Right for distinct test examples of one network.
    * ``shared_outcomes=True``: ``confidence`` has shape
      ``(seeds, ..., examples)`` and the networks of all seeds score the
      same examples; one uniform ``u_i`` per example is shared by all seeds,
      ``correct_{s,i} = [u_i < c_{s,i}]`` (the comonotone coupling: the seeds
      agree on an example as much as their confidences allow). For
      confidences pooled over seeds this is the cautious floor: within a
      bin the ECE adds ``|sum_i D_i|`` over independent examples ``i``, where
      ``D_i`` sums the centred outcomes of example ``i``'s seeds in that bin,
      and a comonotone sum is the largest in convex order among all couplings
      with the same marginals (Dhaene et al., 2002), so no dependence
      between seeds gives a larger mean floor. (For the quantile this is
      the same ordering in spirit, not a theorem.) Independence is the other
      extreme; seeds that agree on which examples are hard lie in between.

    Examples are always independent of each other.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
    confidence = np.asarray(confidence, np.float64)
    if shared_outcomes and confidence.ndim < 2:
        raise ValueError(f"shared outcomes need confidences of shape (seeds, ..., examples), got {confidence.shape}")
    flat = np.ravel(confidence)
    one_hot = np.zeros((flat.size, n_bins))
    one_hot[np.arange(flat.size), _bin_index(flat, n_bins)] = 1.0
    rng = np.random.default_rng(seed)
    if shared_outcomes:  # one uniform per example, broadcast over the leading (seed) axes
        uniforms = rng.random((n_draws, *(1,) * (confidence.ndim - 1), confidence.shape[-1]))
    else:
        uniforms = rng.random((n_draws, *confidence.shape))
    gaps = ((uniforms < confidence) - confidence).reshape(n_draws, flat.size)  # centred outcomes
    eces = np.abs(gaps @ one_hot).sum(axis=1) / flat.size
    return float(eces.mean()), float(np.quantile(eces, quantile))


def scores_from_logits(logits: ArrayLike, labels: ArrayLike) -> dict[str, np.ndarray]:
    """Per-example scores of softmax predictions, in float64.

    For logits of shape ``(..., examples, classes)`` returns arrays of shape
    ``(..., examples)``: ``"error"`` (1.0 where the argmax is wrong),
    ``"loss"`` (the log loss ``-log softmax(logits)[y]``, computed from
    ``log_softmax`` so that it stays finite), ``"confidence"`` (the largest
    probability) and ``"overconfidence"`` (``confidence - correct``; its mean
    is the average confidence minus the accuracy).
    """
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels)
    log_probs = special.log_softmax(logits, axis=-1)
    labels_b = np.broadcast_to(labels, log_probs.shape[:-1])
    loss = -np.take_along_axis(log_probs, labels_b[..., None], axis=-1)[..., 0]
    confidence, correct = confidence_and_correct(np.exp(log_probs), labels_b)
    return {"error": 1.0 - correct, "loss": loss, "confidence": confidence, "overconfidence": confidence - correct}


def predictive_entropy(probs: ArrayLike) -> np.ndarray:
    """``H[p] = -sum_k p_k log p_k`` over the last axis, in nats (``0 log 0 = 0``)."""
    probs = np.asarray(probs, np.float64)
    return -np.sum(special.xlogy(probs, probs), axis=-1)


def mutual_information(samples: ArrayLike) -> np.ndarray:
    """``H[mean_t p_t] - mean_t H[p_t]`` for samples ``p_t`` stacked on the first axis.

    For MC dropout (Gal and Ghahramani, 2016) the ``p_t`` are the class
    probabilities of ``T`` thinned networks; the result is the mutual
    information between the predicted class and the mask. It is 0 when all
    thinned networks agree, whatever they predict, and at most ``log T``
    and ``log(classes)``.
    """
    samples = np.asarray(samples, np.float64)
    return predictive_entropy(samples.mean(axis=0)) - predictive_entropy(samples).mean(axis=0)


def auroc(scores_in: ArrayLike, scores_out: ArrayLike) -> float:
    """``P(score_out > score_in) + P(tie) / 2`` for one familiar and one unfamiliar input.

    Computed as the Mann-Whitney statistic ``U / (n_in n_out)`` of the
    unfamiliar scores against the familiar ones.
    """
    scores_in = np.ravel(np.asarray(scores_in, np.float64))
    scores_out = np.ravel(np.asarray(scores_out, np.float64))
    u = stats.mannwhitneyu(scores_out, scores_in, alternative="two-sided", method="asymptotic").statistic
    return float(u) / (scores_in.size * scores_out.size)


def auroc_components(scores_in: ArrayLike, scores_out: ArrayLike) -> np.ndarray:
    """Per-example components ``psi_i`` whose mean over ``i`` is the AUROC, seed by seed.

    ``scores_in`` and ``scores_out`` have shape ``(..., N)``: the same number
    ``N`` of familiar and unfamiliar inputs, example ``i`` of each resampled
    together. With ``H(d) = 1, 1/2, 0`` for ``d > 0, = 0, < 0``,
    ``V_in(i) = mean_j H(out_j - in_i)``, ``V_out(i) = mean_j H(out_i - in_j)``
    and ``psi_i = V_in(i) + V_out(i) - AUROC`` (the Hajek projection of the
    Mann-Whitney statistic). Returns an array of the same shape.
    """
    s_in = np.asarray(scores_in, np.float64)
    s_out = np.asarray(scores_out, np.float64)
    if s_in.shape != s_out.shape or s_in.ndim < 1:
        raise ValueError(f"need paired scores of equal shape (..., N), got {s_in.shape} and {s_out.shape}")
    diff = s_out[..., None, :] - s_in[..., :, None]  # [..., i (in), j (out)]
    h = (diff > 0) + 0.5 * (diff == 0)
    v_in = h.mean(axis=-1)  # over the unfamiliar inputs, for each familiar one
    v_out = h.mean(axis=-2)  # over the familiar inputs, for each unfamiliar one
    area = h.mean(axis=(-2, -1), keepdims=True)[..., 0]
    return v_in + v_out - area


def auroc_estimate(scores_in: ArrayLike, scores_out: ArrayLike, **kwargs) -> PairedDifference:
    """The AUROC averaged over seeds, with an interval over seeds and examples.

    Scores have shape ``(seeds, N)``. Returned as the difference of the
    AUROC to zero, so that ``.mean``, ``.low`` and ``.high`` are the AUROC
    and its interval. Keyword arguments go to ``paired_difference``.
    """
    psi = auroc_components(scores_in, scores_out)
    return paired_difference(psi, np.zeros_like(psi), **kwargs)


def auroc_difference(
    scores_in_a: ArrayLike, scores_out_a: ArrayLike, scores_in_b: ArrayLike, scores_out_b: ArrayLike, **kwargs
) -> PairedDifference:
    """``AUROC(score A) - AUROC(score B)`` on the same inputs and seeds, with its interval.

    All arrays have shape ``(seeds, N)``; scores A and B are two ways of
    scoring the same predictions (a mutual information and an entropy, say).
    Keyword arguments go to ``paired_difference``.
    """
    return paired_difference(auroc_components(scores_in_a, scores_out_a), auroc_components(scores_in_b, scores_out_b), **kwargs)
