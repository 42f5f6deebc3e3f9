"""Studies on the run database: the Optuna storage on the same SQLAlchemy URL as the runs (with heartbeats, so
a trial whose worker died is marked FAIL), the strategy's sampler and the median pruner, and creating, loading
and deleting a study. A study keeps its TuneConfig in the user attribute "modeldeck" (plus "dataset_name",
"task", "created", "owner" when a person made it and, for a comparison, "group"), which is all another process needs to join it.
"""
from __future__ import annotations

import os
import socket
import uuid
import warnings
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING

from core.common import ModelDeckError, db_url
from core.tune._config import TuneConfig, check_config

if TYPE_CHECKING:  # pragma: no cover - typing only
    import optuna

    from core.data import Dataset

ATTR = "modeldeck"              # study user attribute holding the TuneConfig
STOP_ATTR = "stop_requested"
OWNER_ATTR = "owner"            # who made the study (the run store's owner string), absent for ownerless ones
HEARTBEAT_S = 2                 # a running trial writes a heartbeat this often …
GRACE_S = 20                    # … and is declared lost (FAIL) after this long without one
WORKER = f"{socket.gethostname()}:{os.getpid()}"    # this process, as trials and worker records name it


def now() -> datetime:
    return datetime.now(timezone.utc)


def _note_lost_trial(study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
    """Heartbeat-stale callback: remember why a trial failed (its worker stopped answering)."""
    study.set_user_attr(f"lost:{trial.number}", "Its worker stopped answering (killed or crashed); "
                                                "the trial was marked failed.")


@lru_cache(maxsize=8)
def _cached_storage(url: str):
    import optuna
    from optuna.exceptions import ExperimentalWarning
    from core.runs import prepare_database
    kwargs: dict = {}
    sqlite = url.startswith("sqlite")
    # Optuna's tables (and the run tables, in WAL mode on SQLite) created once under the store's schema lock: sessions
    # and workers that open a new database at the same moment no longer race ("table trials already exists").
    prepare_database(url)
    if sqlite:
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
    return _cached_storage(url or db_url())


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


def quiet_optuna() -> None:
    """Optuna logs warnings only, and its experimental-feature warnings not at all."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def study_attrs(name: str) -> dict:
    """The user attributes of a ModelDeck study (a ModelDeckError for an unknown or foreign study)."""
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
    config = TuneConfig.from_attrs(study_attrs(name)[ATTR])
    sampler = optuna.samplers.RandomSampler() if worker is None else make_sampler(config, worker)
    study = optuna.load_study(study_name=name, storage=open_storage(), sampler=sampler, pruner=make_pruner())
    return study, config


def default_name(config: TuneConfig) -> str:
    data = config.dataset_key.split(":", 1)[-1][:12]
    return f"{data}-{config.family}-{config.strategy}-{uuid.uuid4().hex[:6]}"


def create_study(config: TuneConfig, name: str | None = None, group: str | None = None,
                 owner: str | None = None) -> str:
    """Validate the configuration, create the study in the database and return its name. `owner` (as the run
    store records it) is kept with the study: the Tune page lists and changes a search for its owner only."""
    import optuna
    from core.data import load_dataset
    dataset = load_dataset(config.dataset_key)
    config = check_config(config, dataset.task)
    _check_usable(dataset, config)
    name = name or default_name(config)
    quiet_optuna()
    try:
        study = optuna.create_study(storage=open_storage(), study_name=name, direction=config.direction)
    except optuna.exceptions.DuplicatedStudyError:
        raise ModelDeckError(f"A search named '{name}' already exists: resume it or pick another name.") from None
    study.set_user_attr(ATTR, config.to_attrs())
    study.set_user_attr("dataset_name", dataset.name)
    study.set_user_attr("task", dataset.task)
    study.set_user_attr("created", now().isoformat())
    if group:
        study.set_user_attr("group", group)
    if owner:
        study.set_user_attr(OWNER_ATTR, owner)
    return name


def study_owner(name: str) -> str | None:
    """Who made a search (None for one made before ownership, or from the command line)."""
    return study_attrs(name).get(OWNER_ATTR)


def visible(owner: str | None, visible_to: str | None) -> bool:
    """Whether a search of `owner` is listed for `visible_to` (None: everyone's): its owner's, and the ones that
    belong to no one, as for runs."""
    return visible_to is None or owner is None or owner == visible_to


def _check_usable(dataset: "Dataset", config: TuneConfig) -> None:
    """Fail before any trial runs when the data cannot train this family at all."""
    from core.data import split_dataset
    from core.train import check_missing
    spec = config.space.spec(config.space.first_point(), config.seed)
    check_missing(split_dataset(dataset, config.prep), spec, config.prep)


def delete_study(name: str) -> None:
    import optuna
    study_attrs(name)
    optuna.delete_study(study_name=name, storage=open_storage())
