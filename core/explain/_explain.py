"""SHAP explanations of a fitted ModelDeck pipeline, told in the columns people know.

Where the SHAP values live: every explainer works on what the model step really sees, the output of
the pipeline's "prep" ColumnTransformer (scaled numbers, one 0/1 column per category). SHAP values
are additive, so the values of the one-hot columns of a category column are summed back into one
value for the original column; numeric columns map one to one. Charts and sentences therefore speak
of the data set's own columns with their raw values (`worst area = 1,820`, not a z-score), and the
per-transformed-column values are stored alongside.

Which output is explained (stated on every chart, additivity checked against exactly that output):
- Tree SHAP (exact, path-dependent, no background needed): random forests explain the class
  probability (their trees average leaf frequencies); gradient boosting explains its raw margin,
  the log-odds (two classes) or the per-class score before the softmax (several classes).
- Linear SHAP (exact, independent features, training-row background): the log-odds / class scores.
- Deep SHAP (DeepLIFT rescale rule on a float64 copy of the PyTorch network): the network's logits;
  for two classes their difference, which is exactly the log-odds. If the sums do not hold within
  1e-4 (a layer DeepLIFT does not know), Gradient SHAP (expected gradients, approximate) takes over.
- Permutation / Kernel SHAP (model-agnostic, small sampled / k-means background): the class
  probability, or the predicted value for regression.
For two classes only the positive class is explained (the other is its mirror image).

Large data: a seeded sample of at most DEFAULT_MAX_ROWS rows of train + test is explained; results
are stored with the run (`save_explanation`: .npz without pickles + .json metadata).
"""
from __future__ import annotations

import copy
import json
import os
import platform
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from core.common import ModelDeckError

Progress = Callable[..., None]   # progress(fraction, message)

ADDITIVITY_TOL = 1e-4
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
#: background rows drawn from the training split, per method (tree needs none)
BACKGROUND_ROWS = {"tree": 0, "linear": 1000, "deep": 50, "gradient": 50, "permutation": 25, "kernel": 200}
KERNEL_CENTRES = 10
#: rows explained per call, so progress moves and a rerun can interrupt between chunks
CHUNK_ROWS = {"tree": 500, "linear": 5000, "deep": 50, "gradient": 20, "permutation": 4, "kernel": 2}
ENTITY_WORDS = {
    "builtin:breast_cancer": ("patient", "patients"), "builtin:diabetes": ("patient", "patients"),
    "builtin:churn": ("customer", "customers"), "builtin:wine": ("wine", "wines"),
    "builtin:iris": ("flower", "flowers"), "builtin:digits": ("image", "images"),
}


def _quiet(*_args, **_kwargs) -> None:
    return None


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


def entity_words(dataset_key: str) -> tuple[str, str]:
    """How to call one row and many rows of this data set ("patient", "patients")."""
    return ENTITY_WORDS.get(dataset_key, ("row", "rows"))


def fmt_value(value) -> str:
    """A feature value for people: 1,820 · 25.4 · 0.147 · 'yes'."""
    if isinstance(value, str):
        return f"'{value}'"
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    v = float(value)
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    size = abs(v)
    return f"{v:,.0f}" if size >= 1000 else f"{v:.1f}" if size >= 10 else f"{v:.2f}" if size >= 1 else f"{v:.3g}"


# ---------------------------------------------------------------- model kinds and methods
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
    from core.models.torch_mlp import TorchMLPClassifier, TorchMLPRegressor
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


# ---------------------------------------------------------------- transformed columns -> original columns
@dataclass(frozen=True)
class FeatureMap:
    """Which original column each transformed column comes from (one-hot groups share an owner)."""

    columns: list[str]
    transformed: list[str]
    owner: np.ndarray            # (m,) index into columns
    categorical: list[str]

    def group(self, values: np.ndarray) -> np.ndarray:
        """(n, m, k) values per transformed column -> (n, p, k) per original column (sums over one-hot groups)."""
        grouping = np.zeros((len(self.transformed), len(self.columns)))
        grouping[np.arange(len(self.transformed)), self.owner] = 1.0
        return np.einsum("nmk,mp->npk", values, grouping)

    def group_square(self, values: np.ndarray) -> np.ndarray:
        """(n, m, m, k) interaction values -> (n, p, p, k)."""
        grouping = np.zeros((len(self.transformed), len(self.columns)))
        grouping[np.arange(len(self.transformed)), self.owner] = 1.0
        return np.einsum("nabk,ap,bq->npqk", values, grouping, grouping)


def _outputs_per_column(step, n_columns: int) -> list[int]:
    """How many output columns a fitted transformer makes from each of its input columns."""
    from sklearn.preprocessing import OneHotEncoder
    last = step.steps[-1][1] if hasattr(step, "steps") else step
    if isinstance(last, OneHotEncoder):
        infrequent = getattr(last, "infrequent_categories_", None) or [None] * n_columns
        return [len(cats) - (len(inf) - 1 if inf is not None else 0) for cats, inf in zip(last.categories_, infrequent)]
    return [1] * n_columns


def feature_map(prep) -> FeatureMap:
    """The FeatureMap of a fitted ColumnTransformer (numeric columns 1:1, one-hot columns grouped)."""
    names = [str(n) for n in prep.get_feature_names_out()]
    columns, owner, categorical = [], [], []
    for name, step, cols in prep.transformers_:
        if name == "remainder" or step == "drop" or len(cols) == 0:
            continue
        for col, count in zip(cols, _outputs_per_column(step, len(cols))):
            owner += [len(columns)] * count
            columns.append(str(col))
            if name == "cat":
                categorical.append(str(col))
    if len(owner) != len(names):
        raise ModelDeckError("The model's preprocessing makes columns ModelDeck cannot trace back to the data set's "
                             "columns, so SHAP values cannot be shown per column.")
    return FeatureMap(columns, names, np.asarray(owner, dtype=int), categorical)


