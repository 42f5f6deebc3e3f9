"""The model zoo behind the scikit-learn estimator interface (scikit-learn families and PyTorch networks)."""
from core.models._zoo import (Param, Family, OPTIMIZERS, OPTIMIZER_TITLES, FAMILIES, DEFAULT_LEADERBOARD, family, default_params, ModelSpec, make_estimator)
from core.models.torch_mlp import TorchMLPClassifier, TorchMLPRegressor
