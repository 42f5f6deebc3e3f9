"""The advisor: small rules that read measurements and return plain-language recommendations with evidence.

Each rule takes the `Evidence` gathered for a run and returns an `Advice` or None. Rules never compute anything
expensive themselves: they read numbers other modules already measured, so the advice is always backed by a
figure the user can open.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from core.share._advice import SEVERITY_ORDER, Advice, Evidence, worst_column
from core.share._data_rules import (DATA_RULES, bare_code_labels, better_model_available, column_evidence,
                                    high_cardinality, identifier_input, leaderboard_evidence)

Rule = Callable[[Evidence], "Advice | None"]


def _pct(x: float) -> str:
    return f"{x:.1%}"


def class_imbalance(ev: Evidence) -> Advice | None:
    if ev.task != "classification" or not ev.class_counts or len(ev.class_counts) < 2:
        return None
    counts = np.array(list(ev.class_counts.values()), dtype=float)
    ratio = counts.max() / max(counts.min(), 1.0)
    if ratio < 3:
        return None
    rare = min(ev.class_counts, key=ev.class_counts.get)
    return Advice("class_imbalance", "warning" if ratio < 10 else "critical",
                  f"The classes are imbalanced: '{rare}' is only {_pct(counts.min() / counts.sum())} of rows "
                  f"({ratio:.1f}× rarer than the most common class).",
                  "Judge models by balanced accuracy, F1 or average precision, and try oversampling the rare class on the "
                  "Data page (it resamples training folds only and shows the effect beside the plain model).",
                  {"smallest_class": rare, "imbalance_ratio": round(ratio, 2)}, "Data → Target")


def missing_values(ev: Evidence) -> Advice | None:
    if not ev.missing_share:
        return None
    worst = {c: s for c, s in ev.missing_share.items() if s > 0}
    if not worst:
        return None
    column = max(worst, key=worst.get)
    severity = "warning" if worst[column] >= 0.2 else "info"
    return Advice("missing_values", severity,
                  f"{len(worst)} column(s) have missing values; the worst, '{column}', misses {_pct(worst[column])}.",
                  "Keep imputation on (median for numbers) or use gradient boosting, which handles gaps natively; "
                  "above about 40% missing, consider dropping the column.",
                  {"columns_with_missing": len(worst), "worst_column": column, "worst_share": round(worst[column], 4)},
                  "Data → Columns")


def leakage_suspect(ev: Evidence, threshold: float = 0.98) -> Advice | None:
    worst = worst_column(ev.leakage_scores, lambda score: score >= threshold)
    if worst is None:
        return None
    column, score = worst
    return Advice("leakage_suspect", "critical",
                  f"'{column}' alone predicts the target almost perfectly (score {score:.3f}): it may be "
                  "a copy of the answer, recorded after the fact.",
                  f"Check how '{column}' is collected; if it is not known at prediction time, remove it.",
                  {"feature": column, "single_feature_score": round(score, 4)}, "Data → Correlations")


def overfitting(ev: Evidence) -> Advice | None:
    """Training clearly above cross-validation (or, without it, above the test score and its 95% interval):
    MetricReport.overfitting decides, so the page's warning and the advice agree."""
    report = ev.report
    if report is None or report.primary not in report.train or not report.overfitting():
        return None
    train = report.train[report.primary]
    cv = report.cv.get(report.primary, (None, None))[0]
    cv_gap = train - cv if cv is not None else float("-inf")
    test = report.test.get(report.primary, float("nan"))
    evidence = {"train": round(train, 4), "test": round(test, 4), "gap_points": round(100 * (train - test), 1)}
    if cv is not None:
        evidence |= {"cv_mean": round(cv, 4), "train_minus_cv_points": round(100 * cv_gap, 1)}
    new = (f"{_pct(cv)} in cross-validation ({_pct(test)} on the test rows)" if cv is not None
           else f"{_pct(test)} on new data")
    return Advice("overfitting", "warning",
                  f"The model scores {_pct(train)} on data it trained on but {new}: it memorised.",
                  "Add regularisation (dropout, weight decay, fewer or shallower trees), use early stopping, "
                  "leave out identifier-like columns, or get more data.", evidence, "Metrics → Train vs test")


def underfitting(ev: Evidence) -> Advice | None:
    report = ev.report
    if report is None:
        return None
    if report.task == "regression":
        train = report.train.get("r2")
        if train is None or train >= 0.3:
            return None
        return Advice("underfitting", "warning",
                      f"Even on its own training data the model explains only {_pct(max(train, 0.0))} of the variation.",
                      "Try a more flexible model (gradient boosting, a wider network), better features, or less "
                      "regularisation.", {"train_r2": round(train, 4)}, "Metrics → Train vs test")
    if not ev.class_counts or "accuracy" not in report.train:
        return None
    majority = max(ev.class_counts.values()) / sum(ev.class_counts.values())
    train = report.train["accuracy"]
    if train > majority + 0.05:
        return None
    return Advice("underfitting", "warning",
                  f"On its own training data the model is right {_pct(train)} of the time, barely better than always "
                  f"answering the most common class ({_pct(majority)}).",
                  "Try a more flexible model, better features, less regularisation or more training epochs.",
                  {"train_accuracy": round(train, 4), "majority_share": round(majority, 4)}, "Metrics → Train vs test")


