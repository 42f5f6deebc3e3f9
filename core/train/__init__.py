"""Training: a data set, cleaning options and a model spec become a fitted pipeline with its scores.

- `train_model` fits one pipeline with a progress callback and scores it (train, cross-validation with
  out-of-fold predictions, test once with bootstrap intervals) → `TrainedModel`; `train_many` trains several;
  `train_board` trains a leaderboard across the cores within a time budget → `Board` (finished models, what was
  cut, wall and CPU seconds; `estimate_cpu_seconds` is its rough guess of a model's cost; `warm_workers` starts
  the worker processes ahead of time);
  `choose_best` picks one by cross-validation (never the test rows) and says the rule; `leaderboard_table` /
  `leaderboard_sentence` rank and tell; `compare_optimizers` / `optimizer_table` train one network with each
  optimizer.
- `build_pipeline`, `check_missing`: the pipeline (cleaning + estimator) other capabilities refit (tuning); with
  `PrepOptions.resample` an imbalanced-learn sampler sits before the model (fitted rows only). `compare_balancing`
  / `balancing_sentence`: plain vs oversampled, side by side, on cross-validation (`RESAMPLERS` names them).
- Background jobs: `queue_run` + `start_background` train a run in a child process that writes progress to the run
  store (`run_job` is what that process runs); the page only polls. `start_background(run_id, processes=N)` starts
  it through torchrun: N processes train the network together (DistributedDataParallel), rank 0 writes the run;
  `trains_distributed` says which families can, `check_processes` refuses what cannot run as asked. `load_trained`
  reads a finished run back as its `TrainedModel` (no training).
- Charts of training curves and the leaderboard are in `core.train.charts`.
"""
from core.train._balance import RESAMPLERS, balancing_sentence, compare_balancing
from core.train._board import (LOWER_IS_BETTER, SORT_METRICS, choose_best, leaderboard_sentence, leaderboard_table,
                               plain_line, selection_rule)
from core.train._jobs import check_processes, load_trained, queue_run, run_job, start_background, trains_distributed
from core.train._parallel import Board, Cut, estimate_cpu_seconds, train_board, train_many, warm_workers
from core.train._train import (TrainedModel, build_pipeline, check_missing, compare_optimizers, model_size_bytes,
                               optimizer_table, train_model)

__all__ = ["check_processes", "load_trained", "trains_distributed", "Board", "Cut", "estimate_cpu_seconds", "train_board", "warm_workers", "RESAMPLERS", "balancing_sentence", "compare_balancing", "queue_run", "run_job", "start_background", "LOWER_IS_BETTER", "SORT_METRICS", "TrainedModel",
           "build_pipeline", "check_missing", "choose_best", "compare_optimizers", "leaderboard_sentence",
           "leaderboard_table", "model_size_bytes", "optimizer_table", "plain_line", "selection_rule", "train_many",
           "train_model"]
