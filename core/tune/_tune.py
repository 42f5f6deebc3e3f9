"""Hyper-parameter search on Optuna: grid, random and Bayesian (TPE, Gaussian process), one engine.

A search is an Optuna *study* stored through the same SQLAlchemy URL as the runs (core.config.db_url()).
Everything needed to rebuild its objective (data set, model family, search space, metric, direction,
preparation options, folds, seed) is kept in the study's user attributes under "modeldeck", so any
process that knows the study name can join it: `python -m core tune-worker --study NAME --trials N`.

- The objective is the cross-validated score on the training split only (the test split stays unseen),
  with the same folds for every trial (StratifiedKFold / KFold, shuffled with the preparation seed).
- PyTorch MLP trials report the per-epoch validation score of their first fold to a median pruner, which
  stops hopeless ones early (state PRUNED).
- Workers record a heartbeat; a trial whose worker died is marked FAIL by the next process that looks at
  the study (another worker, or the page polling it), so the study stays usable.
- Stopping is cooperative: `request_stop` sets a flag the workers read after every trial.
"""
from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import uuid
import warnings
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from core.common import db_url, home
from core.common import ModelDeckError
from core.models import FAMILIES, ModelSpec, Param, family
from core.data import PrepOptions

if TYPE_CHECKING:  # pragma: no cover - typing only
    import optuna

    from core.data import Dataset

REPO_ROOT = Path(__file__).resolve().parents[2]
ATTR = "modeldeck"              # study user attribute holding the TuneConfig
STOP_ATTR = "stop_requested"
HEARTBEAT_S = 2                 # a running trial writes a heartbeat this often …
GRACE_S = 20                    # … and is declared lost (FAIL) after this long without one
CATCH = (ModelDeckError, ValueError, ArithmeticError, RuntimeError)   # a trial fails, the search goes on
WORKER = f"{socket.gethostname()}:{os.getpid()}"
#: BLAS/OpenMP threads per worker. A search is many small fits: parallelism comes from workers, and on a busy
#: 2-core machine a 2-thread OpenBLAS made a logistic regression on iris 18x slower than 1 thread.
WORKER_THREADS = 1

STRATEGIES = {"grid": "Grid", "random": "Random", "tpe": "Bayesian (TPE)", "gp": "Bayesian (Gaussian process)"}
COMPARE_STRATEGIES = ("grid", "random", "tpe")
MAX_GRID = 100_000


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
#: "Within 0.1 point": the tolerance used to call two best scores equal (0.1 percentage point for shares).
CLOSE = 0.001


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


# ---------------------------------------------------------------- search spaces
@dataclass(frozen=True)
class Dim:
    """One tuned setting: a numeric range (optionally on a log scale) or a list of choices."""

    name: str
    kind: str                   # "float" | "int" | "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()

    def suggest(self, trial: "optuna.Trial"):
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

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

    def grid(self, points: int) -> dict[str, list]:
        return {d.name: d.grid(points) for d in self.dims}

    def grid_size(self, points: int) -> int:
        return math.prod(len(v) for v in self.grid(points).values())

    def to_dict(self) -> dict:
        return {"family": self.family, "dims": [d.to_dict() for d in self.dims], "fixed": _plain(self.fixed)}

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
        self.spec({d.name: d.grid(2)[0] for d in self.dims}, seed=0)   # fixed values are valid settings
        return self


def _plain(values: dict) -> dict:
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
        return
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
}
#: Fixed values that differ from the model defaults while tuning (a trial must stay cheap).
TUNING_FIXED = {"mlp": {"epochs": 40, "patience": 8}}


def _layers_text(value) -> str:
    return value.replace(" ", "") if isinstance(value, str) else ",".join(str(v) for v in value)


def _default_dim(param: Param, override: tuple | None) -> Dim:
    if param.kind in ("choice", "bool", "layers"):
        choices = override or param.choices or (True, False)
        return Dim(param.name, "choice", choices=tuple(choices))
    low, high, log = override if override else (param.low, param.high, param.log)
    return Dim(param.name, param.kind, float(low), float(high), bool(log))