# ---------------------------------------------------------------- which output is explained
@dataclass(frozen=True)
class OutputSpec:
    """The number SHAP explains. explained = (native @ reduce) * scale + offset (offset for outputs only)."""

    kind: str                      # "probability" | "log-odds" | "class score" | "value"
    names: list[str]               # one per explained output
    classes: list[str] | None      # all classes (classification)
    reduce: np.ndarray             # (K_native, k)
    scale: float = 1.0
    offset: float = 0.0

    def apply(self, native: np.ndarray, with_offset: bool) -> np.ndarray:
        out = (native @ self.reduce) * self.scale
        return out + self.offset if with_offset else out

    def label(self, index: int = 0) -> str:
        name = self.names[index]
        if self.kind == "probability":
            return f"probability of '{name}'"
        if self.kind == "log-odds":
            return f"log-odds of '{name}'"
        if self.kind == "class score":
            return f"score of '{name}' (log-odds scale, before the softmax)"
        return f"predicted {name}"

    def proba(self, native: np.ndarray) -> np.ndarray | None:
        """Class probabilities from the native outputs (n, K_native) — no extra model call."""
        if self.classes is None:
            return None
        if self.kind == "probability":
            return native
        if native.shape[1] == 1:                         # one log-odds column for classes_[1]
            p1 = 1.0 / (1.0 + np.exp(-native[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        shifted = native - native.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)


def _binary_reduce(classes: list[str], positive: str, n_native: int) -> np.ndarray:
    pos = classes.index(positive)
    if n_native == 1:                                    # native = log-odds of classes[1]
        return np.array([[1.0 if pos == 1 else -1.0]])
    reduce = np.zeros((n_native, 1))
    reduce[pos, 0] = 1.0
    return reduce


def output_spec(model, method: str, task: str, target: str) -> OutputSpec:
    """What number the chosen method explains for this model (see the module docstring)."""
    if task != "classification":
        scale, offset = 1.0, 0.0
        if method in ("deep", "gradient"):
            scale, offset = float(np.ravel(model.y_scale_)[0]), float(np.ravel(model.y_mean_)[0])
        return OutputSpec("value", [target], None, np.ones((1, 1)), scale, offset)
    from core.evaluate import default_positive_label
    classes = [str(c) for c in model.classes_]
    if is_agnostic(method) or (method == "tree" and not hasattr(model, "_predictors")):
        native_kind = "probability"                      # forests average leaf class frequencies
    else:
        native_kind = "score"                            # raw margin / logits
    binary = len(classes) == 2
    if native_kind == "probability":
        n_native = len(classes)
    else:
        n_native = 1 if binary and method in ("tree", "linear") else len(classes)
    if binary:
        positive = default_positive_label(classes)
        reduce = _binary_reduce(classes, positive, n_native)
        if native_kind == "score" and n_native == 2:     # logit_pos - logit_neg = log-odds
            reduce[1 - classes.index(positive), 0] = -1.0
        return OutputSpec("probability" if native_kind == "probability" else "log-odds", [positive], classes, reduce)
    return OutputSpec("probability" if native_kind == "probability" else "class score", classes, classes,
                      np.eye(len(classes)))


# ---------------------------------------------------------------- SHAP back-ends (native outputs)
NativeFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]   # X_t -> (phi, base, out)


def _as3d(phi) -> np.ndarray:
    phi = np.asarray(phi, dtype=float)
    return phi[:, :, None] if phi.ndim == 2 else phi


def _as2d(out) -> np.ndarray:
    out = np.asarray(out, dtype=float)
    return out.reshape(len(out), -1)


class _SeededGlobalRNG:
    """shap's Permutation and Kernel explainers draw from numpy's global RNG: seed it, then restore it."""

    def __init__(self, seed: int):
        self.seed = seed

    def __enter__(self):
        self.state = np.random.get_state()
        np.random.seed(self.seed)

    def __exit__(self, *exc):
        np.random.set_state(self.state)


def _tree_backend(model, background: np.ndarray, seed: int) -> NativeFn:
    import shap
    explainer = shap.TreeExplainer(model)             # path-dependent: exact, no background needed
    if hasattr(model, "_predictors"):                  # histogram gradient boosting: raw margin
        model_out = model.decision_function if hasattr(model, "classes_") else model.predict
    else:
        model_out = model.predict_proba if hasattr(model, "classes_") else model.predict

    def run(X):
        phi = _as3d(explainer.shap_values(X, check_additivity=False))
        return phi, np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)), _as2d(model_out(X))
    run.explainer = explainer
    return run


def _linear_backend(model, background: np.ndarray, seed: int) -> NativeFn:
    import shap
    # all background rows (a bare array would be subsampled to 100 by shap's default masker)
    explainer = shap.LinearExplainer(model, shap.maskers.Independent(background, max_samples=len(background)))
    model_out = model.decision_function if hasattr(model, "classes_") else model.predict

    def run(X):
        phi = _as3d(explainer.shap_values(X))
        return phi, np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)), _as2d(model_out(X))
    return run


def _torch_net(model, double: bool = True):
    """A private copy of the fitted network on the CPU (the shared model is never hooked); float64 for Deep
    SHAP so its additivity check tests DeepLIFT's rules, not float32 rounding."""
    import torch
    net = copy.deepcopy(model.net_).cpu().to(torch.float64 if double else torch.float32).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _deep_backend(model, background: np.ndarray, seed: int) -> NativeFn:
    import shap
    import torch

    from core.models.torch_mlp import _intra_op_threads
    net = _torch_net(model)
    bg = torch.from_numpy(np.ascontiguousarray(background, dtype=np.float64))
    explainer = shap.DeepExplainer(net, bg)

    def run(X):
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
        with _intra_op_threads(1):
            phi = _as3d(explainer.shap_values(x, check_additivity=False))
            with torch.no_grad():
                out = net(x).numpy()
        return phi, np.asarray(explainer.expected_value, dtype=float).ravel(), _as2d(out)
    return run


