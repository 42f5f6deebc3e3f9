"""Search spaces: what a search tunes. A `Dim` is one tuned setting (a numeric range, optionally on a log scale,
or a list of choices), a thin wrapper over Optuna's FloatDistribution / IntDistribution / CategoricalDistribution;
a `SearchSpace` is the tuned settings of one model family plus fixed values for the others. Also the default
space of each family (derived from its `Param` descriptions) and the validation that turns a bad range into a
message a person can act on. Optuna is imported only when a distribution is built.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from core.common import ModelDeckError
from core.models import ModelSpec, Param, family

if TYPE_CHECKING:  # pragma: no cover - typing only
    import optuna
    from optuna.distributions import BaseDistribution


@dataclass(frozen=True)
class Dim:
    """One tuned setting: a numeric range (optionally on a log scale) or a list of choices.

    Trials draw from `distribution`, Optuna's own FloatDistribution, IntDistribution or CategoricalDistribution.
    The fields stay plain values because they are what the page edits (a half-edited range must be representable
    until `SearchSpace.validate` explains what is wrong) and what a study stores in its user attributes.
    """

    name: str
    kind: str                   # "float" | "int" | "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()

    @property
    def distribution(self) -> "BaseDistribution":
        """The Optuna distribution of this setting (raises Optuna's ValueError for an unusable range)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
        if self.kind == "choice":
            return CategoricalDistribution(self.choices)
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def suggest(self, trial: "optuna.Trial"):
        """Draw this setting's value for a trial from its distribution."""
        dist = self.distribution
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, dist.choices)
        if self.kind == "int":
            return trial.suggest_int(self.name, dist.low, dist.high, log=dist.log)
        return trial.suggest_float(self.name, dist.low, dist.high, log=dist.log)

    def grid(self, points: int) -> list:
        """The values a grid search tries: every choice, or `points` evenly (log-)spaced numbers."""
        if self.kind == "choice":
            return list(self.choices)
        spaced = np.geomspace(self.low, self.high, points) if self.log else np.linspace(self.low, self.high, points)
        if self.kind == "int":
            return sorted({int(round(v)) for v in spaced})
        return sorted({float(np.clip(float(f"{v:.4g}"), self.low, self.high)) for v in spaced})

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "low": self.low, "high": self.high, "log": self.log,
                "choices": list(self.choices)}

    @classmethod
    def from_dict(cls, d: dict) -> "Dim":
        return cls(d["name"], d["kind"], d.get("low"), d.get("high"), bool(d.get("log")), tuple(d.get("choices", ())))


@dataclass(frozen=True)
class SearchSpace:
    """The tuned settings of one model family, plus fixed values for the settings not tuned."""

    family: str
    dims: tuple[Dim, ...]
    fixed: dict = field(default_factory=dict)

    def suggest(self, trial: "optuna.Trial") -> dict:
        return {d.name: d.suggest(trial) for d in self.dims}

    def spec(self, params: dict, seed: int) -> ModelSpec:
        return ModelSpec.create(self.family, seed=seed, **(self.fixed | params))

    def first_point(self) -> dict:
        """One valid setting per tuned dimension (the lowest value or first choice)."""
        return {d.name: d.grid(2)[0] for d in self.dims}

    def grid(self, points: int) -> dict[str, list]:
        return {d.name: d.grid(points) for d in self.dims}

    def grid_size(self, points: int) -> int:
        return math.prod(len(v) for v in self.grid(points).values())

    def to_dict(self) -> dict:
        return {"family": self.family, "dims": [d.to_dict() for d in self.dims], "fixed": plain(self.fixed)}

    @classmethod
    def from_dict(cls, d: dict) -> "SearchSpace":
        return cls(d["family"], tuple(Dim.from_dict(x) for x in d["dims"]), dict(d.get("fixed", {})))

    def validate(self) -> "SearchSpace":
        """Raise a ModelDeckError a person can act on; return self when the space is usable."""
        fam = family(self.family)
        if not self.dims:
            raise ModelDeckError(f"The search space is empty: tick 'Tune' for at least one setting of "
                                 f"{fam.title['classification'].lower()}.")
        params = {p.name: p for p in fam.params}
        for dim in self.dims:
            if dim.name not in params:
                raise ModelDeckError(f"{fam.title['classification']} has no setting '{dim.name}'.")
            _check_dim(dim, params[dim.name], self.family)
        self.spec(self.first_point(), seed=0)   # fixed values are valid settings
        return self