def default_space(family_key: str) -> SearchSpace:
    """The default search space of a family, derived from its Param descriptions and DEFAULT_RANGES."""
    fam = family(family_key)
    ranges = DEFAULT_RANGES.get(family_key, {})
    dims = tuple(_default_dim(p, ranges[p.name]) for p in fam.params if p.name in ranges)
    fixed = {p.name: p.default for p in fam.params if p.name not in ranges} | TUNING_FIXED.get(family_key, {})
    return SearchSpace(family_key, dims, _plain(fixed))


# ---- the editable table a page shows (one row per setting)
TABLE_COLUMNS = ("name", "setting", "tune", "low", "high", "log", "choices", "fixed")


def space_table(space: SearchSpace):
    """A DataFrame with one row per setting of the family: tune?, range / choices, value when not tuned."""
    import pandas as pd
    tuned = {d.name: d for d in space.dims}
    rows = []
    for p in family(space.family).params:
        dim = tuned.get(p.name) or _default_dim(p, DEFAULT_RANGES.get(space.family, {}).get(p.name))
        fixed = space.fixed.get(p.name, p.default)
        rows.append({
            "name": p.name, "setting": p.label, "tune": p.name in tuned,
            "low": dim.low if dim.kind != "choice" else None, "high": dim.high if dim.kind != "choice" else None,
            "log": dim.log, "choices": " | ".join(_layers_text(c) if p.kind == "layers" else str(c)
                                                  for c in dim.choices),
            "fixed": _layers_text(fixed) if p.kind == "layers" else str(fixed),
        })
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _parse_choice(param: Param, text: str):
    if param.kind == "bool":
        return text.strip().lower() in ("1", "true", "yes", "on")
    return text.strip().replace(" ", "") if param.kind == "layers" else text.strip()


def _parse_fixed(param: Param, text) -> object:
    text = str(text).strip()
    if param.kind in ("layers", "choice", "bool"):
        return _parse_choice(param, text)
    try:
        return int(float(text)) if param.kind == "int" else float(text)
    except ValueError:
        raise ModelDeckError(f"{param.label}: '{text}' is not a number.") from None


