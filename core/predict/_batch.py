"""Predictions for a batch of new rows: the label and the probability of each class (or the value), and the top
three reasons per row in words.

Labels come from the run's pipeline `predict` and probabilities from its `predict_proba`, on the rows as the schema
check read them, so they are exactly what the run's model says. Reasons come from the SHAP explainer that fits the
model (Tree, Linear, Deep, else Permutation SHAP); the model-agnostic explainers are slow, so they explain at most
`AGNOSTIC_REASON_ROWS` rows unless asked for more.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from core.common import Progress, no_progress
from core.explain import METHOD_TITLES, ShapEngine, choose_method, explain_frame, is_agnostic
from core.predict._contract import Contract
from core.predict._reasons import TOP_REASONS, Reference, reasons
from core.predict._schema import SchemaCheck

AGNOSTIC_REASON_ROWS = 100
EXACT_REASON_ROWS = 20_000


@dataclass
class BatchResult:
    """Every uploaded row with its prediction, probabilities and reasons (the table pages show and download)."""

    table: pd.DataFrame                  # the uploaded columns, then the prediction columns
    prediction_columns: list[str]
    task: str
    target: str
    classes: list[str] | None
    labels: np.ndarray                   # (n,) predicted label (str) or value; "" / NaN for rows not predicted
    proba: np.ndarray | None             # (n, C) class probabilities; NaN for rows not predicted
    predicted: np.ndarray                # (n,) bool
    reasons_method: str = ""             # the SHAP explainer's title ("" when no reasons were computed)
    reasons_rows: int = 0
    note: str = ""
    positive_label: str | None = None    # the class a two-class chart is about (set when classes are renamed)

    @property
    def n_rows(self) -> int:
        return len(self.table)

    def summary(self, plural: str = "rows") -> str:
        """One sentence on what came out."""
        done = int(self.predicted.sum())
        head = f"{done:,} of {self.n_rows:,} {plural} predicted" if done < self.n_rows else \
            f"All {self.n_rows:,} {plural} predicted"
        if done == 0:
            return head + "."
        if self.classes is None:
            values = self.labels[self.predicted].astype(float)
            return (f"{head}: predicted {self.target} from {np.min(values):,.4g} to {np.max(values):,.4g}, "
                    f"median {np.median(values):,.4g}.")
        counts = pd.Series(self.labels[self.predicted]).value_counts()
        shares = ", ".join(f"{n:,} '{label}' ({n / done:.0%})" for label, n in counts.items())
        return f"{head}: {shares}."


    def named(self, names: dict[str, str] | None) -> "BatchResult":
        """A copy with the classes shown by the names given for bare codes (`core.data.class_name`): the predicted
        column's values, the probability columns' titles, the chart and the summary."""
        if not names or self.classes is None:
            return self
        from core.data import class_name
        from core.evaluate import default_positive_label
        renamed = {f"probability of '{c}'": f"probability of '{class_name(c, names)}'" for c in self.classes}
        labels = self.labels.copy()
        labels[self.predicted] = [class_name(v, names) for v in labels[self.predicted]]
        table = self.table.copy()
        table[self.prediction_columns[0]] = labels
        table = table.rename(columns=renamed)
        return replace(self, table=table, prediction_columns=[renamed.get(c, c) for c in self.prediction_columns],
                       classes=[class_name(c, names) for c in self.classes], labels=labels,
                       positive_label=class_name(default_positive_label(self.classes), names))


def reason_engine(pipeline, X_train: pd.DataFrame, task: str, target: str, seed: int = 0) -> ShapEngine:
    """The SHAP explainer the reasons use: the recommended one for this model."""
    return ShapEngine(pipeline, X_train, task, target, choose_method(pipeline), seed=seed)


def explain_reasons(engine: ShapEngine, X: pd.DataFrame, X_train: pd.DataFrame, contract: Contract,
                    plural: str = "rows", progress: Progress | None = None) -> list[list[str]]:
    """The top reasons in words for each row of X (the model's columns, as the schema check read them)."""
    expl = explain_frame(engine, X, progress=progress)
    return reasons(expl, Reference(X_train[contract.features], contract.categorical, plural), contract.target)


def _column_names(contract: Contract, taken: set[str]) -> tuple[str, list[str], list[str], str]:
    def free(name: str) -> str:
        return name if name not in taken else f"{name} (ModelDeck)"
    label = free(f"predicted {contract.target}")
    probs = [free(f"probability of '{c}'") for c in contract.classes or []]
    return label, probs, [free(f"reason {i + 1}") for i in range(TOP_REASONS)], free("note")


def predict_batch(pipeline, check: SchemaCheck, contract: Contract, *, engine: ShapEngine | None = None,
                  X_train: pd.DataFrame | None = None, plural: str = "rows", max_reason_rows: int | None = None,
                  progress: Progress | None = None) -> BatchResult:
    """Predict the predictable rows of a passed schema check; explain up to `max_reason_rows` of them."""
    check.raise_if_blocked()
    progress = progress or no_progress
    n, rows = check.n_rows, np.flatnonzero(check.predictable)
    X = check.X.iloc[rows]
    classification = contract.task == "classification"
    progress(0.0, f"Predicting {len(rows):,} rows")
    labels = np.full(n, "", dtype=object) if classification else np.full(n, np.nan)
    proba = np.full((n, len(contract.classes or [])), np.nan) if classification else None
    if len(rows):
        labels[rows] = np.asarray(pipeline.predict(X)).astype(str) if classification else \
            np.asarray(pipeline.predict(X), dtype=float)
        if classification and hasattr(pipeline, "predict_proba"):
            proba[rows] = pipeline.predict_proba(X)
    label_col, prob_cols, reason_cols, note_col = _column_names(contract, set(check.uploaded.columns))
    table = check.uploaded.copy()
    table[label_col] = labels
    for j, col in enumerate(prob_cols):
        table[col] = proba[:, j]
    words = [[""] * TOP_REASONS for _ in range(n)]
    method, explained, note = "", 0, ""
    if engine is not None and X_train is not None and len(rows):
        limit = max_reason_rows or (AGNOSTIC_REASON_ROWS if is_agnostic(engine.method) else EXACT_REASON_ROWS)
        explained = min(limit, len(rows))
        found = explain_reasons(engine, X.iloc[:explained], X_train, contract, plural,
                                progress=lambda f, m: progress(0.1 + 0.85 * f, m))
        for i, row in zip(rows[:explained], found):
            words[i] = row
        method = METHOD_TITLES[engine.method]
        if explained < len(rows):
            note = (f"Reasons for the first {explained:,} of {len(rows):,} predicted rows: {method} is slow on this "
                    "model (the command line takes --reason-rows for more).")
        if engine.note:
            note = f"{note} {engine.note}".strip()
    for j, col in enumerate(reason_cols):
        table[col] = [w[j] for w in words]
    table[note_col] = check.row_notes
    progress(1.0, "Predictions ready")
    predicted = np.zeros(n, dtype=bool)
    predicted[rows] = True
    return BatchResult(table, [label_col, *prob_cols, *reason_cols, note_col], contract.task, contract.target,
                       contract.classes, labels, proba, predicted, method, explained, note)