def _gradient_backend(model, background: np.ndarray, seed: int) -> NativeFn:
    import shap
    import torch

    from core.models.torch_mlp import _intra_op_threads
    net = _torch_net(model, double=False)               # shap's expected gradients sample in float32
    bg = torch.from_numpy(np.ascontiguousarray(background, dtype=np.float32))
    explainer = shap.GradientExplainer(net, bg)
    with torch.no_grad():
        base = net(bg).double().numpy().mean(axis=0)

    def run(X):
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        with _intra_op_threads(1):
            phi = _as3d(explainer.shap_values(x, nsamples=200, rseed=seed))
            with torch.no_grad():
                out = net(x).double().numpy()
        return phi, base, _as2d(out)
    return run


def _predict_fn(model) -> Callable:
    return model.predict_proba if hasattr(model, "predict_proba") and hasattr(model, "classes_") else model.predict


def _permutation_backend(model, background: np.ndarray, seed: int) -> NativeFn:
    import shap
    fn = _predict_fn(model)
    with _SeededGlobalRNG(seed):     # the constructor seeds numpy's global RNG: keep others' state intact
        explainer = shap.PermutationExplainer(fn, shap.maskers.Independent(background, max_samples=len(background)),
                                              seed=seed)
    max_evals = 2 * (2 * background.shape[1] + 1)      # two forward+backward permutations per row

    def run(X):
        with _SeededGlobalRNG(seed):
            result = explainer(X, max_evals=max_evals, silent=True)
        base = _as2d(result.base_values)[0]
        return _as3d(result.values), base, _as2d(fn(X))
    return run


def _kernel_backend(model, background: np.ndarray, seed: int) -> NativeFn:
    import shap
    fn = _predict_fn(model)
    centres = shap.kmeans(background, min(KERNEL_CENTRES, len(background)))
    explainer = shap.KernelExplainer(fn, centres)

    def run(X):
        with _SeededGlobalRNG(seed):
            phi = explainer.shap_values(X, nsamples=2 * X.shape[1] + 2048, l1_reg=False, silent=True)
        return _as3d(phi), np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)), _as2d(fn(X))
    return run


BACKENDS: dict[str, Callable[..., NativeFn]] = {
    "tree": _tree_backend, "linear": _linear_backend, "deep": _deep_backend, "gradient": _gradient_backend,
    "permutation": _permutation_backend, "kernel": _kernel_backend,
}


# ---------------------------------------------------------------- the engine
@dataclass
class ShapBatch:
    """SHAP values for some rows, in the explained output space."""

    values: np.ndarray             # (n, m, k) per transformed column
    base: np.ndarray               # (k,)
    outputs: np.ndarray            # (n, k) the explained model output
    proba: np.ndarray | None       # (n, C)
    additivity_error: float


class _NamedMethod:
    """The explainer's name and whether its values are exact, for anything with a `method`."""

    method: str

    @property
    def title(self) -> str:
        return METHOD_TITLES[self.method]

    @property
    def exact(self) -> bool:
        return self.method in EXACT_METHODS


class ShapEngine(_NamedMethod):
    """One SHAP explainer for one fitted pipeline: explains raw rows (DataFrame) in the explained output."""

    def __init__(self, pipeline, X_train: pd.DataFrame, task: str, target: str, method: str | None = None,
                 seed: int = 0):
        self.prep, self.model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
        self.task, self.target, self.seed = task, target, seed
        allowed = available_methods(pipeline)
        method = method or allowed[0]
        if method not in allowed:
            raise ModelDeckError(f"{METHOD_TITLES.get(method, method)} does not fit this model. "
                                 f"Choose one of: {', '.join(METHOD_TITLES[m] for m in allowed)}.")
        if len(X_train) < 2:
            raise ModelDeckError("Explaining needs at least 2 training rows to compare against; this data set has "
                                 f"{len(X_train)}. Upload more rows.")
        self.features = feature_map(self.prep)
        self.note = ""
        self.background = self._background(X_train, method)
        self._use(method)
        if method == "deep":
            self._probe_deep()

    # ----- set-up
    def _background(self, X_train: pd.DataFrame, method: str) -> np.ndarray:
        rows = BACKGROUND_ROWS[method]
        if rows == 0:
            return np.empty((0, len(self.features.transformed)))
        picked = X_train.sample(min(rows, len(X_train)), random_state=self.seed) if len(X_train) > rows else X_train
        return self.transform(picked)

    def _use(self, method: str) -> None:
        self.method = method
        self.output = output_spec(self.model, method, self.task, self.target)
        self._native = BACKENDS[method](self.model, self.background, self.seed)

    def _probe_deep(self) -> None:
        """Deep SHAP on a few training rows: if its sums do not hold, fall back to Gradient SHAP now."""
        probe = self.background[: min(10, len(self.background))]
        try:
            error = self._explain_native(probe).additivity_error
        except Exception as exc:  # noqa: BLE001 - an unsupported layer can fail in many ways
            error, reason = np.inf, f"Deep SHAP failed on this network ({type(exc).__name__})"
        else:
            reason = f"Deep SHAP's sums were off by {error:.1e} (a layer DeepLIFT does not support)"
        if not error <= ADDITIVITY_TOL:
            self.note = f"{reason}; using Gradient SHAP (expected gradients) instead, which is approximate."
            self._use("gradient")

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.prep.transform(X), dtype=float)

    # ----- explaining
    def _explain_native(self, X_t: np.ndarray) -> ShapBatch:
        phi, base, out = self._native(X_t)
        values = self.output.apply(phi, with_offset=False)
        base_e = self.output.apply(base[None, :], with_offset=True)[0]
        out_e = self.output.apply(out, with_offset=True)
        error = float(np.max(np.abs(base_e + values.sum(axis=1) - out_e))) if len(out_e) else 0.0
        return ShapBatch(values, base_e, out_e, self.output.proba(out), error)

    def explain(self, X: pd.DataFrame, progress: Progress | None = None) -> ShapBatch:
        """SHAP values of the rows of X (raw features), in chunks with progress."""
        progress = progress or _quiet
        X_t = self.transform(X)
        chunk = CHUNK_ROWS[self.method]
        batches = []
        for start in range(0, len(X_t), chunk):
            progress(start / max(len(X_t), 1), f"{self.title}: {start:,} of {len(X_t):,} rows")
            with single_threaded(self.model):
                batches.append(self._explain_native(X_t[start:start + chunk]))
        if self.method == "deep" and max(b.additivity_error for b in batches) > ADDITIVITY_TOL:
            worst = max(b.additivity_error for b in batches)
            self.note = (f"Deep SHAP's sums were off by {worst:.1e} on these rows; using Gradient SHAP (expected "
                         "gradients) instead, which is approximate.")
            self._use("gradient")
            return self.explain(X, progress)
        progress(1.0, f"{self.title}: done")
        return ShapBatch(np.concatenate([b.values for b in batches]), batches[0].base,
                         np.concatenate([b.outputs for b in batches]),
                         None if batches[0].proba is None else np.concatenate([b.proba for b in batches]),
                         max(b.additivity_error for b in batches))

    def seconds_per_row(self, X: pd.DataFrame, rows: int | None = None) -> float:
        """Measured on a few rows (2 for the slow model-agnostic methods, else 10) after two warm-up rows
        (shap compiles helpers with numba on first use, ~10 s once per process): the time estimate."""
        rows = rows or (2 if is_agnostic(self.method) else 10)
        self.explain(X.iloc[:2])
        sample = X.iloc[2:rows + 2] if len(X) >= rows + 2 else X.iloc[:rows]
        start = time.perf_counter()
        self.explain(sample)
        return (time.perf_counter() - start) / max(len(sample), 1)


