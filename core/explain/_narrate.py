"""Explanations in words: values and pushes formatted for people, and one sentence per chart.

Sentences speak of the data set's own columns with their raw values and of its rows in its own words
("patients", "customers"): what drives the model overall, why one row got its prediction, and what a
chart shows.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.explain._result import Explanation

if TYPE_CHECKING:
    from core.explain._interactions import InteractionResult


ENTITY_WORDS = {
    "builtin:breast_cancer": ("patient", "patients"), "builtin:diabetes": ("patient", "patients"),
    "builtin:churn": ("customer", "customers"), "builtin:wine": ("wine", "wines"),
    "builtin:iris": ("flower", "flowers"), "builtin:digits": ("image", "images"),
}


def entity_words(dataset_key: str) -> tuple[str, str]:
    """How to call one row and many rows of this data set ("patient", "patients")."""
    return ENTITY_WORDS.get(dataset_key, ("row", "rows"))


def fmt_value(value) -> str:
    """A feature value for people: 1,820 · 25.4 · 0.147 · 'yes'."""
    if isinstance(value, str):
        return f"'{value}'"
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    v = float(value)
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    size = abs(v)
    return f"{v:,.0f}" if size >= 1000 else f"{v:.1f}" if size >= 10 else f"{v:.2f}" if size >= 1 else f"{v:.3g}"


# ---------------------------------------------------------------- reading the numbers
def feature_direction(expl: Explanation, feature: str, k: int = 0) -> float:
    """Spearman-like sign of how the feature's value relates to its SHAP value (+1: higher pushes up)."""
    if feature in expl.categorical:
        return 0.0
    j = expl.features.index(feature)
    x = pd.to_numeric(expl.data[feature], errors="coerce").to_numpy(dtype=float)
    v = expl.values[:, j, k]
    ok = np.isfinite(x)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(v[ok]) == 0:
        return 0.0
    return float(np.corrcoef(pd.Series(x[ok]).rank(), pd.Series(v[ok]).rank())[0, 1])


def encoded_data(expl: Explanation) -> np.ndarray:
    """The raw feature values as numbers (categories as codes), for colouring and interaction search."""
    cols = []
    for f in expl.features:
        column = expl.data[f]
        if f in expl.categorical:
            cols.append(pd.Categorical(column.astype(str)).codes.astype(float))
        else:
            cols.append(pd.to_numeric(column, errors="coerce").to_numpy(dtype=float))
    return np.column_stack(cols) if cols else np.empty((len(expl.data), 0))


def strongest_interaction(expl: Explanation, feature: str, k: int = 0,
                          interactions: "InteractionResult | None" = None) -> str | None:
    """The column that seems to interact most with `feature`: from interaction values when computed,
    else shap's heuristic (how well each column explains the spread of `feature`'s SHAP values)."""
    if len(expl.features) < 2:
        return None
    j = expl.features.index(feature)
    if interactions is not None and interactions.features == expl.features:
        strength = interactions.mean_abs[:, :, k][j].copy()
        strength[j] = -1
        return expl.features[int(np.argmax(strength))]
    from shap.utils import approximate_interactions
    encoded = encoded_data(expl)
    filled = np.nan_to_num(np.where(np.isnan(encoded), np.nanmedian(encoded, axis=0), encoded))
    order = approximate_interactions(j, expl.values[:, :, k], filled)
    others = [i for i in order if i != j]
    return expl.features[int(others[0])] if others else None


def percentile_phrase(value, reference: pd.Series, plural: str | None) -> str:
    """'higher than 95% of patients' (numbers) or 'shared by 23% of customers' (categories); without the
    noun when plural is None."""
    of = f" of {plural}" if plural else ""
    if isinstance(value, str) or reference.dtype == object:
        share = float((reference.astype(str) == str(value)).mean())
        return f"shared by {share:.0%}{of}"
    ref = pd.to_numeric(reference, errors="coerce").dropna().to_numpy()
    if not len(ref) or value is None or not np.isfinite(float(value)):
        return ""
    below = float((ref < float(value)).mean())
    if below >= 0.5:
        return f"higher than {below:.0%}{of}"
    above = float((ref > float(value)).mean())
    return f"lower than {above:.0%}{of}"


def fmt_push(value: float, kind: str) -> str:
    """A SHAP value in the output's unit: '+12.3 points' of probability, '+1.25' log-odds, '+23.4'."""
    if kind == "probability":
        return f"{value * 100:+.1f} points"
    return f"{value:+.3g}" if abs(value) < 1000 else f"{value:+,.0f}"


def prediction_phrase(expl: Explanation, i: int = 0) -> str:
    """'malignant' (93%) or 212.4."""
    if expl.classes is None:
        return fmt_value(float(expl.predictions[i]))
    label = str(expl.predictions[i])
    p = float(expl.proba[i, expl.classes.index(label)])
    return f"'{label}' ({p:.0%})"


