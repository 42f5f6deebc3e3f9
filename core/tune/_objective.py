"""The objective a trial scores: the cross-validated metric of the trial's settings on the training split only
(the test split stays unseen), with the same shuffled, seeded folds for every trial. PyTorch MLP and CNN trials report
the per-epoch validation score of their first fold to the study's pruner, which stops hopeless ones (PRUNED).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.common import ModelDeckError, Progress
from core.tune._config import TuneConfig, metric_for
from core.tune._storage import WORKER

NETWORKS = ("mlp", "cnn")   # families whose fit reports each epoch's validation score (pruned per epoch)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import optuna

    from core.data import Dataset


def _folds(y, task: str, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same shuffled, seeded folds as core.evaluate.cross_validate_model (fewer when a class is rarer)."""
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
            fit_params = {"model__progress": self._pruning(trial)} if spec.family in NETWORKS and i == 0 else {}
            pipeline.fit(self.X.iloc[train_idx], self.y.iloc[train_idx], **fit_params)
            value = self.sign * float(self.scorer(pipeline, self.X.iloc[test_idx], self.y.iloc[test_idx]))
            if not np.isfinite(value):
                raise ValueError(f"{self.metric.label} is not defined on fold {i + 1}.")
            scores.append(value)
        trial.set_user_attr("fold_scores", scores)
        return float(np.mean(scores))

    def _pruning(self, trial: "optuna.Trial") -> Progress:
        """A PyTorch network's progress callback: report each epoch's validation score, stop the trial if hopeless."""
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
