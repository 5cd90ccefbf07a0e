"""Calibration (ECE, reliability bins), AUROC with paired intervals, MC-dropout uncertainty scores."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from dropoutlib.experiments import calibration as cal


# ------------------------------------------------------------------ calibration
def test_reliability_bins_by_hand():
    conf = np.array([0.15, 0.55, 0.58, 0.95, 1.0])
    correct = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    bins = cal.reliability_bins(conf, correct, n_bins=10)
    assert bins.count.tolist() == [0, 1, 0, 0, 0, 2, 0, 0, 0, 2]  # a confidence of 1 lands in the last bin
    assert bins.confidence[5] == pytest.approx(0.565) and bins.accuracy[5] == pytest.approx(0.5)
    assert bins.confidence[9] == pytest.approx(0.975) and bins.accuracy[9] == 1.0
    assert np.isnan(bins.accuracy[0]) and np.isnan(bins.confidence[0])
    # ECE = (1 * |0 - 0.15| + 2 * |0.5 - 0.565| + 2 * |1 - 0.975|) / 5
    assert cal.expected_calibration_error(conf, correct, 10) == pytest.approx((0.15 + 0.13 + 0.05) / 5)


def test_ece_rejects_confidences_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cal.expected_calibration_error([0.5, 1.2], [1.0, 0.0])
    with pytest.raises(ValueError, match="must match"):
        cal.reliability_bins([0.5, 0.6], [1.0])


def test_ece_measures_a_known_miscalibration():
    # Confidence 0.9 everywhere, right 80 % of the time: ECE = |0.8 - 0.9| = 0.1,
    # up to the binomial noise of the accuracy (4 standard errors).
    rng = np.random.default_rng(0)
    n = 20_000
    correct = (rng.random(n) < 0.8).astype(float)
    ece = cal.expected_calibration_error(np.full(n, 0.9), correct)
    assert abs(ece - 0.1) < 4 * np.sqrt(0.8 * 0.2 / n)


def test_calibrated_reference_matches_the_noise_floor_of_calibrated_predictions():
    # A perfectly calibrated predictor's ECE is not 0: |sum of centred
    # Bernoulli outcomes| has mean ~ sqrt(2/pi) * sd per bin. The reference
    # must reproduce that floor, and a calibrated sample must fall below its
    # 95 % quantile about 95 % of the time.
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.3, 1.0, size=2000)
    mean, q95 = cal.calibrated_ece_reference(conf, 10, n_draws=4000, seed=2)
    index = np.minimum((conf * 10).astype(int), 9)
    normal_floor = sum(np.sqrt(2 / np.pi * np.sum(conf[index == b] * (1 - conf[index == b]))) for b in range(10)) / conf.size
    assert mean == pytest.approx(normal_floor, rel=0.05)
    below = [cal.expected_calibration_error(conf, rng.random(conf.size) < conf) <= q95 for _ in range(400)]
    # Binomial(400, 0.95): mean 380, sd 4.4; 4 sd either side.
    assert 362 <= sum(below) <= 398


def _ece_floor_by_loop(conf, n_bins, draws):
    """The floor's definition, one draw at a time: ECE of outcomes drawn from the given uniforms."""
    eces = []
    for u in draws:
        correct = (u < conf).astype(float)
        eces.append(cal.expected_calibration_error(conf, correct, n_bins))
    return np.array(eces)


def test_calibrated_reference_is_the_ece_of_calibrated_draws_in_both_couplings():
    rng = np.random.default_rng(8)
    conf = rng.uniform(0.4, 1.0, size=(3, 60))  # 3 seeds x 60 examples
    for shared in (False, True):
        mean, q95 = cal.calibrated_ece_reference(conf, 10, shared_outcomes=shared, n_draws=300, seed=9)
        shape = (300, 1, 60) if shared else (300, 3, 60)
        uniforms = np.random.default_rng(9).random(shape)
        loop = _ece_floor_by_loop(conf, 10, np.broadcast_to(uniforms, (300, 3, 60)))
        assert mean == pytest.approx(loop.mean(), rel=1e-12)
        assert q95 == pytest.approx(np.quantile(loop, 0.95), rel=1e-12)