def _cell(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def space_from_table(family_key: str, table) -> SearchSpace:
    """Read the edited table back into a SearchSpace and validate it (clear messages for bad cells)."""
    params = {p.name: p for p in family(family_key).params}
    dims, fixed = [], {}
    for row in table.to_dict("records"):
        param = params[row["name"]]
        if not bool(row.get("tune")):
            fixed[param.name] = _parse_fixed(param, row.get("fixed", param.default))
        elif param.kind in ("choice", "bool", "layers"):
            items = [c for c in str(row.get("choices") or "").split("|") if c.strip()]
            dims.append(Dim(param.name, "choice", choices=tuple(_parse_choice(param, c) for c in items)))
        else:
            dims.append(Dim(param.name, param.kind, _cell(row.get("low")), _cell(row.get("high")),
                            bool(row.get("log"))))
    return SearchSpace(family_key, tuple(dims), _plain(fixed)).validate()


# ---------------------------------------------------------------- configuration
@dataclass(frozen=True)
class TuneConfig:
    """What a search tunes and how; stored with the study so another process can rebuild the objective."""

    dataset_key: str
    space: SearchSpace
    metric: str
    strategy: str = "tpe"
    budget: int = 30
    time_budget_s: float | None = None      # per start of the workers
    cv_folds: int = 3
    prep: PrepOptions = field(default_factory=PrepOptions)
    seed: int = 42
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


# ---------------------------------------------------------------- storage
def _note_lost_trial(study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
    """Heartbeat-stale callback: remember why a trial failed (its worker stopped answering)."""
    study.set_user_attr(f"lost:{trial.number}", "Its worker stopped answering (killed or crashed); "
                                                "the trial was marked failed.")


@lru_cache(maxsize=8)
def _storage(url: str):
    import optuna
    from optuna.exceptions import ExperimentalWarning
    kwargs: dict = {}
    sqlite = url.startswith("sqlite")
    if sqlite:
        from core.runs import RunStore
        RunStore(url)           # the shared database file, in WAL mode (readers never block the writer)
        kwargs = {"connect_args": {"timeout": 60}}   # workers wait for each other's short write locks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        storage = optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_S,
                                             grace_period=GRACE_S, heartbeat_stale_trial_callback=_note_lost_trial)
    if sqlite:   # a trial commits ~8 times: with WAL, synchronous=NORMAL skips the fsyncs (halved trial time)
        import sqlalchemy as sa
        sa.event.listen(storage.engine, "connect", _sqlite_normal_sync)
        storage.engine.dispose()     # connections opened while creating the tables reconnect with the pragma
    return storage


def _sqlite_normal_sync(connection, _record) -> None:
    connection.execute("PRAGMA synchronous=NORMAL")


def open_storage(url: str | None = None):
    """The Optuna storage on the run database (one per URL and process)."""
    return _storage(url or db_url())


def make_sampler(config: TuneConfig, worker: int = 0):
    """The strategy's sampler. Worker k > 0 gets seed + k, so parallel workers do not repeat each other."""
    import optuna
    seed = int(config.seed) + int(worker)
    startup = min(10, max(2, int(config.budget) // 3))
    if config.strategy == "grid":
        return optuna.samplers.GridSampler(config.space.grid(config.grid_points), seed=seed)
    if config.strategy == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if config.strategy == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=True)


def make_pruner():
    """Median pruner: after 5 full trials, a trial whose epoch-k validation score is below the median of
    earlier trials at epoch k is stopped (from epoch 5 on)."""
    import optuna
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5)


def _quiet_optuna() -> None:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def _study_attrs(name: str) -> dict:
    storage = open_storage()
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        raise ModelDeckError(f"There is no search named '{name}' in this ModelDeck database.") from None
    attrs = storage.get_study_user_attrs(study_id)
    if ATTR not in attrs:
        raise ModelDeckError(f"The study '{name}' was not created by ModelDeck: it does not say what it tunes.")
    return attrs


def load_study(name: str, worker: int | None = 0) -> tuple["optuna.Study", TuneConfig]:
    """The study and its configuration, with the strategy's sampler seeded for `worker` (None: only to read)."""
    import optuna
    config = TuneConfig.from_attrs(_study_attrs(name)[ATTR])
    sampler = optuna.samplers.RandomSampler() if worker is None else make_sampler(config, worker)
    study = optuna.load_study(study_name=name, storage=open_storage(), sampler=sampler, pruner=make_pruner())
    return study, config


def default_name(config: TuneConfig) -> str:
    data = config.dataset_key.split(":", 1)[-1][:12]
    return f"{data}-{config.family}-{config.strategy}-{uuid.uuid4().hex[:6]}"


def create_study(config: TuneConfig, name: str | None = None, group: str | None = None) -> str:
    """Validate the configuration, create the study in the database and return its name."""
    import optuna
    from core.data import load_dataset
    dataset = load_dataset(config.dataset_key)
    config = check_config(config, dataset.task)
    _check_usable(dataset, config)
    name = name or default_name(config)
    _quiet_optuna()
    try:
        study = optuna.create_study(storage=open_storage(), study_name=name, direction=config.direction)
    except optuna.exceptions.DuplicatedStudyError:
        raise ModelDeckError(f"A search named '{name}' already exists: resume it or pick another name.") from None
    study.set_user_attr(ATTR, config.to_attrs())
    study.set_user_attr("dataset_name", dataset.name)
    study.set_user_attr("task", dataset.task)
    study.set_user_attr("created", _now().isoformat())
    if group:
        study.set_user_attr("group", group)
    return name


def _check_usable(dataset: "Dataset", config: TuneConfig) -> None:
    """Fail before any trial runs when the data cannot train this family at all."""
    from core.data import split_dataset
    from core.train import check_missing
    spec = config.space.spec({d.name: d.grid(2)[0] for d in config.space.dims}, config.seed)
    check_missing(split_dataset(dataset, config.prep), spec, config.prep)


def delete_study(name: str) -> None:
    import optuna
    _study_attrs(name)
    optuna.delete_study(study_name=name, storage=open_storage())


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------- the objective
def _folds(y, task: str, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same shuffled, seeded folds as core.metrics.cross_validate_model (fewer when a class is rarer)."""
    from sklearn.model_selection import KFold, StratifiedKFold
    y = np.asarray(y)
    if task == "classification":
        smallest = int(np.unique(y.astype(str), return_counts=True)[1].min())
        if smallest < 2:
            raise ModelDeckError("A class has only 1 training row, so it cannot appear in both a training and a "
                                 "validation fold. Remove or merge rare classes, or add rows.")
        splitter = StratifiedKFold(n_splits=min(folds, smallest), shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=min(folds, len(y)), shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


class Objective:
    """Cross-validated score of one trial's settings on the training split (same folds for every trial)."""

    def __init__(self, config: TuneConfig, dataset: "Dataset"):
        from sklearn.metrics import get_scorer

        from core.data import split_dataset
        self.config, self.dataset = config, dataset
        self.metric = metric_for(dataset.task, config.metric)
        split = split_dataset(dataset, config.prep)
        self.X, self.y = split.X_train, split.y_train
        self.folds = _folds(self.y, dataset.task, int(config.cv_folds), config.prep.seed)
        scorer = self.metric.scorer
        if scorer == "roc_auc" and self.y.nunique() > 2:
            scorer = "roc_auc_ovr"
        self.scorer = get_scorer(scorer)
        self.sign = -1.0 if scorer.startswith("neg_") else 1.0

    def __call__(self, trial: "optuna.Trial") -> float:
        from core.train import build_pipeline
        params = self.config.space.suggest(trial)
        spec = self.config.space.spec(params, self.config.seed)
        trial.set_user_attr("worker", WORKER)
        scores = []
        for i, (train_idx, test_idx) in enumerate(self.folds):
            pipeline = build_pipeline(self.dataset, spec, self.config.prep)
            fit_params = {"model__progress": self._pruning(trial)} if spec.family == "mlp" and i == 0 else {}
            pipeline.fit(self.X.iloc[train_idx], self.y.iloc[train_idx], **fit_params)
            value = self.sign * float(self.scorer(pipeline, self.X.iloc[test_idx], self.y.iloc[test_idx]))
            if not np.isfinite(value):
                raise ValueError(f"{self.metric.label} is not defined on fold {i + 1}.")
            scores.append(value)
        trial.set_user_attr("fold_scores", scores)
        return float(np.mean(scores))

    def _pruning(self, trial: "optuna.Trial") -> Callable:
        """A TorchMLP progress callback: report each epoch's validation score, stop the trial if hopeless."""
        import optuna
        key = "val_score" if self.metric.direction == "maximize" else "val_loss"

        def progress(_fraction, _message, history=None) -> None:
            if not history or history[-1].get(key) is None:
                return
            epoch, value = history[-1]["epoch"], float(history[-1][key])
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"stopped at epoch {epoch}: validation score below the median of "
                                         "earlier trials at that epoch")
        return progress


# ---------------------------------------------------------------- workers
def _finished_count(study) -> int:
    from optuna.trial import TrialState
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)))