# ---------------------------------------------------------------- sentences
def row_summary(expl: Explanation, i: int, k: int, reference: pd.DataFrame, words: tuple[str, str]) -> str:
    """The plain-language story of one row: prediction, then the largest push with its value's rank."""
    one, many = words
    contributions = expl.values[i, :, k]
    order = np.argsort(-np.abs(contributions))
    top = order[0]
    feature = expl.features[top]
    value = expl.data.iloc[i][feature]
    rank = percentile_phrase(value, reference[feature], many)
    toward = expl.output_labels[k]
    direction = "raised" if contributions[top] > 0 else "lowered"
    text = (f"For this {one} the model predicts {prediction_phrase(expl, i)}. The largest push came from "
            f"{feature} = {fmt_value(value)}{', ' + rank if rank else ''}: it {direction} the {toward} by "
            f"{fmt_push(abs(contributions[top]), expl.output_kind).lstrip('+')}.")
    if len(order) > 1:
        nxt = order[1]
        text += (f" Next: {expl.features[nxt]} = {fmt_value(expl.data.iloc[i][expl.features[nxt]])} "
                 f"({fmt_push(contributions[nxt], expl.output_kind)}).")
    return text


def row_table(expl: Explanation, i: int, k: int, reference: pd.DataFrame, words: tuple[str, str]) -> pd.DataFrame:
    """The row's values beside their pushes, strongest first, with how each value compares to the others."""
    values = expl.values[i, :, k]
    order = np.argsort(-np.abs(values))
    return pd.DataFrame({
        "column": [expl.features[j] for j in order],
        "value": [fmt_value(expl.data.iloc[i][expl.features[j]]) for j in order],
        "push": [fmt_push(values[j], expl.output_kind) for j in order],
        f"vs. other {words[1]}": [percentile_phrase(expl.data.iloc[i][expl.features[j]], reference[expl.features[j]],
                                                    None) for j in order]})


def global_summary(expl: Explanation, k: int, words: tuple[str, str]) -> str:
    """What drives the model overall, from mean |SHAP|, with the direction of the top column."""
    imp = expl.importance(k)
    total = float(imp.sum()) or 1.0
    top = list(imp.index[:3])
    share = float(imp.iloc[:3].sum()) / total
    text = (f"Across {expl.n_rows:,} {words[1]}, the model leans most on {', '.join(top[:-1])}"
            f"{' and ' if len(top) > 1 else ''}{top[-1]}: together {share:.0%} of the total push on the "
            f"{expl.output_labels[k]}.")
    direction = feature_direction(expl, top[0], k)
    if abs(direction) >= 0.3:
        text += (f" Higher {top[0]} {'raises' if direction > 0 else 'lowers'} it"
                 f"{' in most cases' if abs(direction) < 0.7 else ''}.")
    return text


def importance_summary(expl: Explanation, k: int) -> str:
    """How far the strongest and the weakest columns move the output, on average."""
    imp = expl.importance(k)
    kind = expl.output_kind
    text = (f"On average {imp.index[0]} moves the {expl.output_labels[k].split(' (')[0]} by "
            f"{fmt_push(float(imp.iloc[0]), kind).lstrip('+')}, in either direction.")
    small = imp[imp < 0.1 * float(imp.iloc[0])]
    if len(small):
        text += f" {len(small)} of {len(imp)} columns move it less than a tenth of that."
    return text


def beeswarm_summary(expl: Explanation, k: int, words: tuple[str, str]) -> str:
    top = expl.importance(k).index[0]
    direction = feature_direction(expl, top, k)
    side = "right (raise it)" if direction > 0 else "left (lower it)"
    text = f"Each dot is one {words[0]}: its place is the push of that column on the {expl.output_labels[k]}."
    if abs(direction) >= 0.3:
        text += f" For {top}, high values (red) sit mostly on the {side}."
    return text


def dependence_summary(expl: Explanation, feature: str, colour: str | None, k: int) -> str:
    j = expl.features.index(feature)
    v = expl.values[:, j, k]
    kind = expl.output_kind
    text = (f"The push of {feature} ranges from {fmt_push(v.min(), kind)} to {fmt_push(v.max(), kind)} on the "
            f"{expl.output_labels[k]}.")
    direction = feature_direction(expl, feature, k)
    if abs(direction) >= 0.3:
        text += f" It mostly {'grows' if direction > 0 else 'falls'} as {feature} increases."
    if colour:
        text += f" Colour shows {colour}, the column that seems to interact with it most."
    return text


def waterfall_summary(expl: Explanation, i: int, k: int) -> str:
    kind = expl.output_kind
    base, out = float(expl.base_values[k]), float(expl.outputs[i, k])
    unit = lambda x: f"{x:.1%}" if kind == "probability" else fmt_value(round(x, 3))  # noqa: E731
    return (f"Starting from the average {expl.output_labels[k]} ({unit(base)}), each bar adds one column's push; "
            f"together they reach this row's {unit(out)}. Bars to the right raise it, to the left lower it.")


def unused_columns_note(dataset) -> str:
    """Columns the model never sees (text, dates, identifiers…) have no SHAP value: say which."""
    unused = {c: t for c, t in dataset.column_types.items() if c != dataset.target and c not in dataset.features}
    if not unused:
        return ""
    listed = ", ".join(f"'{c}' ({t})" for c, t in list(unused.items())[:6])
    return (f"Not explained because the model does not use them: {listed}"
            f"{' and more' if len(unused) > 6 else ''}. Text, date and identifier columns are left out of training.")
