"""What a search optimises and how: the metrics it can score (with their direction and how they read), the
strategies, and `TuneConfig`, the whole description of a search that is stored with its study so any process
can rebuild the objective; `check_config` validates one for a task with messages a person can act on.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from core.common import DEFAULT_SEED, ModelDeckError
from core.data import PrepOptions
from core.tune._space import SearchSpace

STRATEGIES = {"grid": "Grid", "random": "Random", "tpe": "Bayesian (TPE)", "gp": "Bayesian (Gaussian process)"}
COMPARE_STRATEGIES = ("grid", "random", "tpe")
MAX_GRID = 100_000
#: "Within 0.1 point": the tolerance used to call two best scores equal (0.1 percentage point for shares).
CLOSE = 0.001


# ---------------------------------------------------------------- metrics
@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    direction: str              # "maximize" | "minimize"
    scorer: str                 # scikit-learn scorer name (neg_* are reported positive)
    percent: bool = False

    def format(self, value: float | None) -> str:
        if value is None or not np.isfinite(value):
            return "–"
        return f"{value:.1%}" if self.percent else f"{value:,.4g}"

    def points(self, delta: float) -> str:
        """A score difference in words: percentage points for shares, metric units otherwise."""
        return f"{abs(delta) * 100:.1f} points" if self.percent else f"{abs(delta):,.3g}"

    @property
    def close_text(self) -> str:
        """How CLOSE reads for this metric ("0.1 point" for shares)."""
        return "0.1 point" if self.percent else f"{CLOSE:g}"


METRICS: dict[str, dict[str, Metric]] = {
    "classification": {m.key: m for m in (
        Metric("accuracy", "Accuracy", "maximize", "accuracy", True),
        Metric("balanced_accuracy", "Balanced accuracy", "maximize", "balanced_accuracy", True),
        Metric("f1_macro", "F1 (macro)", "maximize", "f1_macro", True),
        Metric("roc_auc", "ROC AUC", "maximize", "roc_auc", True),
        Metric("log_loss", "Log loss", "minimize", "neg_log_loss"),
    )},
    "regression": {m.key: m for m in (
        Metric("r2", "R²", "maximize", "r2"),
        Metric("mae", "MAE", "minimize", "neg_mean_absolute_error"),
        Metric("rmse", "RMSE", "minimize", "neg_root_mean_squared_error"),
    )},
}
DEFAULT_METRIC = {"classification": "accuracy", "regression": "r2"}


def metric_for(task: str, key: str) -> Metric:
    """The metric `key` for a task, or a ModelDeckError naming the metrics that fit the task."""
    if key in METRICS.get(task, {}):
        return METRICS[task][key]
    other = next((m for t, ms in METRICS.items() if t != task for m in ms.values() if m.key == key), None)
    allowed = ", ".join(m.label for m in METRICS.get(task, {}).values())
    if other is not None:
        kind = "regression" if task == "classification" else "classification"
        raise ModelDeckError(f"{other.label} scores {kind} models, but this data set is a {task} task. "
                             f"Pick one of: {allowed}.")
    raise ModelDeckError(f"Unknown metric '{key}'. Pick one of: {allowed}.")


# ---------------------------------------------------------------- configuration
@dataclass(frozen=True)
class TuneConfig:
    """What a search tunes and how; stored with the study so another process can rebuild the objective."""

    dataset_key: str
    space: SearchSpace
    metric: str
    strategy: str = "tpe"
    budget: int = 30                         # trials of the whole study, shared by all its workers
    time_budget_s: float | None = None      # per start of the workers
    cv_folds: int = 3
    prep: PrepOptions = field(default_factory=PrepOptions)
    seed: int = DEFAULT_SEED
    grid_points: int = 4                     # values per numeric setting in a grid search
    direction: str | None = None             # None: the metric's own direction

    @property
    def family(self) -> str:
        return self.space.family

    def to_attrs(self) -> dict:
        return {"dataset_key": self.dataset_key, "space": self.space.to_dict(), "metric": self.metric,
                "strategy": self.strategy, "budget": int(self.budget), "time_budget_s": self.time_budget_s,
                "cv_folds": int(self.cv_folds), "prep": self.prep.to_dict(), "seed": int(self.seed),
                "grid_points": int(self.grid_points), "direction": self.direction}

    @classmethod
    def from_attrs(cls, d: dict) -> "TuneConfig":
        return cls(dataset_key=d["dataset_key"], space=SearchSpace.from_dict(d["space"]), metric=d["metric"],
                   strategy=d["strategy"], budget=int(d["budget"]), time_budget_s=d.get("time_budget_s"),
                   cv_folds=int(d["cv_folds"]), prep=PrepOptions.from_dict(d["prep"]), seed=int(d["seed"]),
                   grid_points=int(d.get("grid_points", 4)), direction=d.get("direction"))

    def metric_info(self, task: str) -> Metric:
        return metric_for(task, self.metric)


def check_config(config: TuneConfig, task: str) -> TuneConfig:
    """Validate a configuration for a task; return it with the direction filled in."""
    metric = metric_for(task, config.metric)
    if config.strategy not in STRATEGIES:
        raise ModelDeckError(f"Unknown strategy '{config.strategy}'. Pick one of: {', '.join(STRATEGIES)}.")
    if int(config.budget) < 1:
        raise ModelDeckError(f"The trial budget is {config.budget}: give at least 1 trial.")
    if config.time_budget_s is not None and config.time_budget_s <= 0:
        raise ModelDeckError("The time budget must be above 0 minutes (or leave it empty for no limit).")
    if int(config.cv_folds) < 2:
        raise ModelDeckError("The search scores each trial by cross-validation: use at least 2 folds.")
    if config.strategy == "grid" and int(config.grid_points) < 2:
        raise ModelDeckError("A grid needs at least 2 values per numeric setting.")
    if config.direction not in (None, metric.direction):
        better = "higher" if metric.direction == "maximize" else "lower"
        raise ModelDeckError(f"{metric.label} is better when {better}: the search must {metric.direction} it.")
    config.space.validate()
    budget = int(config.budget)
    if config.strategy == "grid":
        size = config.space.grid_size(int(config.grid_points))
        if size > MAX_GRID:
            raise ModelDeckError(f"The grid has {size:,} points (more than {MAX_GRID:,}): use fewer values per "
                                 "setting, tune fewer settings, or pick random or Bayesian search.")
        budget = min(budget, size)     # a grid search ends when every point is tried
    return replace(config, direction=metric.direction, budget=budget)


def value_text(value) -> str:
    """A setting's value for people: a float to 4 significant digits, a list joined with commas."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def settings_text(params: dict) -> str:
    """'lr 0.0001222, dropout 0.3669, batch_size 147' (a trial's settings in a progress line or a log)."""
    return ", ".join(f"{name} {value_text(value)}" for name, value in params.items())