def remaining_trials(name: str) -> int:
    study, config = load_study(name, worker=None)
    return max(int(config.budget) - _finished_count(study), 0)


def _stop_when_requested(study, _trial) -> None:
    study.set_user_attr(f"worker:{WORKER}", _worker_record("running"))
    if study.user_attrs.get(STOP_ATTR):
        study.stop()


def _worker_record(state: str, pid: int | None = None) -> dict:
    return {"host": socket.gethostname(), "pid": pid or os.getpid(), "state": state, "seen": _now().isoformat()}


def run_worker(name: str, n_trials: int | None = None, timeout: float | None = None, worker: int = 0,
               log: Callable[[str], None] | None = None) -> int:
    """Join the study `name` in this process and run up to n_trials trials (default: what is left of the
    budget), stopping early on a stop request, the time budget or an exhausted grid. Returns trials run."""
    from threadpoolctl import threadpool_limits

    from core.data import load_dataset
    _quiet_optuna()
    study, config = load_study(name, worker)
    n_trials = remaining_trials(name) if n_trials is None else int(n_trials)
    if n_trials <= 0 or study.user_attrs.get(STOP_ATTR):
        return 0
    objective = Objective(config, load_dataset(config.dataset_key))
    ran: list[int] = []
    study.set_user_attr(f"worker:{WORKER}", _worker_record("running"))
    callbacks = [_stop_when_requested, lambda _s, t: ran.append(t.number)]
    if log is not None:
        callbacks.append(lambda _s, t: log(_trial_line(t, objective.metric)))
    try:
        with threadpool_limits(limits=WORKER_THREADS):
            study.optimize(objective, n_trials=n_trials, timeout=timeout or config.time_budget_s, catch=CATCH,
                           callbacks=callbacks)
    finally:
        study.set_user_attr(f"worker:{WORKER}", _worker_record("done"))
    return len(ran)