# ---------------------------------------------------------------- the result
@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    import lime
    import shap
    import sklearn
    versions = {"shap": shap.__version__, "lime": getattr(lime, "__version__", "0.2.0.1"),
                "scikit-learn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__,
                "python": platform.python_version()}
    try:
        from importlib.metadata import version
        versions["lime"] = version("lime")
        versions["torch"] = version("torch")
    except Exception:  # noqa: BLE001 - informative only
        pass
    return versions


@dataclass
class Explanation(_NamedMethod):
    """SHAP values of a sample of rows, per original column, with everything needed to draw and tell them."""

    method: str
    output_kind: str
    output_names: list[str]
    output_labels: list[str]
    classes: list[str] | None
    features: list[str]
    categorical: list[str]
    transformed_names: list[str]
    values: np.ndarray               # (n, p, k) per original column
    values_transformed: np.ndarray   # (n, m, k) per transformed column
    base_values: np.ndarray          # (k,)
    outputs: np.ndarray              # (n, k) the explained model output
    proba: np.ndarray | None         # (n, C) class probabilities
    predictions: np.ndarray          # (n,) predicted label (str) or value
    positions: np.ndarray            # (n,) positions in pd.concat([X_train, X_test])
    row_ids: np.ndarray              # (n,) the data set's row labels (str)
    part: np.ndarray                 # (n,) "train" | "test" | "edited"
    y_true: np.ndarray               # (n,) true label / value ("" / nan when unknown)
    data: pd.DataFrame               # (n, p) raw feature values
    additivity_error: float
    n_available: int
    seed: int
    background_rows: int
    seconds: float
    versions: dict = field(default_factory=dict)
    note: str = ""

    @property
    def n_rows(self) -> int:
        return len(self.values)

    def output_phrase(self) -> str:
        """What is explained, in one phrase: "log-odds of 'malignant'", "score of each class (…)"."""
        if len(self.output_labels) == 1:
            return self.output_labels[0]
        first = self.output_labels[0]
        return first.replace(f"'{self.output_names[0]}'", "each class")

    def fidelity(self) -> str:
        """The method and its fidelity, for every chart's subtitle."""
        sample = (f"all {self.n_rows:,} rows" if self.n_rows == self.n_available
                  else f"a seeded sample of {self.n_rows:,} of {self.n_available:,} rows (seed {self.seed})")
        return f"{self.title} · {sample} · additivity error {self.additivity_error:.1e}"

    def importance(self, k: int = 0) -> pd.Series:
        """Mean |SHAP| per column, largest first."""
        return pd.Series(np.abs(self.values[:, :, k]).mean(axis=0), index=self.features).sort_values(ascending=False)

    def index_of(self, row_id: str) -> int | None:
        hits = np.flatnonzero(self.row_ids == str(row_id))
        return int(hits[0]) if len(hits) else None


def _predictions(batch: ShapBatch, classes: list[str] | None) -> np.ndarray:
    if classes is None:
        return batch.outputs[:, 0].astype(float)
    return np.asarray(classes, dtype=str)[np.argmax(batch.proba, axis=1)]


def explain_frame(engine: ShapEngine, X: pd.DataFrame, *, y: pd.Series | None = None,
                  part: np.ndarray | None = None, positions: np.ndarray | None = None, n_available: int | None = None,
                  seed: int = 0, progress: Progress | None = None) -> Explanation:
    """Explain the rows of X (raw features, in the data set's columns) with the engine."""
    start = time.perf_counter()
    batch = engine.explain(X, progress)
    out = engine.output
    fm = engine.features
    if out.classes is not None:
        y_true = np.asarray(y.astype(str), dtype=str) if y is not None else np.full(len(X), "", dtype=str)
    else:
        y_true = y.to_numpy(dtype=float) if y is not None else np.full(len(X), np.nan)
    return Explanation(
        method=engine.method, output_kind=out.kind, output_names=list(out.names),
        output_labels=[out.label(i) for i in range(len(out.names))], classes=out.classes,
        features=fm.columns, categorical=fm.categorical, transformed_names=fm.transformed,
        values=fm.group(batch.values), values_transformed=batch.values, base_values=batch.base,
        outputs=batch.outputs, proba=batch.proba, predictions=_predictions(batch, out.classes),
        positions=np.arange(len(X)) if positions is None else np.asarray(positions),
        row_ids=np.asarray([str(i) for i in X.index]), part=np.asarray(part if part is not None else ["edited"] * len(X)),
        y_true=y_true,
        data=X[fm.columns], additivity_error=batch.additivity_error,
        n_available=n_available or len(X), seed=seed, background_rows=len(engine.background),
        seconds=time.perf_counter() - start, versions=library_versions(), note=engine.note)