def plain(values: dict) -> dict:
    """Tuples as lists, so a stored space reads back equal to the one written."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def _number(value: float) -> str:
    return f"{value:g}"


def _check_dim(dim: Dim, param: Param, family_key: str) -> None:
    name = param.label
    if dim.kind == "choice":
        if not dim.choices:
            raise ModelDeckError(f"{name}: list at least one choice (separate choices with '|').")
        for choice in dim.choices:
            ModelSpec.create(family_key, **{param.name: choice})   # raises "not one of …" for a bad choice
    else:
        _check_range(dim, param)
    try:
        dim.distribution                # Optuna's own checks have the last word (e.g. an integer log range from 0)
    except ValueError as error:
        raise ModelDeckError(f"{name}: {error}") from None


def _check_range(dim: Dim, param: Param) -> None:
    name = param.label
    if dim.low is None or dim.high is None or not all(map(np.isfinite, (dim.low, dim.high))):
        raise ModelDeckError(f"{name}: give both a low and a high bound.")
    if dim.low > dim.high:
        raise ModelDeckError(f"{name}: the low bound {_number(dim.low)} is above the high bound "
                             f"{_number(dim.high)}. Swap them.")
    if dim.log and dim.low <= 0:
        raise ModelDeckError(f"{name}: a log scale needs a range above 0, but it starts at {_number(dim.low)}. "
                             "Raise the low bound (e.g. 0.0001) or untick 'Log scale'.")
    if (param.low is not None and dim.low < param.low) or (param.high is not None and dim.high > param.high):
        raise ModelDeckError(f"{name}: {_number(dim.low)}–{_number(dim.high)} goes outside the allowed range "
                             f"{_number(param.low)}–{_number(param.high)}.")


#: Sensible starting ranges (narrower than what a model accepts, so a small budget is not wasted on extremes).
#: (low, high, log) for numbers, a tuple of choices for the rest; None = the family's own Param range/choices.
DEFAULT_RANGES: dict[str, dict[str, tuple | None]] = {
    "linear": {"C": (1e-3, 1e3, True)},
    "random_forest": {"n_estimators": (20, 300, True), "max_depth": (2, 20, False), "min_samples_leaf": (1, 20, True)},
    "hist_gb": {"learning_rate": (0.01, 0.5, True), "max_iter": (20, 300, True), "max_leaf_nodes": (4, 64, True),
                "l2_regularization": (0.0, 5.0, False)},
    "knn": {"n_neighbors": (1, 50, True), "weights": None},
    "svm": {"C": (1e-2, 1e2, True), "kernel": None},
    "mlp": {"hidden": ("32", "64", "64,32", "128,64"), "dropout": (0.0, 0.5, False), "lr": (1e-4, 1e-1, True),
            "optimizer": ("sgd", "momentum", "rmsprop", "adam"), "batch_size": (16, 256, True),
            "weight_decay": (1e-6, 1e-2, True)},
    "cnn": {"width": (4, 32, True), "dense": (16, 128, True), "dropout": (0.0, 0.5, False), "lr": (3e-4, 3e-2, True),
            "weight_decay": (1e-6, 1e-2, True), "optimizer": ("momentum", "rmsprop", "adam"), "epochs": (2, 10, False)},
}
#: Fixed values that differ from the model defaults while tuning (a trial must stay cheap; the pruner reads each
#: epoch's score on the 10% of rows the network does not learn from, which the MLP's own default of 0 leaves out).
TUNING_FIXED = {"mlp": {"epochs": 40, "patience": 8, "validation_fraction": 0.1}, "cnn": {"patience": 4}}


#: Param kinds tuned as a list of choices.
CHOICE_KINDS = ("choice", "bool", "layers")


def default_dim(param: Param, override: tuple | None) -> Dim:
    """The Dim of a Param: its own range or choices, or `override` from DEFAULT_RANGES."""
    if param.kind in CHOICE_KINDS:
        choices = override or param.choices or (True, False)
        return Dim(param.name, "choice", choices=tuple(choices))
    low, high, log = override if override else (param.low, param.high, param.log)
    return Dim(param.name, param.kind, float(low), float(high), bool(log))


def default_space(family_key: str) -> SearchSpace:
    """The default search space of a family, derived from its Param descriptions and DEFAULT_RANGES."""
    fam = family(family_key)
    ranges = DEFAULT_RANGES.get(family_key, {})
    dims = tuple(default_dim(p, ranges[p.name]) for p in fam.params if p.name in ranges)
    fixed = {p.name: p.default for p in fam.params if p.name not in ranges} | TUNING_FIXED.get(family_key, {})
    return SearchSpace(family_key, dims, plain(fixed))
