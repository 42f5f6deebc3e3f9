"""Which SHAP explainer fits which model family, and the names and notes every chart states.

Tree SHAP for forests and boosting, Linear SHAP for linear models, Deep SHAP (Gradient SHAP as its
fallback) for the PyTorch nets, and the model-agnostic Permutation and Kernel SHAP for everything.
Also `single_threaded`, the OpenMP limit every explainer runs the model under, and `_NamedMethod`,
the title/exactness mixin shared by the engine and its result.
"""
from __future__ import annotations

DEFAULT_MAX_ROWS = 2000
AGNOSTIC_DEFAULT_ROWS = 100
EXACT_METHODS = ("tree", "linear", "deep")
METHOD_TITLES = {
    "tree": "Tree SHAP (exact)",
    "linear": "Linear SHAP (exact)",
    "deep": "Deep SHAP (DeepLIFT)",
    "gradient": "Gradient SHAP (expected gradients, approximate)",
    "permutation": "Permutation SHAP (model-agnostic)",
    "kernel": "Kernel SHAP (model-agnostic)",
}
METHOD_NOTES = {
    "tree": "exact Shapley values computed from the trees' own paths; no sampling",
    "linear": "exact for a linear model: each weight times the value's distance from the training average",
    "deep": "DeepLIFT-based SHAP through the network's layers, against a sample of training rows",
    "gradient": "averages gradients between sampled training rows and the row; an approximation",
    "permutation": "tries the features in random orders against a small sample of training rows",
    "kernel": "fits a weighted linear model to many masked copies of the row against k-means centres",
}


def single_threaded(model=None):
    """OpenMP on one thread for this thread's work (omp_set_num_threads is per calling thread).

    The explainers call the model on many small batches; scikit-learn's OpenMP loops (gradient
    boosting, k-NN) then spend more time waking threads than working, 6-20x slower on a busy 2-core
    machine (measured: predict_proba of 5,000 rows 0.2-0.7 s on 2 threads, 0.03 s on one).
    PyTorch models are left alone: they pick their own thread count, and limiting their OpenMP
    runtime from outside made the first Deep SHAP pass 1-20 s slower instead of faster.
    """
    import contextlib

    from threadpoolctl import threadpool_limits
    inner = model.named_steps["model"] if hasattr(model, "named_steps") else model
    if inner is not None and _model_kind(inner) == "torch":
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="openmp")


def _model_kind(model) -> str:
    """'tree' | 'linear' | 'torch' | 'other' for the fitted model step."""
    from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingClassifier,
                                  GradientBoostingRegressor, HistGradientBoostingClassifier,
                                  HistGradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    trees = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor,
             HistGradientBoostingClassifier, HistGradientBoostingRegressor, GradientBoostingRegressor,
             GradientBoostingClassifier)
    if isinstance(model, trees):
        return "tree"
    if isinstance(model, (LogisticRegression, Ridge, LinearRegression)):
        return "linear"
    from core.models import TorchMLPClassifier, TorchMLPRegressor
    if isinstance(model, (TorchMLPClassifier, TorchMLPRegressor)):
        return "torch"
    return "other"


def available_methods(pipeline) -> list[str]:
    """The explainers that fit this model, the recommended one first."""
    kind = _model_kind(pipeline.named_steps["model"])
    first = {"tree": ["tree"], "linear": ["linear"], "torch": ["deep", "gradient"], "other": []}[kind]
    return first + ["permutation", "kernel"]


def choose_method(pipeline) -> str:
    """Tree for forests and boosting, linear for linear models, Deep for PyTorch nets, else Permutation."""
    return available_methods(pipeline)[0]


def is_agnostic(method: str) -> bool:
    return method in ("permutation", "kernel")


def default_rows(method: str) -> int:
    return AGNOSTIC_DEFAULT_ROWS if is_agnostic(method) else DEFAULT_MAX_ROWS


class _NamedMethod:
    """The explainer's name and whether its values are exact, for anything with a `method`."""

    method: str

    @property
    def title(self) -> str:
        return METHOD_TITLES[self.method]

    @property
    def exact(self) -> bool:
        return self.method in EXACT_METHODS