def test_seeds_that_share_outcomes_do_not_lower_the_floor():
    # Ten identical seeds that share each example's outcome are one seed ten
    # times over: the same floor, exactly. Drawn independently, they would
    # pass for ten times the predictions and lower the floor by about sqrt(10).
    rng = np.random.default_rng(10)
    one = rng.uniform(0.5, 1.0, size=359)
    ten = np.tile(one, (10, 1))
    single = cal.calibrated_ece_reference(one[None, :], shared_outcomes=True)
    assert cal.calibrated_ece_reference(ten, shared_outcomes=True) == pytest.approx(single, rel=1e-12)
    independent = cal.calibrated_ece_reference(ten)
    assert 2.5 < single[0] / independent[0] < 4.0  # sqrt(10) = 3.16
    # Seeds that differ: sharing gives the larger floor (the comonotone coupling).
    varied = np.clip(one + 0.1 * rng.normal(size=(10, 359)), 0.0, 1.0)
    assert cal.calibrated_ece_reference(varied, shared_outcomes=True)[0] > cal.calibrated_ece_reference(varied)[0]
    with pytest.raises(ValueError, match="seeds"):
        cal.calibrated_ece_reference(one, shared_outcomes=True)


def test_shared_floor_holds_its_level_for_seeds_that_share_outcomes():
    # Outcomes drawn the shared way are calibrated: their ECE must stay below
    # the shared 95 % floor about 95 % of the time, where the independent
    # floor (too low for them) is exceeded far more often.
    rng = np.random.default_rng(11)
    base = rng.uniform(0.5, 1.0, size=200)
    conf = np.clip(base + 0.05 * rng.normal(size=(5, 200)), 0.0, 1.0)
    _, shared95 = cal.calibrated_ece_reference(conf, shared_outcomes=True, n_draws=4000, seed=12)
    _, indep95 = cal.calibrated_ece_reference(conf, n_draws=4000, seed=12)
    eces = [cal.expected_calibration_error(conf, rng.random(200) < conf) for _ in range(400)]
    below_shared = sum(e <= shared95 for e in eces)
    below_indep = sum(e <= indep95 for e in eces)
    # Binomial(400, 0.95): mean 380, sd 4.4; 4 sd either side.
    assert 362 <= below_shared <= 398, below_shared
    assert below_indep < 362, below_indep


def test_scores_from_logits_stay_finite_and_add_up():
    logits = np.array([[[1000.0, 0.0, 0.0], [0.0, 2.0, 0.0]], [[0.0, 0.0, 5.0], [1.0, 1.0, 1.0]]])
    labels = np.array([1, 1])
    scores = cal.scores_from_logits(logits, labels)
    assert scores["loss"][0, 0] == pytest.approx(1000.0)  # softmax would give log(0)
    assert np.all(np.isfinite(scores["loss"]))
    assert scores["error"].tolist() == [[1.0, 0.0], [1.0, 1.0]]  # a tie goes to class 0: wrong here
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    assert np.allclose(scores["confidence"], probs.max(-1))
    assert scores["overconfidence"].mean() == pytest.approx(probs.max(-1).mean() - (1 - scores["error"]).mean())
    assert np.allclose(scores["loss"][1, 1], np.log(3.0))


def test_entropy_and_mutual_information_by_hand():
    agree = np.tile(np.array([[0.7, 0.2, 0.1]]), (5, 1))[:, None, :]  # 5 samples, 1 example
    assert cal.mutual_information(agree)[0] == pytest.approx(0.0, abs=1e-12)
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two thinned nets, opposite and certain
    assert cal.mutual_information(disagree)[0] == pytest.approx(np.log(2))
    assert cal.predictive_entropy(np.array([0.25] * 4)) == pytest.approx(np.log(4))
    assert cal.predictive_entropy(np.array([1.0, 0.0])) == 0.0  # 0 log 0 = 0, no NaN


# ------------------------------------------------------------------ AUROC
def test_auroc_is_the_pairwise_probability_with_ties_counting_half():
    rng = np.random.default_rng(3)
    s_in = rng.integers(0, 6, size=40).astype(float)  # many ties
    s_out = rng.integers(2, 8, size=40).astype(float)
    brute = np.mean((s_out[None, :] > s_in[:, None]) + 0.5 * (s_out[None, :] == s_in[:, None]))
    assert cal.auroc(s_in, s_out) == pytest.approx(brute)
    labels = np.r_[np.zeros(40), np.ones(40)]
    assert cal.auroc(s_in, s_out) == pytest.approx(roc_auc_score(labels, np.r_[s_in, s_out]))
    assert cal.auroc(s_out, s_in) == pytest.approx(1.0 - brute)