def all_rows(split) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """Train and test rows together (train first), their targets and which part each came from."""
    X = pd.concat([split.X_train, split.X_test])
    y = pd.concat([split.y_train, split.y_test])
    part = np.array(["train"] * len(split.X_train) + ["test"] * len(split.X_test))
    return X, y, part


def sample_positions(n: int, max_rows: int, seed: int) -> np.ndarray:
    """At most max_rows positions out of n, seeded, in order."""
    if max_rows < 1:
        raise ModelDeckError("Explain at least 1 row.")
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def explain_split(engine: ShapEngine, split, max_rows: int = DEFAULT_MAX_ROWS, seed: int = 0,
                  progress: Progress | None = None) -> Explanation:
    """Explain a seeded sample (at most max_rows) of the run's train + test rows."""
    X, y, part = all_rows(split)
    if len(X) < 2:
        raise ModelDeckError(f"Only {len(X)} row: explanations need at least 2 rows.")
    pos = sample_positions(len(X), max_rows, seed)
    return explain_frame(engine, X.iloc[pos], y=y.iloc[pos], part=part[pos], positions=pos, n_available=len(X),
                         seed=seed, progress=progress)


# ---------------------------------------------------------------- storage with the run (no pickles)
_ARRAYS = ("values", "values_transformed", "base_values", "outputs", "proba", "predictions", "positions", "row_ids",
           "part", "y_true")
_META = ("method", "output_kind", "output_names", "output_labels", "classes", "features", "categorical",
         "transformed_names", "additivity_error", "n_available", "seed", "background_rows", "seconds", "versions",
         "note")
FORMAT_VERSION = 1


def explanation_stem(folder: Path, method: str, max_rows: int, seed: int) -> Path:
    return Path(folder) / "explain" / f"shap_{method}_{max_rows}_{seed}"