def _trial_line(trial, metric: Metric) -> str:
    state = trial.state.name.lower()
    value = f" {metric.label} {metric.format(trial.value)}" if trial.value is not None else ""
    return f"trial {trial.number} {state}{value} {trial.params}"


def start_workers(name: str, n_workers: int = 1, n_trials: int | None = None) -> list[int]:
    """Launch `python -m core tune-worker` processes that share the remaining budget; returns their pids.

    Each gets a share of the trials and WORKER_THREADS threads, and logs to <home>/tune/<name>.log.
    """
    remaining = remaining_trials(name) if n_trials is None else int(n_trials)
    n_workers = max(1, min(int(n_workers), remaining or 1))
    shares = [remaining // n_workers + (1 if i < remaining % n_workers else 0) for i in range(n_workers)]
    threads = str(WORKER_THREADS)
    env = os.environ.copy() | {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    logs = home() / "tune"
    logs.mkdir(exist_ok=True)
    offset = _worker_offset(name)
    study, _ = load_study(name, worker=None)
    pids = []
    for i, share in enumerate(s for s in shares if s > 0):
        log = open(logs / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "core", "tune-worker", "--study", name, "--trials",
                                 str(share), "--worker", str(offset + i)], cwd=REPO_ROOT, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env)
        log.close()
        _CHILDREN[proc.pid] = proc
        pids.append(proc.pid)
        # registered now, so the page counts it as running while it starts up (imports take seconds)
        study.set_user_attr(f"worker:{socket.gethostname()}:{proc.pid}", _worker_record("starting", proc.pid))
    return pids


_CHILDREN: dict[int, subprocess.Popen] = {}


def _worker_offset(name: str) -> int:
    """Seed offset for new workers: past every worker that ever joined, so none repeats another's draws."""
    return sum(1 for key in _study_attrs(name) if key.startswith("worker:"))


def request_stop(name: str) -> None:
    """Ask every worker to stop after the trial it is running (the study keeps everything done so far)."""
    study, _ = load_study(name, worker=None)
    study.set_user_attr(STOP_ATTR, True)


def resume(name: str, n_workers: int = 1) -> list[int]:
    """Clear a stop request and start workers for what is left of the budget (nothing when it is spent)."""
    study, _ = load_study(name, worker=None)
    study.set_user_attr(STOP_ATTR, False)
    if remaining_trials(name) == 0:
        return []
    return start_workers(name, n_workers)


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    from core.runs import pid_alive
    return pid_alive(pid)


def _worker_alive(record: dict, stale_after_s: float = 900.0) -> bool:
    if record.get("state") not in ("starting", "running"):
        return False
    if record.get("host") == socket.gethostname():
        return _pid_alive(int(record["pid"]))
    seen = datetime.fromisoformat(record["seen"])
    return (_now() - seen).total_seconds() < stale_after_s    # another machine: trust a recent sign of life


# ---------------------------------------------------------------- status
@dataclass
class TuneStatus:
    """A snapshot of a search: its configuration, every trial so far and who is working on it."""

    name: str
    config: TuneConfig
    task: str
    dataset_name: str
    trials: list                       # optuna FrozenTrials, by number
    workers: dict[str, dict]
    stop_requested: bool = False
    group: str | None = None
    lost: dict[int, str] = field(default_factory=dict)

    # ---- counts
    def _count(self, state: str) -> int:
        return sum(t.state.name == state for t in self.trials)

    @property
    def n_complete(self) -> int:
        return self._count("COMPLETE")

    @property
    def n_pruned(self) -> int:
        return self._count("PRUNED")

    @property
    def n_failed(self) -> int:
        return self._count("FAIL")

    @property
    def n_running(self) -> int:
        return self._count("RUNNING")

    @property
    def n_finished(self) -> int:
        return self.n_complete + self.n_pruned + self.n_failed

    @property
    def metric(self) -> Metric:
        return metric_for(self.task, self.config.metric)

    @property
    def active_workers(self) -> int:
        return sum(_worker_alive(w) for w in self.workers.values())

    @property
    def active(self) -> bool:
        return self.active_workers > 0 or self.n_running > 0

    @property
    def done(self) -> bool:
        return not self.active and self.n_finished >= self.config.budget

    @property
    def version(self) -> str:
        """Changes whenever a trial finishes (a cache key for charts)."""
        last = max((t.datetime_complete for t in self.trials if t.datetime_complete), default=None)
        return f"{self.n_finished}:{last}"

    # ---- scores
    def complete_trials(self) -> list:
        return [t for t in self.trials if t.state.name == "COMPLETE"]

    @property
    def best(self):
        done = self.complete_trials()
        if not done:
            return None
        pick = max if self.config.direction == "maximize" else min
        return pick(done, key=lambda t: t.value)

    def best_so_far(self) -> tuple[list[int], list[float]]:
        """Trial numbers and the best value up to each complete trial, in trial order."""
        done = self.complete_trials()
        return [t.number for t in done], best_so_far([t.value for t in done], self.config.direction)

    def best_spec(self) -> ModelSpec:
        best = self.best
        if best is None:
            raise ModelDeckError("No trial has finished yet, so there is no best configuration to train.")
        return self.config.space.spec(best.params, self.config.seed)

    @property
    def elapsed_s(self) -> float:
        starts = [t.datetime_start for t in self.trials if t.datetime_start]
        if not starts:
            return 0.0
        ends = [t.datetime_complete for t in self.trials if t.datetime_complete]
        end = datetime.now() if self.active or not ends else max(ends)
        return max((end - min(starts)).total_seconds(), 0.0)

    def fail_reasons(self) -> list[str]:
        reasons = [self.lost.get(t.number) or t.system_attrs.get("fail_reason", "") for t in self.trials
                   if t.state.name == "FAIL"]
        return [r for r in reasons if r]

    # ---- sentences
    def headline(self) -> str:
        """Where the search stands, in one or two sentences."""
        metric, best, budget = self.metric, self.best, self.config.budget
        workers = self.active_workers
        who = f" by {workers} worker{'s' * (workers != 1)}" if workers else ""
        text = (f"{self.n_finished} of {budget} trials done{who} in {duration(self.elapsed_s)}"
                + (f" ({self.n_pruned} stopped early by the pruner)" if self.n_pruned else "") + ".")
        if self.n_failed:
            reasons = self.fail_reasons()
            text += f" {self.n_failed} failed" + (f" — e.g. {reasons[0].splitlines()[0][:160]}" if reasons else "") + "."
        if best is None:
            return text + " No trial has finished yet."
        text += (f" Best cross-validated {metric.label.lower()} so far: {metric.format(best.value)} "
                 f"(trial {best.number}).")
        return text + self._plateau_sentence()

    def _plateau_sentence(self, window: int = 10) -> str:
        _, curve = self.best_so_far()
        if len(curve) <= window:
            return ""
        gain = abs(curve[-1] - curve[-1 - window])
        if gain < CLOSE:
            return (f" The last {window} finished trials did not improve it by {self.metric.close_text}: more trials "
                    "are unlikely to help much.")
        return f" The last {window} finished trials improved it by {self.metric.points(gain)}."


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def study_status(name: str) -> TuneStatus:
    """Read a search from the database (marking trials of dead workers failed first)."""
    import optuna
    from optuna.exceptions import ExperimentalWarning
    study, config = load_study(name, worker=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    attrs = study.user_attrs
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    return TuneStatus(
        name=name, config=config, task=attrs.get("task", "classification"),
        dataset_name=attrs.get("dataset_name", config.dataset_key), trials=trials,
        workers={k[len("worker:"):]: v for k, v in attrs.items() if k.startswith("worker:")},
        stop_requested=bool(attrs.get(STOP_ATTR)), group=attrs.get("group"),
        lost={int(k[len("lost:"):]): v for k, v in attrs.items() if k.startswith("lost:")},
    )


@dataclass(frozen=True)
class StudyInfo:
    name: str
    dataset_key: str
    family: str
    strategy: str
    metric: str
    budget: int
    n_trials: int
    created: str
    group: str | None

    def label(self, task: str) -> str:
        title = FAMILIES[self.family].title[task] if self.family in FAMILIES else self.family
        group = " · comparison" if self.group else ""
        return (f"{title}, {STRATEGIES.get(self.strategy, self.strategy)}, {self.n_trials}/{self.budget} "
                f"trials{group} — {self.name}")


def list_studies(dataset_key: str | None = None) -> list[StudyInfo]:
    """ModelDeck searches in the database, newest first (optionally only those on one data set)."""
    import optuna
    infos = []
    for summary in optuna.get_all_study_summaries(open_storage(), include_best_trial=False):
        attrs = summary.user_attrs
        conf = attrs.get(ATTR)
        if not conf or (dataset_key and conf["dataset_key"] != dataset_key):
            continue
        infos.append(StudyInfo(summary.study_name, conf["dataset_key"], conf["space"]["family"], conf["strategy"],
                               conf["metric"], int(conf["budget"]), summary.n_trials, attrs.get("created", ""),
                               attrs.get("group")))
    return sorted(infos, key=lambda s: s.created, reverse=True)


# ---------------------------------------------------------------- figures' inputs
def memory_study(status: TuneStatus):
    """An in-memory copy of the finished trials (Optuna's plots and importances take a Study)."""
    import optuna
    _quiet_optuna()
    study = optuna.create_study(direction=status.config.direction)
    study.add_trials(status.complete_trials())
    return study


def importances(status: TuneStatus) -> dict[str, float]:
    """Share of importance per tuned setting (Optuna's PED-ANOVA; sums to 1), most important first.
    Empty when fewer than 3 trials finished or only one setting is tuned and never varied."""
    import optuna
    done = status.complete_trials()
    if len(done) < 3 or not status.config.space.dims:
        return {}
    values = {t.value for t in done}
    if len(values) < 2:
        return {}
    try:
        result = optuna.importance.get_param_importances(memory_study(status))
    except (ValueError, RuntimeError):
        return {}
    return dict(sorted(result.items(), key=lambda kv: -kv[1]))


def importance_sentence(status: TuneStatus, shares: dict[str, float]) -> str:
    if not shares:
        return "Setting importances need at least 3 finished trials with different scores."
    names = list(shares)
    if len(names) == 1:
        return f"Only '{names[0]}' is tuned, so it carries all the importance."
    if shares[names[0]] - shares[names[1]] < 0.05:
        text = (f"'{names[0]}' and '{names[1]}' matter most for reaching the best {status.metric.label.lower()} "
                f"({shares[names[0]]:.0%} and {shares[names[1]]:.0%} of the importance)")
    else:
        text = (f"'{names[0]}' matters most for reaching the best {status.metric.label.lower()} "
                f"({shares[names[0]]:.0%} of the importance)")
    if len(names) > 1 and shares[names[-1]] < 0.05:
        text += f"; '{names[-1]}' barely matters ({shares[names[-1]]:.0%})"
    return text + f". Measured on {len(status.complete_trials())} finished trials, so treat it as a hint."


def landscape_sentence(status: TuneStatus, shares: dict[str, float]) -> str:
    """The caption of charts_tune.landscape_figure."""
    names = list(shares)[:2]
    if len(names) == 2:
        return (f"Darker means a better score; dots are trials. Where the dark region sits in '{names[0]}' and "
                f"'{names[1]}' is where to search next (between trials the colours are interpolated).")
    if names:
        where = "highest" if status.config.direction == "maximize" else "lowest"
        return f"Each dot is a trial: its score against '{names[0]}'. The best values sit where the dots are {where}."
    return ""


# ---------------------------------------------------------------- comparing strategies
def best_so_far(values: list[float], direction: str) -> list[float]:
    pick = np.maximum if direction == "maximize" else np.minimum
    return [float(v) for v in pick.accumulate(np.asarray(values, dtype=float))] if values else []


def trials_to_reach(curve: list[float], target: float, direction: str, tol: float = CLOSE) -> int | None:
    """How many finished trials a best-so-far curve needs to come within `tol` of `target` (None: never)."""
    for i, value in enumerate(curve, start=1):
        if (value >= target - tol) if direction == "maximize" else (value <= target + tol):
            return i
    return None


def start_comparison(config: TuneConfig, strategies: tuple[str, ...] = COMPARE_STRATEGIES) -> tuple[str, list[str]]:
    """One study per strategy with the same space, budget and seed, one worker each. Returns (group, names)."""
    group = uuid.uuid4().hex[:8]
    names = [create_study(replace(config, strategy=s), group=group) for s in strategies]
    for name in names:
        start_workers(name, 1)
    return group, names


def group_statuses(group: str, dataset_key: str | None = None) -> dict[str, TuneStatus]:
    """strategy -> status of each study in a comparison group."""
    names = [s.name for s in list_studies(dataset_key) if s.group == group]
    statuses = [study_status(n) for n in names]
    return {s.config.strategy: s for s in sorted(statuses, key=lambda s: list(STRATEGIES).index(s.config.strategy))}


def compare_sentence(statuses: dict[str, TuneStatus]) -> str:
    """Plain words for a comparison: who got where, and whether it matters on this data."""
    finished = {k: s for k, s in statuses.items() if s.best is not None}
    if len(finished) < 2:
        return "The comparison needs at least two strategies with a finished trial."
    any_status = next(iter(finished.values()))
    metric, direction = any_status.metric, any_status.config.direction
    curves = {k: s.best_so_far()[1] for k, s in finished.items()}
    finals = {k: c[-1] for k, c in curves.items()}
    pick = max if direction == "maximize" else min
    target = pick(finals.values())
    n = min(len(c) for c in curves.values())
    parts = ", ".join(f"{STRATEGIES[k]} {metric.format(v)}" for k, v in finals.items())
    text = f"Best cross-validated {metric.label.lower()} — {parts}."
    reach = {k: trials_to_reach(c, target, direction) for k, c in curves.items()}
    reach_text = "; ".join(f"{STRATEGIES[k]} after {r} trials" if r else
                           f"{STRATEGIES[k]} not within {len(curves[k])} trials" for k, r in reach.items())
    text += f" Within {metric.close_text} of the best: {reach_text}."
    spread = max(finals.values()) - min(finals.values())
    if spread <= CLOSE + 1e-12:
        text += (f" On this data the {len(finals)} search strategies ended within {metric.close_text} of each other; "
                 "any of them is fine here.")
    else:
        winner = next(k for k, v in finals.items() if v == target)
        text += (f" {STRATEGIES[winner]} ended {metric.points(spread)} ahead of the weakest after about {n} trials "
                 "each; with one seed, a gap this size can still be luck.")
    return text


# ---------------------------------------------------------------- command line
def _raise_keyboard_interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def cmd_tune_worker(args) -> int:
    """`python -m core tune-worker --study NAME [--trials N]`: join a study, print one line per trial."""
    import signal
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)   # a terminated worker marks its trial failed
    worker = _worker_offset(args.study) if args.worker is None else args.worker
    try:
        ran = run_worker(args.study, n_trials=args.trials, timeout=args.timeout, worker=worker,
                         log=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print(f"worker {WORKER}: stopped", flush=True)
        return 130
    status = study_status(args.study)
    best = "" if status.best is None else f", best {status.metric.label} {status.metric.format(status.best.value)}"
    stopped = " The search is stopped: resume it on the Tune page first." if status.stop_requested and not ran else ""
    print(f"worker {WORKER}: ran {ran} trials; '{args.study}' has {status.n_finished}/{status.config.budget} "
          f"trials finished{best}.{stopped}", flush=True)
    return 0


def register_cli(subparsers) -> None:
    worker = subparsers.add_parser("tune-worker", help="join a tuning study from this process (or machine)")
    worker.add_argument("--study", required=True, help="the study name shown on the Tune page")
    worker.add_argument("--trials", type=int, default=None, help="trials to run (default: what is left of the budget)")
    worker.add_argument("--timeout", type=float, default=None, help="seconds to run at most (default: the study's)")
    worker.add_argument("--worker", type=int, default=None, help="seed offset; default: one past every earlier worker")
    worker.set_defaults(func=cmd_tune_worker)
