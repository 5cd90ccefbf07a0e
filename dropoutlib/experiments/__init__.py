"""The book's experiments: data, an MLP, training, sweeps, and the statistics to compare runs.

Needs the ``experiments`` extra (optax, scikit-learn, tqdm):
``pip install dropoutlib[experiments]``. Import it as
``import dropoutlib.experiments as dx``.
"""

from dropoutlib.experiments.compare import PairedDifference, paired_difference
from dropoutlib.experiments.data import Dataset, Split, load_digits, split_and_standardize
from dropoutlib.experiments.ensemble import (
    all_masks,
    mask_probabilities,
    mc_dropout_probs,
    running_mean_error,
    sigmoid_unit_ensemble,
)
from dropoutlib.experiments.mlp import init_mlp, max_norm, mlp_apply, mlp_forward, weight_penalty
from dropoutlib.experiments.regularization import (
    linear_dropout_loss,
    linear_dropout_loss_mc,
    linear_dropout_penalty,
    logistic_dropout_penalty_mc,
    logistic_loss,
    wager_quadratic_penalty,
)
from dropoutlib.experiments.reparam import LayerHyper, direct_equivalent, direct_params_from_inverted, train_layerwise
from dropoutlib.experiments.train import (
    Hyper,
    TrainConfig,
    TrainResult,
    cross_entropy,
    hyper_grid,
    hyper_variants,
    make_optimizer,
    per_example_scores,
    sweep,
    train,
)

__all__ = [
    "Dataset",
    "Hyper",
    "LayerHyper",
    "PairedDifference",
    "Split",
    "TrainConfig",
    "TrainResult",
    "all_masks",
    "cross_entropy",
    "direct_equivalent",
    "direct_params_from_inverted",
    "hyper_grid",
    "hyper_variants",
    "init_mlp",
    "linear_dropout_loss",
    "linear_dropout_loss_mc",
    "linear_dropout_penalty",
    "load_digits",
    "logistic_dropout_penalty_mc",
    "logistic_loss",
    "make_optimizer",
    "mask_probabilities",
    "max_norm",
    "mc_dropout_probs",
    "mlp_apply",
    "mlp_forward",
    "paired_difference",
    "per_example_scores",
    "running_mean_error",
    "sigmoid_unit_ensemble",
    "split_and_standardize",
    "sweep",
    "train",
    "train_layerwise",
    "wager_quadratic_penalty",
    "weight_penalty",
]