def test_auroc_components_average_to_the_auroc_seed_by_seed():
    rng = np.random.default_rng(4)
    s_in = rng.normal(size=(3, 50))
    s_out = rng.normal(0.8, 1.0, size=(3, 50))
    psi = cal.auroc_components(s_in, s_out)
    assert psi.shape == (3, 50)
    for s in range(3):
        assert psi[s].mean() == pytest.approx(cal.auroc(s_in[s], s_out[s]))
    estimate = cal.auroc_estimate(s_in, s_out)
    assert estimate.mean == pytest.approx(np.mean([cal.auroc(a, b) for a, b in zip(s_in, s_out)]))
    with pytest.raises(ValueError, match="equal shape"):
        cal.auroc_components(s_in, s_out[:, :40])


def _paired_scores(rng, n_seeds, n, delta, tau):
    """Familiar scores x_i, unfamiliar y_i = delta + 0.5 x_i + ..., drawn as pairs; seed noise tau."""
    x = rng.normal(size=n)
    y = delta + 0.5 * x + np.sqrt(0.75) * rng.normal(size=n)
    return x + tau * rng.normal(size=(n_seeds, n)), y + tau * rng.normal(size=(n_seeds, n))


def test_auroc_interval_covers_the_true_auroc():
    # For i != j, y_j - x_i ~ N(delta, 2 + 2 tau^2): the true AUROC is
    # Phi(delta / sqrt(2 + 2 tau^2)) (pairs i = j are a 1/n minority).
    rng = np.random.default_rng(5)
    delta, tau, n = 1.0, 0.3, 200
    truth = stats.norm.cdf(delta / np.sqrt(2 + 2 * tau**2))
    covered = 0
    for r in range(200):
        s_in, s_out = _paired_scores(rng, 3, n, delta, tau)
        est = cal.auroc_estimate(s_in, s_out, n_resamples=1000, seed=r)
        covered += est.low <= truth <= est.high
    # Binomial(200, 0.95): mean 190, sd 3.1; the two-way bootstrap may be conservative.
    assert covered >= 178, covered


def test_linearized_interval_agrees_with_a_full_bootstrap_of_the_auroc():
    # Resample seeds and examples, recompute every seed's AUROC from scratch:
    # the spread must match that of the linearized (Hajek) components.
    rng = np.random.default_rng(6)
    s_in, s_out = _paired_scores(rng, 4, 150, 1.0, 0.3)
    n_seeds, n = s_in.shape
    h = (s_out[:, None, :] > s_in[:, :, None]) + 0.5 * (s_out[:, None, :] == s_in[:, :, None])  # [s, i, j]
    draws = 3000
    w = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=draws)
    v = rng.multinomial(n, np.full(n, 1 / n), size=draws).astype(float)
    per_seed = np.einsum("ri,sij,rj->rs", v, h, v) / n**2
    full = (w * per_seed).sum(axis=1) / n_seeds
    full_low, full_high = np.quantile(full, [0.025, 0.975])
    est = cal.auroc_estimate(s_in, s_out)
    assert (est.high - est.low) == pytest.approx(full_high - full_low, rel=0.2)


def test_auroc_difference_is_paired():
    rng = np.random.default_rng(7)
    s_in, s_out = _paired_scores(rng, 5, 200, 1.0, 0.3)
    same = cal.auroc_difference(s_in, s_out, s_in, s_out)
    assert same.mean == 0.0 and same.low == 0.0 and same.high == 0.0
    # A score that adds noise to the same ranking separates worse, and the
    # paired interval sees it although the two AUROCs' own intervals overlap.
    noisy_in = s_in + 0.3 * rng.normal(size=s_in.shape)
    noisy_out = s_out + 0.3 * rng.normal(size=s_out.shape)
    diff = cal.auroc_difference(noisy_in, noisy_out, s_in, s_out)
    a, b = cal.auroc_estimate(noisy_in, noisy_out), cal.auroc_estimate(s_in, s_out)
    assert diff.mean == pytest.approx(a.mean - b.mean)
    assert diff.verdict() == "worse"
    assert a.high > b.low  # the unpaired intervals overlap