def _atomic_write(path: Path, write: Callable[[object], None], binary: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb" if binary else "w") as handle:
        write(handle)
    os.replace(tmp, path)


def save_explanation(expl: Explanation, stem: Path) -> None:
    """Arrays to <stem>.npz (allow_pickle=False), metadata to <stem>.json; the JSON is written last."""
    arrays = {}
    for name in _ARRAYS:
        value = getattr(expl, name)
        if value is None:
            continue
        value = np.asarray(value)
        arrays[name] = value.astype(str) if value.dtype == object else value
    _atomic_write(stem.with_suffix(".npz"), lambda h: np.savez_compressed(h, **arrays))
    meta = {name: getattr(expl, name) for name in _META}
    meta.update(format=FORMAT_VERSION, explainer=expl.title, output=expl.output_labels, sample_size=expl.n_rows,
                sample_positions_key="positions", saved_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    _atomic_write(stem.with_suffix(".json"), lambda h: json.dump(meta, h, indent=1), binary=False)


def load_explanation(stem: Path, split) -> Explanation | None:
    """The stored explanation (None when there is none); raw rows are taken back from the run's split."""
    meta_path, array_path = stem.with_suffix(".json"), stem.with_suffix(".npz")
    if not meta_path.exists() or not array_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT_VERSION:
        return None
    with np.load(array_path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    X, _, _ = all_rows(split)
    rows = X.iloc[arrays["positions"]][meta["features"]]
    kwargs = {name: meta[name] for name in _META}
    kwargs.update({name: arrays.get(name) for name in _ARRAYS})
    return Explanation(data=rows, **kwargs)


def latest_explanation(folder: Path, split) -> Explanation | None:
    """The most recently stored SHAP explanation of a run (for reports: never recomputes)."""
    stems = sorted((Path(folder) / "explain").glob("shap_*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for meta in stems:
        expl = load_explanation(meta.with_suffix(""), split)
        if expl is not None:
            return expl
    return None


# ---------------------------------------------------------------- reading the numbers
def feature_direction(expl: Explanation, feature: str, k: int = 0) -> float:
    """Spearman-like sign of how the feature's value relates to its SHAP value (+1: higher pushes up)."""
    if feature in expl.categorical:
        return 0.0
    j = expl.features.index(feature)
    x = pd.to_numeric(expl.data[feature], errors="coerce").to_numpy(dtype=float)
    v = expl.values[:, j, k]
    ok = np.isfinite(x)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(v[ok]) == 0:
        return 0.0
    return float(np.corrcoef(pd.Series(x[ok]).rank(), pd.Series(v[ok]).rank())[0, 1])


def encoded_data(expl: Explanation) -> np.ndarray:
    """The raw feature values as numbers (categories as codes), for colouring and interaction search."""
    cols = []
    for f in expl.features:
        column = expl.data[f]
        if f in expl.categorical:
            cols.append(pd.Categorical(column.astype(str)).codes.astype(float))
        else:
            cols.append(pd.to_numeric(column, errors="coerce").to_numpy(dtype=float))
    return np.column_stack(cols) if cols else np.empty((len(expl.data), 0))


def strongest_interaction(expl: Explanation, feature: str, k: int = 0,
                          interactions: "InteractionResult | None" = None) -> str | None:
    """The column that seems to interact most with `feature`: from interaction values when computed,
    else shap's heuristic (how well each column explains the spread of `feature`'s SHAP values)."""
    if len(expl.features) < 2:
        return None
    j = expl.features.index(feature)
    if interactions is not None and interactions.features == expl.features:
        strength = interactions.mean_abs[:, :, k][j].copy()
        strength[j] = -1
        return expl.features[int(np.argmax(strength))]
    from shap.utils import approximate_interactions
    encoded = encoded_data(expl)
    filled = np.nan_to_num(np.where(np.isnan(encoded), np.nanmedian(encoded, axis=0), encoded))
    order = approximate_interactions(j, expl.values[:, :, k], filled)
    others = [i for i in order if i != j]
    return expl.features[int(others[0])] if others else None


def percentile_phrase(value, reference: pd.Series, plural: str | None) -> str:
    """'higher than 95% of patients' (numbers) or 'shared by 23% of customers' (categories); without the
    noun when plural is None."""
    of = f" of {plural}" if plural else ""
    if isinstance(value, str) or reference.dtype == object:
        share = float((reference.astype(str) == str(value)).mean())
        return f"shared by {share:.0%}{of}"
    ref = pd.to_numeric(reference, errors="coerce").dropna().to_numpy()
    if not len(ref) or value is None or not np.isfinite(float(value)):
        return ""
    below = float((ref < float(value)).mean())
    if below >= 0.5:
        return f"higher than {below:.0%}{of}"
    above = float((ref > float(value)).mean())
    return f"lower than {above:.0%}{of}"


def fmt_push(value: float, kind: str) -> str:
    """A SHAP value in the output's unit: '+12.3 points' of probability, '+1.25' log-odds, '+23.4'."""
    if kind == "probability":
        return f"{value * 100:+.1f} points"
    return f"{value:+.3g}" if abs(value) < 1000 else f"{value:+,.0f}"


def prediction_phrase(expl: Explanation, i: int = 0) -> str:
    """'malignant' (93%) or 212.4."""
    if expl.classes is None:
        return fmt_value(float(expl.predictions[i]))
    label = str(expl.predictions[i])
    p = float(expl.proba[i, expl.classes.index(label)])
    return f"'{label}' ({p:.0%})"


def row_summary(expl: Explanation, i: int, k: int, reference: pd.DataFrame, words: tuple[str, str]) -> str:
    """The plain-language story of one row: prediction, then the largest push with its value's rank."""
    one, many = words
    contributions = expl.values[i, :, k]
    order = np.argsort(-np.abs(contributions))
    top = order[0]
    feature = expl.features[top]
    value = expl.data.iloc[i][feature]
    rank = percentile_phrase(value, reference[feature], many)
    toward = expl.output_labels[k]
    direction = "raised" if contributions[top] > 0 else "lowered"
    text = (f"For this {one} the model predicts {prediction_phrase(expl, i)}. The largest push came from "
            f"{feature} = {fmt_value(value)}{', ' + rank if rank else ''}: it {direction} the {toward} by "
            f"{fmt_push(abs(contributions[top]), expl.output_kind).lstrip('+')}.")
    if len(order) > 1:
        nxt = order[1]
        text += (f" Next: {expl.features[nxt]} = {fmt_value(expl.data.iloc[i][expl.features[nxt]])} "
                 f"({fmt_push(contributions[nxt], expl.output_kind)}).")
    return text


def row_table(expl: Explanation, i: int, k: int, reference: pd.DataFrame, words: tuple[str, str]) -> pd.DataFrame:
    """The row's values beside their pushes, strongest first, with how each value compares to the others."""
    values = expl.values[i, :, k]
    order = np.argsort(-np.abs(values))
    return pd.DataFrame({
        "column": [expl.features[j] for j in order],
        "value": [fmt_value(expl.data.iloc[i][expl.features[j]]) for j in order],
        "push": [fmt_push(values[j], expl.output_kind) for j in order],
        f"vs. other {words[1]}": [percentile_phrase(expl.data.iloc[i][expl.features[j]], reference[expl.features[j]],
                                                    None) for j in order]})


def global_summary(expl: Explanation, k: int, words: tuple[str, str]) -> str:
    """What drives the model overall, from mean |SHAP|, with the direction of the top column."""
    imp = expl.importance(k)
    total = float(imp.sum()) or 1.0
    top = list(imp.index[:3])
    share = float(imp.iloc[:3].sum()) / total
    text = (f"Across {expl.n_rows:,} {words[1]}, the model leans most on {', '.join(top[:-1])}"
            f"{' and ' if len(top) > 1 else ''}{top[-1]}: together {share:.0%} of the total push on the "
            f"{expl.output_labels[k]}.")
    direction = feature_direction(expl, top[0], k)
    if abs(direction) >= 0.3:
        text += (f" Higher {top[0]} {'raises' if direction > 0 else 'lowers'} it"
                 f"{' in most cases' if abs(direction) < 0.7 else ''}.")
    return text


def importance_summary(expl: Explanation, k: int) -> str:
    """How far the strongest and the weakest columns move the output, on average."""
    imp = expl.importance(k)
    kind = expl.output_kind
    text = (f"On average {imp.index[0]} moves the {expl.output_labels[k].split(' (')[0]} by "
            f"{fmt_push(float(imp.iloc[0]), kind).lstrip('+')}, in either direction.")
    small = imp[imp < 0.1 * float(imp.iloc[0])]
    if len(small):
        text += f" {len(small)} of {len(imp)} columns move it less than a tenth of that."
    return text


def beeswarm_summary(expl: Explanation, k: int, words: tuple[str, str]) -> str:
    top = expl.importance(k).index[0]
    direction = feature_direction(expl, top, k)
    side = "right (raise it)" if direction > 0 else "left (lower it)"
    text = f"Each dot is one {words[0]}: its place is the push of that column on the {expl.output_labels[k]}."
    if abs(direction) >= 0.3:
        text += f" For {top}, high values (red) sit mostly on the {side}."
    return text


def dependence_summary(expl: Explanation, feature: str, colour: str | None, k: int) -> str:
    j = expl.features.index(feature)
    v = expl.values[:, j, k]
    kind = expl.output_kind
    text = (f"The push of {feature} ranges from {fmt_push(v.min(), kind)} to {fmt_push(v.max(), kind)} on the "
            f"{expl.output_labels[k]}.")
    direction = feature_direction(expl, feature, k)
    if abs(direction) >= 0.3:
        text += f" It mostly {'grows' if direction > 0 else 'falls'} as {feature} increases."
    if colour:
        text += f" Colour shows {colour}, the column that seems to interact with it most."
    return text


def waterfall_summary(expl: Explanation, i: int, k: int) -> str:
    kind = expl.output_kind
    base, out = float(expl.base_values[k]), float(expl.outputs[i, k])
    unit = lambda x: f"{x:.1%}" if kind == "probability" else fmt_value(round(x, 3))  # noqa: E731
    return (f"Starting from the average {expl.output_labels[k]} ({unit(base)}), each bar adds one column's push; "
            f"together they reach this row's {unit(out)}. Bars to the right raise it, to the left lower it.")


# ---------------------------------------------------------------- choosing a row
def locate_row(expl: Explanation, row_id, n_dataset_rows: int | None = None) -> int:
    """The position of a data set row in the explanation, or a clear message why it is not there."""
    text = str(row_id).strip()
    if text.endswith(".0"):
        text = text[:-2]
    i = expl.index_of(text)
    if i is not None:
        return i
    limit = f" Rows go from 0 to {n_dataset_rows - 1:,}." if n_dataset_rows else ""
    raise ModelDeckError(f"Row {text} is not among the {expl.n_rows:,} explained rows.{limit} Duplicates removed "
                         "while cleaning and rows outside the explained sample have no explanation; pick another "
                         "row or explain more rows.")


def surprising_rows(expl: Explanation, limit: int = 10) -> list[int]:
    """Confident wrong predictions (test rows first), most confident first; for regression the largest errors."""
    if expl.classes is None:
        error = np.abs(expl.predictions.astype(float) - expl.y_true.astype(float))
        order = np.argsort(-np.nan_to_num(error, nan=-1))
        return [int(i) for i in order[:limit] if np.isfinite(error[i])]
    wrong = np.flatnonzero((expl.predictions != expl.y_true) & (expl.y_true != ""))
    confidence = expl.proba.max(axis=1)
    ranked = sorted(wrong, key=lambda i: (expl.part[i] != "test", -confidence[i]))
    return [int(i) for i in ranked[:limit]]


def filter_rows(expl: Explanation, feature: str, low: float | None = None, high: float | None = None,
                categories: list[str] | None = None) -> list[int]:
    """Positions of explained rows whose `feature` is within [low, high] or among `categories`."""
    if feature not in expl.features:
        raise ModelDeckError(f"'{feature}' is not a column the model uses.")
    column = expl.data[feature]
    if feature in expl.categorical:
        mask = column.astype(str).isin([str(c) for c in (categories or [])])
    else:
        x = pd.to_numeric(column, errors="coerce")
        mask = x.notna()
        if low is not None:
            mask &= x >= low
        if high is not None:
            mask &= x <= high
    return [int(i) for i in np.flatnonzero(mask.to_numpy())]


# ---------------------------------------------------------------- permutation importance (cross-check)
@dataclass
class PermutationResult:
    features: list[str]
    mean: np.ndarray
    std: np.ndarray
    metric: str
    baseline: float
    n_rows: int
    n_repeats: int
    seed: int
    seconds: float

    def series(self) -> pd.Series:
        return pd.Series(self.mean, index=self.features).sort_values(ascending=False)

    def to_dict(self) -> dict:
        return {"features": self.features, "mean": self.mean.tolist(), "std": self.std.tolist(),
                "metric": self.metric, "baseline": self.baseline, "n_rows": self.n_rows,
                "n_repeats": self.n_repeats, "seed": self.seed, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict) -> "PermutationResult":
        return cls(data["features"], np.asarray(data["mean"]), np.asarray(data["std"]), data["metric"],
                   data["baseline"], data["n_rows"], data["n_repeats"], data["seed"], data["seconds"])


def permutation_importance_test(pipeline, X_test: pd.DataFrame, y_test: pd.Series, task: str, n_repeats: int = 5,
                                seed: int = 0, progress: Progress | None = None) -> PermutationResult:
    """scikit-learn's permutation importance of each original column on the test rows (score drop when
    the column is shuffled), with progress counted through the scorer."""
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import accuracy_score, r2_score
    progress = progress or _quiet
    if len(X_test) < 2:
        raise ModelDeckError("Permutation importance needs at least 2 test rows.")
    metric = "accuracy" if task == "classification" else "r2"
    total = 1 + X_test.shape[1] * n_repeats
    calls = [0]

    def scorer(estimator, X, y):
        calls[0] += 1
        progress(min(calls[0] / total, 1.0), f"Shuffling columns: {calls[0]:,} of {total:,} scores")
        pred = estimator.predict(X)
        return accuracy_score(np.asarray(y).astype(str), np.asarray(pred).astype(str)) if metric == "accuracy" \
            else r2_score(y, pred)
    start = time.perf_counter()
    with single_threaded(pipeline):
        baseline = scorer(pipeline, X_test, y_test)
        calls[0] = 0
        result = permutation_importance(pipeline, X_test, y_test, scoring=scorer, n_repeats=n_repeats,
                                        random_state=seed, n_jobs=1)
    return PermutationResult([str(c) for c in X_test.columns], result.importances_mean, result.importances_std,
                             metric, float(baseline), len(X_test), n_repeats, seed, time.perf_counter() - start)


def rank_agreement(a: pd.Series, b: pd.Series, top: int = 5) -> tuple[int, float]:
    """(how many of a's top columns are in b's top, Spearman correlation of the two rankings)."""
    common = [f for f in a.index if f in b.index]
    top_a = set(a.loc[common].sort_values(ascending=False).index[:top])
    top_b = set(b.loc[common].sort_values(ascending=False).index[:top])
    if len(common) < 2:
        return len(top_a & top_b), float("nan")
    rho = pd.Series(a.loc[common].rank()).corr(pd.Series(b.loc[common].rank()))
    return len(top_a & top_b), float(rho)


def permutation_summary(result: PermutationResult, expl: Explanation | None, k: int, words: tuple[str, str]) -> str:
    s = result.series()
    drop = float(s.iloc[0])
    unit = f"{drop * 100:.1f} points of accuracy" if result.metric == "accuracy" else f"{drop:.3f} of R²"
    text = (f"Shuffling {s.index[0]} on the {result.n_rows:,} test {words[1]} costs {unit}, the most of any column "
            f"({result.n_repeats} shuffles each).")
    if expl is not None:
        overlap, rho = rank_agreement(expl.importance(k), s)
        text += (f" Its top 5 share {overlap} columns with SHAP's top 5 (rank correlation {rho:.2f})"
                 f"{': the two methods agree' if overlap >= 4 else '; where they differ, correlated columns often trade places'}.")
    return text


# ---------------------------------------------------------------- interaction values (trees, on request)
@dataclass
class InteractionResult:
    features: list[str]
    mean_abs: np.ndarray            # (p, p, k) mean |interaction| (diagonal: main effects)
    n_rows: int
    seconds: float
    output_kind: str = "value"

    def top_pairs(self, k: int = 0, n: int = 3) -> list[tuple[str, str, float]]:
        m = self.mean_abs[:, :, k]
        pairs = [(self.features[a], self.features[b], float(2 * m[a, b]))
                 for a in range(len(self.features)) for b in range(a + 1, len(self.features))]
        return sorted(pairs, key=lambda t: -t[2])[:n]


def interaction_values(engine: ShapEngine, X: pd.DataFrame, progress: Progress | None = None,
                       chunk: int = 5) -> InteractionResult:
    """Tree SHAP interaction values on a few rows, grouped per original column (mean |value| per pair)."""
    if engine.method != "tree":
        raise ModelDeckError("Interaction values are available for tree models (random forest, gradient boosting).")
    progress = progress or _quiet
    start = time.perf_counter()
    explainer = engine._native.explainer
    total = None
    for lo in range(0, len(X), chunk):
        progress(lo / max(len(X), 1), f"Interaction values: {lo:,} of {len(X):,} rows")
        with single_threaded(engine.model):
            raw = np.asarray(explainer.shap_interaction_values(engine.transform(X.iloc[lo:lo + chunk])), dtype=float)
        raw = raw[..., None] if raw.ndim == 3 else raw                   # (n, m, m, K)
        values = np.einsum("nabK,Kk->nabk", raw, engine.output.reduce) * engine.output.scale
        part = np.abs(engine.features.group_square(values)).sum(axis=0)
        total = part if total is None else total + part
    progress(1.0, "Interaction values: done")
    return InteractionResult(engine.features.columns, total / max(len(X), 1), len(X), time.perf_counter() - start,
                             engine.output.kind)


def interaction_summary(result: InteractionResult, k: int, kind: str) -> str:
    pairs = result.top_pairs(k)
    if not pairs:
        return "Only one column: no interactions."
    a, b, v = pairs[0]
    return (f"On {result.n_rows:,} rows the strongest interaction is between {a} and {b} (about "
            f"{fmt_push(v, kind).lstrip('+')} on average): the effect of one depends on the value of the other.")


def save_json(path: Path, data: dict) -> None:
    _atomic_write(path, lambda h: json.dump(data, h, indent=1), binary=False)


def load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def save_interactions(result: InteractionResult, stem: Path) -> None:
    _atomic_write(stem.with_suffix(".npz"), lambda h: np.savez_compressed(h, mean_abs=result.mean_abs))
    save_json(stem.with_suffix(".json"), {"features": result.features, "n_rows": result.n_rows,
                                          "seconds": result.seconds, "output_kind": result.output_kind,
                                          "versions": library_versions()})


def load_interactions(stem: Path) -> InteractionResult | None:
    meta = load_json(stem.with_suffix(".json"))
    if meta is None or not stem.with_suffix(".npz").exists():
        return None
    with np.load(stem.with_suffix(".npz"), allow_pickle=False) as data:
        return InteractionResult(meta["features"], data["mean_abs"], meta["n_rows"], meta["seconds"],
                                 meta.get("output_kind", "value"))


def unused_columns_note(dataset) -> str:
    """Columns the model never sees (text, dates, identifiers…) have no SHAP value: say which."""
    unused = {c: t for c, t in dataset.column_types.items() if c != dataset.target and c not in dataset.features}
    if not unused:
        return ""
    listed = ", ".join(f"'{c}' ({t})" for c, t in list(unused.items())[:6])
    return (f"Not explained because the model does not use them: {listed}"
            f"{' and more' if len(unused) > 6 else ''}. Text, date and identifier columns are left out of training.")


# ---------------------------------------------------------------- command line
def register_cli(subparsers) -> None:
    parser = subparsers.add_parser("explain", help="compute and store a run's SHAP values (what the Explain page shows)")
    parser.add_argument("--run", required=True)
    parser.add_argument("--method", default=None, choices=list(METHOD_TITLES), help="default: the recommended one")
    parser.add_argument("--rows", type=int, default=None, help="rows to explain (seeded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=_cmd_explain)


def _cmd_explain(args) -> int:
    import sys

    from core.data import load_dataset
    from core.data import PrepOptions, split_dataset
    from core.runs import RunStore
    store = RunStore()
    run = store.get(args.run)
    if run.status != "done":
        raise ModelDeckError(f"Run '{run.id}' is {run.status}; explanations need a finished run.")
    pipeline, dataset = store.load_model(run.id), load_dataset(run.dataset_key)
    split = split_dataset(dataset, PrepOptions.from_dict(run.prep))
    method = args.method or choose_method(pipeline)
    rows = args.rows or default_rows(method)
    stem = explanation_stem(store.folder(run.id), method, rows, args.seed)
    expl = load_explanation(stem, split)
    if expl is None:
        engine = ShapEngine(pipeline, split.X_train, dataset.task, dataset.target, method, seed=args.seed)
        expl = explain_split(engine, split, rows, args.seed,
                             lambda f, m: print(f"[{f:6.1%}] {m}", file=sys.stderr, flush=True))
        save_explanation(expl, stem)
    print(expl.fidelity())
    print(global_summary(expl, 0, entity_words(run.dataset_key)))
    for feature, value in expl.importance(0).iloc[:10].items():
        print(f"  {feature:<32} {value:.4g}")
    print(f"stored in {stem}.npz / .json")
    return 0
