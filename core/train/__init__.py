"""Training: a data set, cleaning options and a model spec become a fitted pipeline with its scores.

- `train_model` fits one pipeline with a progress callback and scores it (train, test, cross-validation) →
  `TrainedModel`; `train_many` and `leaderboard_table` rank several; `compare_optimizers` / `optimizer_table`
  train one network with each optimizer.
- `build_pipeline`, `check_missing`: the pipeline (cleaning + estimator) other capabilities refit (tuning).
- Background jobs: `queue_run` + `start_background` train a run in a child process that writes progress to the run
  store (`run_job` is what that process runs); the page only polls.
- Charts of training curves and the leaderboard are in `core.train.charts`.
"""
from core.train._jobs import queue_run, run_job, start_background
from core.train._train import (LOWER_IS_BETTER, SORT_METRICS, TrainedModel, build_pipeline, check_missing,
                               compare_optimizers, leaderboard_table, model_size_bytes, optimizer_table, plain_line,
                               train_many, train_model)

__all__ = ["queue_run", "run_job", "start_background", "LOWER_IS_BETTER", "SORT_METRICS", "TrainedModel",
           "build_pipeline", "check_missing", "compare_optimizers", "leaderboard_table", "model_size_bytes",
           "optimizer_table", "plain_line", "train_many", "train_model"]
