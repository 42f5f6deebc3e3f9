"""The report pages show: :class:`MetricReport` with its judgements and its sentences.

A report holds the train and test scores (and cross-validation means and stds), the confusion
matrix and the per-class table of the test split. It judges overfitting (train minus test on the
primary metric above :data:`OVERFIT_GAP`: 5 points of accuracy, 0.10 of R²) and says what the numbers
mean in plain words (:meth:`MetricReport.headline`, :meth:`MetricReport.overfitting_sentence`). It
round-trips through JSON-safe dicts (``to_dict`` / ``from_dict``), the form a run stores.

Honest labels: ``test_ci`` holds bootstrap 95% intervals of the test scores, ``selection`` how the model
was chosen (e.g. "chosen by 5-fold cross-validation"); :meth:`MetricReport.test_label` says both in one
sentence ("… measured once on 114 unseen rows"). Reports saved before these fields load with them empty.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from core.evaluate._intervals import resamples_for
from core.evaluate._predictions import CLASSIFICATION, REGRESSION

#: Train-minus-test gap on the primary metric above which a report says "it memorised".
OVERFIT_GAP = {CLASSIFICATION: 0.05, REGRESSION: 0.10}


@dataclass(frozen=True)
class MetricReport:
    """Scores on the train and test splits (and cross-validation), plus the sentences to show."""

    task: str
    test: dict[str, float]
    train: dict[str, float]
    cv: dict[str, tuple[float, float]] = field(default_factory=dict)
    per_class: list[dict] = field(default_factory=list)
    confusion: list[list[int]] | None = None
    labels: list[str] | None = None
    n_train: int = 0
    n_test: int = 0
    positive_label: str | None = None
    primary: str = "accuracy"
    test_ci: dict[str, tuple[float, float]] = field(default_factory=dict)   # bootstrap 95% interval per metric
    selection: str = ""             # how this model was chosen, e.g. "chosen by 5-fold cross-validation"
    cv_folds: int = 0

    def named(self, names: dict[str, str] | None) -> "MetricReport":
        """The same report with its classes shown by the names given for bare codes (`core.data.class_name`), for
        display only: predictions still carry the codes."""
        if not names or self.labels is None:
            return self
        from core.data import class_name
        return replace(self, labels=[class_name(label, names) for label in self.labels],
                       per_class=[{**row, "label": class_name(row["label"], names)} for row in self.per_class],
                       positive_label=None if self.positive_label is None else class_name(self.positive_label, names))

    # ---- honest labels ----
    def interval_text(self, metric: str | None = None, pct: bool | None = None) -> str:
        """'95.6% (95% interval 91.2%–98.2%)' for a test metric; just the value when no interval is stored."""
        metric = metric or self.primary
        value = self.test.get(metric, float("nan"))
        pct = self.task == CLASSIFICATION if pct is None else pct
        show = (lambda v: _pct(v)) if pct else _num
        if metric not in self.test_ci:
            return show(value)
        low, high = self.test_ci[metric]
        return f"{show(value)} (95% interval {show(low)}–{show(high)})"

    def test_label(self) -> str:
        """What the test score is and is not: how the model was chosen, and that the test rows were scored once."""
        name = _METRIC_WORDS.get(self.primary, self.primary.replace("_", " "))
        chosen = self.selection or (f"cross-validated on {self.cv_folds} folds of the {self.n_train:,} training rows"
                                    if self.cv_folds else f"trained on {self.n_train:,} rows")
        value = self.interval_text()
        if self.primary in self.test_ci:       # '(95% interval a–b)' -> '(bootstrap 95% interval a–b, 1,000 resamples)'
            value = value.replace("(95% interval", "(bootstrap 95% interval")[:-1] + \
                f", {resamples_for(self.n_test):,} resamples)"
        return f"{chosen[0].upper() + chosen[1:]}; measured once on {self.n_test:,} unseen rows: {name} {value}."

    # ---- judgements ----
    def gap(self) -> float:
        """Train minus test on the primary metric (nan when either is missing)."""
        train, test = self.train.get(self.primary), self.test.get(self.primary)
        if train is None or test is None:
            return float("nan")
        return float(train) - float(test)

    def _cv_mean(self) -> float | None:
        """The cross-validated mean of the primary metric, when there is one (what judges memorising)."""
        cv = self.cv.get(self.primary)
        return float(cv[0]) if cv is not None and np.isfinite(cv[0]) else None

    def overfitting(self) -> bool:
        """True when the model clearly scores better on rows it learned from than on rows it did not.

        With cross-validation, the steadier measure decides: training minus cross-validation mean above OVERFIT_GAP
        (a low score on one small test split alone is noise, not memorising). Without it, the train-test gap must
        exceed OVERFIT_GAP and the training score must lie above the test score's bootstrap 95% interval."""
        limit = OVERFIT_GAP.get(self.task, 0.05)
        train, cv = self.train.get(self.primary), self._cv_mean()
        if train is not None and cv is not None:
            return bool(float(train) - cv > limit)
        gap = self.gap()
        if not (np.isfinite(gap) and gap > limit):
            return False
        interval = self.test_ci.get(self.primary)
        return interval is None or float(train) > float(interval[1])

    # ---- sentences ----
    def headline(self) -> str:
        """The sentence a non-engineer reads under the score cards."""
        if self.task == REGRESSION:
            return self._regression_headline()
        return self._classification_headline()

    def _classification_headline(self) -> str:
        acc = self.test.get("accuracy", float("nan"))
        rows = f"the {self.n_test:,} test rows it never saw"
        sentence = (
            f"The model is right {_times_out_of_100(acc)} out of 100 ({_pct(acc)} accuracy) on {rows}."
        )
        if self.positive_label is not None and "precision" in self.test:
            pos = self.positive_label
            precision, recall = self.test["precision"], self.test.get("recall", float("nan"))
            support = _support_of(self.per_class, pos)
            flagged = _flagged_count(self.confusion, self.labels, pos)
            if flagged == 0:
                sentence += f" It never flags a case as '{pos}', so it misses every one of them."
            elif support == 0:
                sentence += f" The test rows contain no '{pos}' case, so its hit rate cannot be measured."
            else:
                right = (f"every case it flags as '{pos}' really is one" if precision >= 1
                         else f"of the cases it flags as '{pos}', {_per100(precision)} in 100 really are")
                missed = (f"it misses none of the '{pos}' cases" if recall >= 1
                          else f"it misses {_per100(1 - recall)} of every 100 '{pos}' cases")
                sentence += f" {right[0].upper() + right[1:]}; {missed}."
        elif self.per_class and len(self.per_class) > 2:
            weakest = min(self.per_class, key=lambda row: (row["recall"], -row["support"]))
            if weakest["support"] > 0 and weakest["recall"] < acc - 0.05:
                sentence += (
                    f" It is weakest on '{weakest['label']}': it recognises "
                    f"{_per100(weakest['recall'])} of every 100 such rows."
                )
        return sentence

    def _regression_headline(self) -> str:
        mae, r2 = self.test.get("mae", float("nan")), self.test.get("r2", float("nan"))
        sentence = (
            f"On the {self.n_test:,} test rows it never saw, predictions are off by "
            f"{_num(mae)} on average (MAE); "
        )
        if np.isfinite(r2) and r2 < 0:
            sentence += (
                f"the model does worse than always guessing the average (R² = {_r2(r2)}). "
                "Try another model or better features."
            )
        else:
            sentence += f"the model explains {_pct(r2, 0)} of the variation (R²)."
        return sentence

    def overfitting_sentence(self) -> str | None:
        """A warning when the model scores clearly better on its training data; else None."""
        if not self.overfitting():
            return None
        train, test = self.train[self.primary], self.test[self.primary]
        cv = self._cv_mean()
        if cv is not None:
            test, where = cv, f"in {self.cv_folds or 'several'}-fold cross-validation on rows it did not learn from"
        else:
            where = "on new data"
        advice = "Try more regularisation, dropout or fewer/shallower trees, or get more data."
        if self.task == REGRESSION:
            on_new = _pct(test) if test >= 0 else f"none of it (R² = {_r2(test)})"
            return (
                f"The model explains {_pct(train)} of the variation on data it trained on but only "
                f"{on_new} {where}: it memorised. {advice}"
            )
        return (
            f"The model scores {_pct(train)} on data it trained on but {_pct(test)} {where}: "
            f"it memorised. {advice}"
        )

    # ---- persistence ----
    def to_dict(self) -> dict:
        """JSON-safe dict (plain floats/ints/strings; cv tuples become 2-lists)."""
        return {
            "task": self.task,
            "test": {k: _float(v) for k, v in self.test.items()},
            "train": {k: _float(v) for k, v in self.train.items()},
            "cv": {k: [_float(m), _float(s)] for k, (m, s) in self.cv.items()},
            "per_class": [
                {
                    "label": str(row["label"]),
                    "precision": _float(row["precision"]),
                    "recall": _float(row["recall"]),
                    "f1": _float(row["f1"]),
                    "support": int(row["support"]),
                }
                for row in self.per_class
            ],
            "confusion": None if self.confusion is None else [[int(v) for v in r] for r in self.confusion],
            "labels": None if self.labels is None else [str(x) for x in self.labels],
            "n_train": int(self.n_train),
            "n_test": int(self.n_test),
            "positive_label": self.positive_label,
            "primary": self.primary,
            "test_ci": {k: [_float(lo), _float(hi)] for k, (lo, hi) in self.test_ci.items()},
            "selection": self.selection,
            "cv_folds": int(self.cv_folds),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "MetricReport":
        return cls(
            task=d["task"],
            test={k: float(v) for k, v in d.get("test", {}).items()},
            train={k: float(v) for k, v in d.get("train", {}).items()},
            cv={k: (float(v[0]), float(v[1])) for k, v in d.get("cv", {}).items()},
            per_class=[dict(row) for row in d.get("per_class", [])],
            confusion=None if d.get("confusion") is None else [list(map(int, r)) for r in d["confusion"]],
            labels=None if d.get("labels") is None else list(d["labels"]),
            n_train=int(d.get("n_train", 0)),
            n_test=int(d.get("n_test", 0)),
            positive_label=d.get("positive_label"),
            primary=d.get("primary", "r2" if d["task"] == REGRESSION else "accuracy"),
            test_ci={k: (float(v[0]), float(v[1])) for k, v in d.get("test_ci", {}).items()},
            selection=d.get("selection", ""),
            cv_folds=int(d.get("cv_folds", 0)),
        )


_METRIC_WORDS = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "f1_macro": "F1 (macro)",
                 "roc_auc": "ROC AUC", "r2": "R²", "mae": "mean absolute error", "rmse": "RMSE"}


