"""Training: fit a pipeline with progress, score it, the leaderboard, background training jobs."""
from core.train._jobs import (REPO_ROOT, queue_run, start_background, run_job)
from core.train._train import (Progress, TrainedModel, build_pipeline, check_missing, model_size_bytes, SMALL_DATA_CELLS, train_model, train_many, SORT_METRICS, LOWER_IS_BETTER, plain_line, leaderboard_table, compare_optimizers, optimizer_table)
