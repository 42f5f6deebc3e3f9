"""The model zoo: every family behind the scikit-learn estimator interface, described by a ModelSpec.

A ModelSpec (family + params) is small, JSON-serialisable and hashable as text, so it keys caches,
runs and (later) tuning search spaces. `FAMILIES` describes each family's knobs once, for the UI and the CLI.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from core.common import DEFAULT_SEED, ModelDeckError
from core.models._nets import ACTIVATIONS
from core.models._optim import OPTIMIZERS, SCHEDULES
from core.data import FLIPS


@dataclass(frozen=True)
class Param:
    """One knob of a model family, enough to draw a widget and validate a value."""

    name: str
    label: str
    default: object
    kind: str                       # "int" | "float" | "choice" | "bool" | "layers"
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    log: bool = False
    help: str = ""


@dataclass(frozen=True)
class Family:
    key: str
    title: dict[str, str]           # task -> human name
    params: tuple[Param, ...] = field(default_factory=tuple)
    handles_missing: bool = False
    native_categories: bool = False # splits on categories itself: the cleaning gives it category codes (issue 14)
    summary: str = ""
    images_only: bool = False       # reads pictures (the CNN): offered for image data sets only, scales pixels itself
    legacy: dict = field(default_factory=dict)   # values for params a stored spec lacks (saved before they existed)


FAMILIES: dict[str, Family] = {f.key: f for f in (
    Family("linear", {"classification": "Logistic regression", "regression": "Ridge regression"}, (
        Param("C", "Inverse regularisation C (classification) / 1/alpha (regression)", 1.0, "float", 1e-3, 1e3, log=True,
              help="Smaller means simpler, more regularised models."),
    ), summary="A weighted sum of the inputs: fast, transparent, a strong baseline."),
    Family("random_forest", {"classification": "Random forest", "regression": "Random forest"}, (
        Param("n_estimators", "Trees", 200, "int", 10, 1000),
        Param("max_depth", "Maximum depth (0 = unlimited)", 0, "int", 0, 50),
        Param("min_samples_leaf", "Minimum rows per leaf", 1, "int", 1, 50),
    ), summary="Many decision trees voting together; robust with little tuning."),
    Family("hist_gb", {"classification": "Gradient boosting", "regression": "Gradient boosting"}, (
        Param("learning_rate", "Learning rate", 0.1, "float", 1e-3, 1.0, log=True),
        Param("max_iter", "Boosting rounds", 100, "int", 10, 2000),
        Param("max_leaf_nodes", "Leaves per tree", 31, "int", 2, 255),
        Param("l2_regularization", "L2 regularisation", 0.0, "float", 0.0, 10.0),
    ), handles_missing=True, native_categories=True, summary="Trees added one after another to fix earlier mistakes; often the most accurate on tables."),
    Family("knn", {"classification": "k-nearest neighbours", "regression": "k-nearest neighbours"}, (
        Param("n_neighbors", "Neighbours k", 15, "int", 1, 100),
        Param("weights", "Weighting", "distance", "choice", choices=("uniform", "distance")),
    ), summary="Predicts from the most similar training rows; needs scaled inputs."),
    Family("svm", {"classification": "Support vector machine", "regression": "Support vector machine"}, (
        Param("C", "Penalty C", 1.0, "float", 1e-3, 1e3, log=True),
        Param("kernel", "Kernel", "rbf", "choice", choices=("rbf", "linear", "poly")),
    ), summary="Finds the widest margin between classes; strong on small, scaled data."),
    Family("mlp", {"classification": "Neural network (PyTorch MLP)", "regression": "Neural network (PyTorch MLP)"}, (
        Param("hidden", "Hidden layers (units per layer)", (64, 32), "layers"),
        Param("activation", "Activation", "relu", "choice", choices=ACTIVATIONS),
        Param("optimizer", "Optimizer", "adam", "choice", choices=OPTIMIZERS),
        Param("lr", "Learning rate", 1e-3, "float", 1e-5, 1.0, log=True),
        Param("schedule", "Learning-rate schedule", "none", "choice", choices=SCHEDULES),
        Param("dropout", "Dropout", 0.2, "float", 0.0, 0.9),
        Param("weight_decay", "Weight decay", 1e-3, "float", 0.0, 0.1),
        Param("batch_size", "Batch size", 64, "int", 8, 1024),
        Param("epochs", "Epochs (maximum)", 100, "int", 1, 1000),
        Param("early_stopping", "Early stopping", True, "bool"),
        Param("validation_fraction", "Rows held out for early stopping (0 = stop when the training loss stalls)",
              0.0, "float", 0.0, 0.5, help="0 keeps every row for training and stops once the training loss has "
              "improved by less than 0.0001 for `patience` epochs, as scikit-learn's MLP does; above 0, that share "
              "is held out and the weights of its best epoch are kept."),
        Param("patience", "Patience (epochs without improvement)", 10, "int", 1, 200),
    ), summary="A small neural network trained with PyTorch; uses a GPU when present.",
        # Specs saved before validation_fraction was a setting trained with the estimator's 10% validation split.
        legacy={"validation_fraction": 0.1}),
)}

#: Families that read pictures (image data sets only), kept apart so every table page and test over `FAMILIES`
#: stays as it was; `family()`, `ModelSpec` and `make_estimator` know them too.
IMAGE_FAMILIES: dict[str, Family] = {f.key: f for f in (
    Family("cnn", {"classification": "Convolutional network (PyTorch CNN)",
                   "regression": "Convolutional network (PyTorch CNN)"}, (
        Param("width", "Filters in the first convolution (doubling per block, up to 4×)", 16, "int", 4, 128),
        Param("blocks", "Conv → pool blocks (0 = chosen from the picture size)", 0, "int", 0, 5),
        Param("dense", "Units in the dense layer", 64, "int", 8, 1024),
        Param("dropout", "Dropout before the output", 0.25, "float", 0.0, 0.9),
        Param("optimizer", "Optimizer", "adam", "choice", choices=OPTIMIZERS),
        Param("lr", "Learning rate", 1e-3, "float", 1e-5, 1.0, log=True),
        Param("schedule", "Learning-rate schedule", "none", "choice", choices=SCHEDULES),
        Param("weight_decay", "Weight decay", 1e-4, "float", 0.0, 0.1),
        Param("batch_size", "Batch size", 64, "int", 8, 1024),
        Param("epochs", "Epochs (maximum)", 30, "int", 1, 500),
        Param("early_stopping", "Early stopping on a validation split", True, "bool"),
        Param("patience", "Patience (epochs without improvement)", 6, "int", 1, 100),
        Param("aug_shift", "Augment: random shift (share of the side)", 0.0, "float", 0.0, 0.5),
        Param("aug_rotation", "Augment: random rotation (degrees)", 0.0, "float", 0.0, 180.0),
        Param("aug_flip", "Augment: random flips", "none", "choice", choices=FLIPS),
        Param("aug_brightness", "Augment: brightness (share of the range)", 0.0, "float", 0.0, 1.0),
        Param("aug_contrast", "Augment: contrast (share)", 0.0, "float", 0.0, 1.0),
        Param("aug_noise", "Augment: Gaussian noise (share of the range)", 0.0, "float", 0.0, 1.0),
        Param("aug_blur", "Augment: Gaussian blur (sigma in pixels)", 0.0, "float", 0.0, 5.0),
    ), summary="Convolutions that look at small patches of the picture, then pool; sized from the picture size. "
               "Uses a GPU when present.", images_only=True),
)}

DEFAULT_LEADERBOARD = ("linear", "random_forest", "hist_gb", "knn", "svm", "mlp")


def family(key: str) -> Family:
    if key in IMAGE_FAMILIES:
        return IMAGE_FAMILIES[key]
    if key not in FAMILIES:
        raise ModelDeckError(f"Unknown model '{key}'. Choose one of: {', '.join(FAMILIES)}.")
    return FAMILIES[key]


def default_params(key: str) -> dict:
    return {p.name: p.default for p in family(key).params}


def _coerce(param: Param, value):
    """Validate one parameter value; raise a ModelDeckError that says what is allowed."""
    if param.kind == "layers":
        if isinstance(value, str):
            value = [v for v in value.replace(" ", "").split(",") if v]
        try:
            layers = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ModelDeckError(f"{param.label}: give whole numbers separated by commas, e.g. 64, 32.") from None
        if not layers or any(n < 1 or n > 4096 for n in layers):
            raise ModelDeckError(f"{param.label}: between 1 and 4096 units per layer, at least one layer.")
        return layers
    if param.kind == "choice":
        if value not in param.choices:
            raise ModelDeckError(f"{param.label}: '{value}' is not one of {', '.join(map(str, param.choices))}.")
        return value
    if param.kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    try:
        number = int(value) if param.kind == "int" else float(value)
    except (TypeError, ValueError):
        raise ModelDeckError(f"{param.label}: '{value}' is not a number.") from None
    if (param.low is not None and number < param.low) or (param.high is not None and number > param.high):
        raise ModelDeckError(f"{param.label}: {number} is outside {param.low}–{param.high}.")
    return number


@dataclass(frozen=True)
class ModelSpec:
    """A model family and its parameters; the same spec always builds the same (seeded) estimator."""

    family: str
    params: dict = field(default_factory=dict)
    seed: int = DEFAULT_SEED

    @classmethod
    def create(cls, family_key: str, seed: int = DEFAULT_SEED, **params) -> "ModelSpec":
        fam = family(family_key)
        merged = default_params(family_key) | params
        unknown = set(merged) - {p.name for p in fam.params}
        if unknown:
            raise ModelDeckError(f"Unknown setting(s) for {family_key}: {', '.join(sorted(unknown))}.")
        clean = {p.name: _coerce(p, merged[p.name]) for p in fam.params}
        return cls(family_key, clean, int(seed))

    def to_json(self) -> str:
        return json.dumps({"family": self.family, "params": self.params, "seed": self.seed}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        data = json.loads(text)
        params = {**family(data["family"]).legacy, **data.get("params", {})}
        return cls.create(data["family"], seed=data.get("seed", DEFAULT_SEED), **params)

    def title(self, task: str) -> str:
        return family(self.family).title[task]

    def __hash__(self) -> int:
        return hash(self.to_json())


def has_category_splits(model) -> bool:
    """True for a fitted histogram gradient boosting model that splits on category columns itself (issue 14):
    shap's tree reader and skl2onnx read numeric thresholds only."""
    flags = getattr(model, "is_categorical_", None)
    return hasattr(model, "_predictors") and flags is not None and bool(flags.any())


