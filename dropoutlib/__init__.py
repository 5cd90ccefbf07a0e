"""dropoutlib: dropout, its statistics, and the experiments of the book.

Pure functions, key first, in the style of ``jax.random``. ``rate`` is always
the DROP probability ``p``; ``q = 1 - p`` is the keep probability.
"""

from dropoutlib.binomial import (
    chernoff_bound,
    dropped_count_cdf,
    dropped_count_chisquare,
    dropped_count_interval,
    dropped_count_logpmf,
    dropped_count_pmf,
    dropped_fraction_tail,
)
from dropoutlib.dropout import dropout
from dropoutlib.gaussian import gaussian_dropout
from dropoutlib.masks import bernoulli_mask
from dropoutlib.profiling import compiled_cost, forward_backward, residual_bytes
from dropoutlib.moments import dropout_moments, variance_z_score, z_score

__all__ = [
    "bernoulli_mask",
    "compiled_cost",
    "forward_backward",
    "residual_bytes",
    "chernoff_bound",
    "dropout",
    "gaussian_dropout",
    "dropout_moments",
    "dropped_count_cdf",
    "dropped_count_chisquare",
    "dropped_count_interval",
    "dropped_count_logpmf",
    "dropped_count_pmf",
    "dropped_fraction_tail",
    "variance_z_score",
    "z_score",
]

__version__ = "0.1.0"

from dropoutlib.data import Dataset, Split, load_digits, split_and_standardize  # noqa: E402
from dropoutlib.ensemble import (  # noqa: E402
    all_masks,
    mask_probabilities,
    mc_dropout_probs,
    running_mean_error,
    sigmoid_unit_ensemble,
)
from dropoutlib.mlp import init_mlp, max_norm, mlp_apply, mlp_forward, weight_penalty  # noqa: E402
from dropoutlib.regularization import (  # noqa: E402
    linear_dropout_loss,
    linear_dropout_loss_mc,
    linear_dropout_penalty,
    logistic_dropout_penalty_mc,
    logistic_loss,
    wager_quadratic_penalty,
)
from dropoutlib.reparam import (  # noqa: E402
    LayerHyper,
    direct_equivalent,
    direct_params_from_inverted,
    train_layerwise,
)
from dropoutlib.train import (  # noqa: E402
    Hyper,
    TrainConfig,
    TrainResult,
    cross_entropy,
    hyper_grid,
    hyper_variants,
    sweep,
    train,
)

__all__ += [
    "linear_dropout_loss",
    "linear_dropout_loss_mc",
    "linear_dropout_penalty",
    "logistic_dropout_penalty_mc",
    "logistic_loss",
    "wager_quadratic_penalty",
    "all_masks",
    "mask_probabilities",
    "mc_dropout_probs",
    "running_mean_error",
    "sigmoid_unit_ensemble",
    "Dataset",
    "LayerHyper",
    "direct_equivalent",
    "direct_params_from_inverted",
    "train_layerwise",
    "Hyper",
    "Split",
    "TrainConfig",
    "TrainResult",
    "cross_entropy",
    "hyper_grid",
    "hyper_variants",
    "init_mlp",
    "load_digits",
    "max_norm",
    "mlp_apply",
    "mlp_forward",
    "split_and_standardize",
    "sweep",
    "train",
    "weight_penalty",
]