def misleading_accuracy(ev: Evidence) -> Advice | None:
    report = ev.report
    if report is None or report.task != "classification":
        return None
    acc, bal = report.test.get("accuracy"), report.test.get("balanced_accuracy")
    if acc is None or bal is None or acc - bal < 0.05:
        return None
    return Advice("misleading_accuracy", "warning",
                  f"Accuracy ({_pct(acc)}) flatters this model: averaged over classes it is right {_pct(bal)} of the "
                  "time, because the common class is easy.",
                  "Report balanced accuracy or F1 (macro) instead of accuracy, and look at the confusion matrix.",
                  {"accuracy": round(acc, 4), "balanced_accuracy": round(bal, 4)}, "Metrics → Confusion matrix")


def unstable_model(ev: Evidence, max_std: float = 0.04) -> Advice | None:
    report = ev.report
    if report is None or report.primary not in report.cv:
        return None
    mean, std = report.cv[report.primary]
    limit = max_std if report.task == "classification" else 0.08
    if std <= limit:
        return None
    return Advice("unstable_model", "warning",
                  f"The score moves a lot between cross-validation folds ({_pct(mean)} ± {_pct(std)}): "
                  "the model depends on which rows it sees.",
                  "Get more data, regularise more, or average several models (bagging); trust the mean, not one split.",
                  {"cv_mean": round(mean, 4), "cv_std": round(std, 4)}, "Metrics → Cross-validation")


def diverging_curves(ev: Evidence, rise: float = 0.15) -> Advice | None:
    history = [h for h in (ev.history or []) if h.get("val_loss") is not None]
    if len(history) < 5:
        return None
    val = np.array([h["val_loss"] for h in history])
    best = int(val.argmin())
    if val[-1] <= val[best] * (1 + rise) or best >= len(val) - 3:
        return None
    return Advice("diverging_curves", "info",
                  f"Validation loss was lowest at epoch {history[best]['epoch']} and then rose "
                  f"{(val[-1] / val[best] - 1):.0%} while training loss kept falling.",
                  "Early stopping already keeps the best epoch; to go further, add dropout or weight decay.",
                  {"best_epoch": history[best]["epoch"], "final_over_best": round(float(val[-1] / val[best]), 3)},
                  "Train → training curves")


def explainer_disagrees(ev: Evidence, min_agreement: float = 0.5) -> Advice | None:
    if ev.importance_agreement is None or ev.importance_agreement >= min_agreement:
        return None
    return Advice("explainer_disagrees", "warning",
                  f"SHAP and permutation importance rank the features differently (rank correlation "
                  f"{ev.importance_agreement:.2f}).",
                  "Correlated features share credit differently in the two methods: check the top features in both, "
                  "and do not read small differences in rank as real.",
                  {"spearman": round(ev.importance_agreement, 3)}, "Explain → Permutation importance")


def compression_pick(ev: Evidence) -> Advice | None:
    pick = ev.compression_pick
    if not pick:
        return None
    return Advice("compression_pick", "info",
                  f"'{pick['name']}' meets the budget with the smallest accuracy loss: {pick['size_ratio']:.1f}× smaller, "
                  f"{pick['speed_ratio']:.1f}× faster, accuracy {pick['accuracy_change'] * 100:+.1f} points.",
                  f"Ship '{pick['name']}'.", dict(pick), "Compress → Trade-off")


def tuning_not_converged(ev: Evidence, tail: float = 0.25, min_gain: float = 0.005) -> Advice | None:
    best = ev.tuning_best_so_far
    if not best or len(best) < 8:
        return None
    cut = int(len(best) * (1 - tail))
    gain = best[-1] - best[cut - 1]
    if gain < min_gain:
        return None
    return Advice("tuning_not_converged", "info",
                  f"The search was still improving: the last {len(best) - cut} trials gained {gain * 100:.1f} points.",
                  "Give the search more trials before trusting its best configuration.",
                  {"trials": len(best), "late_gain_points": round(gain * 100, 2)}, "Tune → Optimization history")


RULES: tuple[Rule, ...] = (leakage_suspect, class_imbalance, misleading_accuracy, overfitting, underfitting,
                           unstable_model, diverging_curves, missing_values, explainer_disagrees, compression_pick,
                           tuning_not_converged, *DATA_RULES)


def advise(evidence: Evidence, rules: tuple[Rule, ...] = RULES) -> list[Advice]:
    """Every rule that fires, most severe first."""
    found = [advice for rule in rules if (advice := rule(evidence)) is not None]
    return sorted(found, key=lambda a: SEVERITY_ORDER[a.severity])