def _float(value) -> float:
    return float(value)


def _pct(value: float, decimals: int = 1) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.{decimals}f}%"


def _round100(value: float) -> int:
    return int(round(100 * value)) if np.isfinite(value) else 0


def _per100(value: float) -> str:
    """A share as 'N' in 100, never rounding an imperfect share to 0 or 100."""
    if not np.isfinite(value):
        return "an unknown number"
    n = _round100(value)
    if n >= 100 and value < 1:
        return "more than 99"
    if n <= 0 and value > 0:
        return "fewer than 1"
    return str(n)


def _r2(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 0.01 else f"{value:.2f}"


def _times_out_of_100(acc: float) -> str:
    if not np.isfinite(acc):
        return "an unknown number of times"
    times = _per100(acc)
    return "1 time" if times == "1" else f"{times} times"


def _num(value: float) -> str:
    """A number for people: 3 significant digits, thousands separators, no scientific notation."""
    if value is None or not np.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.1f}" if magnitude >= 10 or magnitude == 0 else f"{value:.2f}"
    digits = 2 - int(math.floor(math.log10(magnitude)))
    return f"{value:.{digits}f}"


def _support_of(per_class: list[dict], label: str) -> int | None:
    for row in per_class:
        if row["label"] == label:
            return int(row["support"])
    return None


def _flagged_count(confusion, labels, label) -> int | None:
    if confusion is None or labels is None or label not in labels:
        return None
    j = labels.index(label)
    return int(sum(row[j] for row in confusion))
