"""Hyper-parameter search on Optuna: grid, random and Bayesian (TPE, Gaussian process), one engine.

A search is an Optuna *study* kept on the same SQLAlchemy URL as the runs (core.common.db_url()). Its
`TuneConfig` (data set, search space, metric, strategy, trial budget, preparation, folds, seed) is stored with
it, so any process that knows the study name can join it: `python -m core tune-worker --study NAME`.

- Search space: `default_space(family)` (the CNN's too, for image data sets) gives a `SearchSpace` of `Dim`s (thin wrappers over Optuna's
  distributions); `space_table` / `space_from_table` turn it into the table the Tune page edits and back.
- Objective: the cross-validated score on the training split only (the test split stays unseen), with the
  same folds for every trial; PyTorch MLP and CNN trials report epoch scores to a median pruner (state PRUNED).
- Studies: `create_study`, `load_study`, `delete_study`, `list_studies`; a study made from the app keeps its
  owner (`study_owner`) and `list_studies(visible_to=…)` lists only that owner's and ownerless ones.
- Workers: `run_worker` in this process, `start_workers` as background jobs of kind 'tune' (one process each,
  followed and cancelled like every job; `python -m core job` runs `run_worker`). The trial budget is shared by
  all workers of a study (Optuna's MaxTrialsCallback), so a worker that dies leaves its trials to the others;
  its running trial is marked FAIL once its heartbeat stops. `request_stop` / `resume` are cooperative.
- Status: `study_status` gives a `TuneStatus` (counts, best trial, best-so-far curve, a headline in plain words);
  `importances` of the tuned settings, with the sentences that caption them.
- Comparison: `start_comparison` runs grid, random and TPE on the same space and budget; `compare_sentence`
  says whether the difference matters. The charts for all of this are in `core.tune.charts`.

Optuna, scikit-learn and pandas are imported inside the functions that need them: importing this stays light.
"""
from core.tune._config import (
    CLOSE, COMPARE_STRATEGIES, DEFAULT_METRIC, METRICS, STRATEGIES, Metric, TuneConfig, check_config, metric_for,
    settings_text, value_text,
)
from core.tune._space import DEFAULT_RANGES, Dim, SearchSpace, default_space
from core.tune._table import space_from_table, space_table
from core.tune._storage import create_study, delete_study, load_study, open_storage, study_owner
from core.tune._objective import NETWORKS, Objective
from core.tune._worker import remaining_trials, request_stop, resume, run_worker, start_workers
from core.tune._status import StudyInfo, TuneStatus, best_so_far, duration, list_studies, study_status
from core.tune._importance import importance_sentence, importances, landscape_sentence
from core.tune._compare import compare_sentence, group_statuses, start_comparison, trials_to_reach

__all__ = [
    # what a search optimises
    "CLOSE", "COMPARE_STRATEGIES", "DEFAULT_METRIC", "METRICS", "STRATEGIES", "Metric", "TuneConfig", "check_config",
    "metric_for", "settings_text", "value_text",
    # search spaces
    "DEFAULT_RANGES", "Dim", "SearchSpace", "default_space", "space_from_table", "space_table",
    # studies
    "create_study", "delete_study", "load_study", "open_storage", "study_owner", "NETWORKS", "Objective",
    # workers
    "remaining_trials", "request_stop", "resume", "run_worker", "start_workers",
    # status
    "StudyInfo", "TuneStatus", "best_so_far", "duration", "list_studies", "study_status",
    "importance_sentence", "importances", "landscape_sentence",
    # comparing strategies
    "compare_sentence", "group_statuses", "start_comparison", "trials_to_reach",
]