def leakage_scores(dataset, max_rows: int = 5000, seed: int = 0) -> dict[str, float]:
    """How well each feature alone predicts the target: ROC AUC folded to [0.5, 1] (binary), |r| (regression),
    or category purity (categorical features). A sample of at most `max_rows` rows is used."""
    import pandas as pd
    from sklearn.metrics import roc_auc_score
    frame = dataset.frame.sample(min(len(dataset.frame), max_rows), random_state=seed)
    y = frame[dataset.target]
    scores = {}
    binary = dataset.task == "classification" and y.nunique() == 2
    for column in dataset.features:
        x = frame[column]
        mask = x.notna() & y.notna()
        if mask.sum() < 10 or x[mask].nunique() < 2:
            continue
        if column in dataset.categorical_features:
            purity = pd.crosstab(x[mask].astype(str), y[mask].astype(str)).max(axis=1).sum() / mask.sum()
            if x[mask].nunique() < 0.5 * mask.sum():     # many-valued columns are trivially "pure"
                scores[column] = float(purity)
        elif binary:
            auc = roc_auc_score(y[mask] == y[mask].iloc[0], x[mask].astype(float))
            scores[column] = float(max(auc, 1 - auc))
        elif dataset.task == "regression":
            scores[column] = float(abs(np.corrcoef(x[mask].astype(float), y[mask].astype(float))[0, 1]))
    return scores


def evidence_for(dataset=None, report=None, history=None, prep=None, **extra) -> Evidence:
    """Gather the cheap evidence for a data set and (optionally) a trained model's report and cleaning options
    (`prep`, default: the current rules)."""
    from core.data import PrepOptions
    ev = Evidence(report=report, history=history, **extra)
    if dataset is not None:
        ev.risky_inputs, ev.wide_one_hot = column_evidence(dataset, prep or PrepOptions())
        ev.task = dataset.task
        ev.missing_share = (dataset.frame[dataset.features].isna().mean()).to_dict()
        if dataset.task == "classification":
            ev.class_counts = dataset.frame[dataset.target].astype(str).value_counts().to_dict()
        ev.leakage_scores = leakage_scores(dataset)
    elif report is not None:
        ev.task = report.task
    return ev


# ---------------------------------------------------------------- evidence stored with a run
def _importance_agreement(run, store, dataset) -> float | None:
    """Spearman correlation of stored SHAP and permutation importances (None until both were computed)."""
    import json

    from core.explain import PermutationResult, latest_explanation, rank_agreement
    from core.data import PrepOptions, split_dataset
    folder = store.folder(run.id, create=False) / "explain"
    stored = sorted(folder.glob("permutation_*.json"), key=lambda p: p.stat().st_mtime)
    if not stored:
        return None
    expl = latest_explanation(folder.parent, split_dataset(dataset, PrepOptions.from_dict(run.prep)))
    if expl is None:
        return None
    perm = PermutationResult.from_dict(json.loads(stored[-1].read_text()))
    return float(rank_agreement(expl.importance(len(expl.output_names) - 1), perm.series())[1])


def _compression_pick(run, store, max_loss_points: float = 1.0) -> dict | None:
    """The variant the budget form would pick with a 1-point accuracy budget (None before compression)."""
    from core.compress import load_result, pick_variant
    table = load_result(run.id, store)
    if table is None:
        return None
    best, _why = pick_variant(table, max_loss_points=max_loss_points)
    if best is None or best["method"] == "baseline":
        return None
    return {"name": best["variant"], "size_ratio": best["size_x"], "speed_ratio": best["speed_b1_x"],
            "accuracy_change": best["delta_points"] / 100}


def _tuning_curve(run) -> list[float] | None:
    """Best-so-far of the newest search on this run's data set and model family (higher is better)."""
    from core.tune import list_studies, study_status
    studies = [s for s in list_studies(run.dataset_key) if s.family == run.spec.get("family") and not s.group]
    if not studies:
        return None
    status = study_status(studies[0].name)
    curve = status.best_so_far()[1]
    return [v if status.config.direction == "maximize" else -v for v in curve] or None


def run_evidence(run, store) -> Evidence:
    """Everything measured for a finished run: data, metrics, curves, and what Explain, Compress and Tune stored."""
    from core.data import load_dataset
    from core.common import ModelDeckError
    from core.evaluate import MetricReport
    dataset = load_dataset(run.dataset_key)
    from core.data import PrepOptions
    from core.data import load_class_names
    ev = evidence_for(dataset, MetricReport.from_dict(run.metrics), run.history, PrepOptions.from_dict(run.prep),
                      class_names=load_class_names(run.dataset_key, run.owner))
    for name, gather in (("importance_agreement", lambda: _importance_agreement(run, store, dataset)),
                         ("leaderboard", lambda: leaderboard_evidence(run, store)),
                         ("compression_pick", lambda: _compression_pick(run, store)),
                         ("tuning_best_so_far", lambda: _tuning_curve(run))):
        try:
            setattr(ev, name, gather())
        except (ModelDeckError, OSError, ValueError, KeyError):
            continue          # a capability that has nothing usable stored says nothing
    return ev