def make_estimator(spec: ModelSpec, task: str):
    """The bare (unfitted) estimator for a spec; preprocessing is added by core.train."""
    p, seed, clf = spec.params, spec.seed, task == "classification"
    if spec.family == "linear":
        from sklearn.linear_model import LogisticRegression, Ridge
        return LogisticRegression(C=p["C"], max_iter=2000) if clf else Ridge(alpha=1.0 / p["C"])
    if spec.family == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
        cls = RandomForestClassifier if clf else RandomForestRegressor
        return cls(n_estimators=p["n_estimators"], max_depth=p["max_depth"] or None,
                   min_samples_leaf=p["min_samples_leaf"], random_state=seed, n_jobs=1)
    if spec.family == "hist_gb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        cls = HistGradientBoostingClassifier if clf else HistGradientBoostingRegressor
        return cls(learning_rate=p["learning_rate"], max_iter=p["max_iter"], max_leaf_nodes=p["max_leaf_nodes"],
                   l2_regularization=p["l2_regularization"], early_stopping=False, random_state=seed)
    if spec.family == "knn":
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
        cls = KNeighborsClassifier if clf else KNeighborsRegressor
        return cls(n_neighbors=p["n_neighbors"], weights=p["weights"])
    if spec.family == "svm":
        from sklearn.svm import SVC, SVR
        if not clf:
            return SVR(C=p["C"], kernel=p["kernel"])
        from sklearn.calibration import CalibratedClassifierCV   # Platt-scaled probabilities (SVC(probability=True) is deprecated)
        return CalibratedClassifierCV(SVC(C=p["C"], kernel=p["kernel"], random_state=seed), method="sigmoid",
                                      ensemble=False, cv=3)
    if spec.family == "mlp":
        from core.models.torch_mlp import TorchMLPClassifier, TorchMLPRegressor
        cls = TorchMLPClassifier if clf else TorchMLPRegressor
        return cls(random_state=seed, **p)
    if spec.family == "cnn":
        if not clf:
            raise ModelDeckError("The convolutional network classifies pictures; this data set is a regression task.")
        from core.models.torch_cnn import TorchCNNClassifier
        return TorchCNNClassifier(random_state=seed, **p)
    raise ModelDeckError(f"Unknown model '{spec.family}'.")
