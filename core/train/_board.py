"""The leaderboard and the one rule that chooses among models: the best cross-validated score on the training
rows. The test split is never used to choose; it is scored once, for the chosen model, and labelled so.

`choose_best` returns the winner and the sentence that states the rule; `leaderboard_table` ranks by the
cross-validation mean and shows a test score only for the chosen model; `plain_line` says each model's
behaviour in words from its out-of-fold predictions (the test rows stay unseen for the others too).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.common import ModelDeckError
from core.evaluate import MetricReport, evaluate

SORT_METRICS = {"classification": ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc"),
                "regression": ("r2", "mae", "rmse")}
LOWER_IS_BETTER = {"mae", "rmse", "log_loss"}


def plain_line(report: MetricReport, scores: dict | None = None, where: str = "new rows") -> str:
    """One sentence per model; `scores` defaults to the report's test scores."""
    t = report.test if scores is None else scores
    if report.task == "regression":
        return f"off by {t['mae']:,.3g} on average; explains {t['r2']:.0%} of the variation"
    if report.positive_label is not None:
        precision, recall = t.get("precision", 0.0), t.get("recall", 0.0)
        wrong = f"1 alert in {1 / (1 - precision):.0f} is wrong" if precision < 1 else f"no false alerts on the {where}"
        return f"catches {recall * 100:.0f} of 100 '{report.positive_label}' cases; {wrong}"
    worst = min(report.per_class, key=lambda row: row["recall"])
    return (f"right on {t['accuracy'] * 100:.0f} of 100 {where}; weakest on '{worst['label']}' "
            f"({worst['recall']:.0%} found)")


def _oof_report(model) -> MetricReport | None:
    """The model's scores on its out-of-fold predictions (in the report's test slot), or None without CV."""
    if model.oof_pred is None:
        return None
    return evaluate(model.train_pred, model.oof_pred, model.task, positive_label=model.report.positive_label)


def _cv_score(model, metric: str) -> float:
    mean = model.report.cv.get(metric, (np.nan, np.nan))[0]
    return -mean if metric in LOWER_IS_BETTER else mean


def selection_rule(model, metric: str) -> str:
    """'chosen by 5-fold cross-validation of the 455 training rows (highest mean accuracy)'."""
    report = model.report
    best = "lowest" if metric in LOWER_IS_BETTER else "highest"
    return (f"chosen by {report.cv_folds}-fold cross-validation of the {report.n_train:,} training rows "
            f"({best} mean {metric.replace('_', ' ')})")


def choose_best(models: list, metric: str | None = None):
    """(the model with the best cross-validated `metric`, the sentence stating the rule). The test split plays no
    part; a model without cross-validation cannot be chosen this way (ModelDeckError)."""
    if not models:
        raise ModelDeckError("There are no trained models to choose from.")
    metric = metric or models[0].report.primary
    scored = [m for m in models if np.isfinite(_cv_score(m, metric))]
    if not scored:
        raise ModelDeckError(f"Choosing a model needs its cross-validated {metric.replace('_', ' ')}; train with "
                             "at least 2 cross-validation folds.")
    best = max(scored, key=lambda m: _cv_score(m, metric))
    return best, selection_rule(best, metric)


def leaderboard_table(models: list, metric: str) -> pd.DataFrame:
    """One row per model, best cross-validated `metric` first. `test` (with its bootstrap interval) is filled for
    the chosen model only: the others were never meant to be judged on the test rows. Plain words come from each
    model's out-of-fold predictions."""
    best, _rule = choose_best(models, metric)
    rows = []
    for m in models:
        mean, std = m.report.cv.get(metric, (np.nan, np.nan))
        chosen = m is best
        low, high = m.report.test_ci.get(metric, (np.nan, np.nan)) if chosen else (np.nan, np.nan)
        oof = _oof_report(m)
        words = plain_line(oof, where="held-out training rows") if oof is not None else ""
        rows.append({"model": m.title, "cv_mean": mean, "cv_std": std, "chosen": chosen,
                     "test": m.report.test.get(metric, np.nan) if chosen else np.nan, "test_low": low,
                     "test_high": high, "fit_s": m.fit_seconds, "predict_ms_per_row": m.predict_ms_per_row,
                     "size_kb": m.size_bytes / 1024, "in_plain_words": words})
    table = pd.DataFrame(rows)
    return table.sort_values("cv_mean", ascending=metric in LOWER_IS_BETTER, ignore_index=True)


def leaderboard_sentence(models: list, metric: str) -> str:
    """The chosen model, the rule, and its test score measured once (with its interval)."""
    best, rule = choose_best(models, metric)
    report = best.report
    value = report.interval_text(metric, pct=metric not in ("r2", "mae", "rmse"))
    return (f"{best.title}, {rule}; measured once on {report.n_test:,} unseen rows: "
            f"{metric.replace('_', ' ')} {value}.")
