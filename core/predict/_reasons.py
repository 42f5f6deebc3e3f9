"""The top reasons behind each prediction, in words, from SHAP values.

For every row the three columns that pushed its prediction hardest, with the row's value, how it compares with the
training rows and which way it pushed: "tenure_months = 2 (lower than 93% of customers) pushed toward 'yes'
(+1.2 log-odds)". Two classes: pushes toward the positive class; more classes: toward the predicted class;
regression: how much it raised or lowered the predicted value.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.explain import Explanation, fmt_push, fmt_value

TOP_REASONS = 3
_UNITS = {"probability": "", "log-odds": " log-odds", "class score": " score", "value": ""}


class Reference:
    """The training rows, prepared for fast 'higher than 80% of customers' phrases."""

    def __init__(self, X_train: pd.DataFrame, categorical: list[str], plural: str):
        self.plural = plural
        self.sorted = {c: np.sort(pd.to_numeric(X_train[c], errors="coerce").dropna().to_numpy(float))
                       for c in X_train.columns if c not in categorical}
        self.shares = {c: X_train[c].astype(str).value_counts(normalize=True).to_dict() for c in categorical}

    def phrase(self, column: str, value) -> str:
        if column in self.shares:
            if value is None or (isinstance(value, float) and np.isnan(value)):
                return ""
            share = self.shares[column].get(str(value), 0.0)
            return f"shared by {share:.0%} of {self.plural}" if share else f"never seen in training"
        ref = self.sorted.get(column)
        try:
            x = float(value)
        except (TypeError, ValueError):
            return ""
        if ref is None or not len(ref) or not np.isfinite(x):
            return ""
        below = np.searchsorted(ref, x, side="left") / len(ref)
        if x > ref[-1] or x < ref[0]:
            return f"{'higher' if x > ref[-1] else 'lower'} than any of the training {self.plural}"
        if below >= 0.5:
            return f"higher than {below:.0%} of {self.plural}"
        above = 1.0 - np.searchsorted(ref, x, side="right") / len(ref)
        return f"lower than {above:.0%} of {self.plural}"


def _push_words(expl: Explanation, push: float, k: int, target: str) -> str:
    size = fmt_push(push, expl.output_kind) + _UNITS.get(expl.output_kind, "")
    if expl.classes is None:
        return f"{'raised' if push > 0 else 'lowered'} the predicted {target} ({size})"
    name = expl.output_names[k]
    return f"pushed {'toward' if push > 0 else 'away from'} '{name}' ({size})"


def explained_output(expl: Explanation, i: int) -> int:
    """Which explained output speaks for row i: the only one, or the predicted class when each class has its own."""
    if len(expl.output_names) == 1:
        return 0
    return expl.output_names.index(str(expl.predictions[i]))


def reasons(expl: Explanation, reference: Reference, target: str, top: int = TOP_REASONS) -> list[list[str]]:
    """(n rows) x (up to `top`) sentences, strongest push first."""
    out = []
    for i in range(expl.n_rows):
        k = explained_output(expl, i)
        pushes = expl.values[i, :, k]
        order = [j for j in np.argsort(-np.abs(pushes)) if pushes[j] != 0][:top]
        row = []
        for j in order:
            column = expl.features[j]
            value = expl.data.iloc[i][column]
            rank = reference.phrase(column, value)
            shown = f"{column} empty" if pd.isna(value) else f"{column} = {value:%Y-%m-%d}" \
                if isinstance(value, pd.Timestamp) else f"{column} = {fmt_value(value)}"
            row.append(f"{shown}{f' ({rank})' if rank else ''} "
                       f"{_push_words(expl, float(pushes[j]), k, target)}")
        out.append(row + [""] * (top - len(row)))
    return out
