"""Runs side by side: what differs first, then the metrics with their differences, the curves and the drivers.

`compare_runs(runs, store)` takes two or more finished runs on the same data set (others are refused with a
message) and returns a `RunComparison`: the settings that differ (model, its parameters, the cleaning options; the
identical ones folded away), every stored metric side by side with its difference from run A (on the test rows,
and on cross-validation when both have it), a paired bootstrap 95% interval of the test difference when the runs
were scored on the same test rows, how the top drivers' ranks moved (from SHAP values stored with each run), and one
sentence. The numbers are the stored ones: nothing is retrained or rescored.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common import ModelDeckError

BOOT = 1000
TOP_DRIVERS = 8
LOWER_IS_BETTER = ("mae", "rmse", "log_loss", "mape")


@dataclass
class RunComparison:
    """Two or more runs on one data set, A first."""

    labels: list[str]                 # "A", "B", …
    runs: list                        # core.runs.Run, in the order given
    task: str
    primary: str
    differing: pd.DataFrame           # setting, then one column per run: only the settings that differ
    same: pd.DataFrame                # setting, value: identical in every run (folded away on the page)
    metrics: pd.DataFrame             # metric, on, one column per run, "X − A" per other run, its interval
    test_predictions: list            # core.evaluate.Predictions per run (for overlaid curves)
    drivers: pd.DataFrame | None      # column, rank per run (1 = strongest), "moved" (last run vs A)
    sentence: str
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- settings
def _flat(run) -> dict[str, str]:
    """Every setting of a run as text: the model, its parameters and seed, the cleaning options."""
    out = {"model": run.model_title}
    for key, value in sorted(run.spec.get("params", {}).items()):
        out[key] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    out["model seed"] = str(run.spec.get("seed"))
    for key, value in sorted(run.prep.items()):
        out[f"cleaning: {key.replace('_', ' ')}"] = str(value)
    return out


def _settings(runs, labels) -> tuple[pd.DataFrame, pd.DataFrame]:
    flats = [_flat(r) for r in runs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    rows = [{"setting": k, **{label: f.get(k, "—") for label, f in zip(labels, flats)}} for k in keys]
    table = pd.DataFrame(rows)
    differs = table[labels].nunique(axis=1) > 1
    same = table[~differs][["setting", labels[0]]].rename(columns={labels[0]: "value"})
    return table[differs].reset_index(drop=True), same.reset_index(drop=True)


# ---------------------------------------------------------------- metrics and their differences
def _paired_values(task: str, metric: str, y: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray | None:
    """The metric on every bootstrap resample (rows `idx`, shape (boot, n)); None for metrics not bootstrapped here."""
    if task == "classification":
        if metric != "accuracy":
            return None
        return (y[idx] == pred[idx]).mean(axis=1)
    err = y[idx] - pred[idx]
    if metric == "mae":
        return np.abs(err).mean(axis=1)
    if metric == "rmse":
        return np.sqrt((err ** 2).mean(axis=1))
    if metric == "r2":
        ys = y[idx]
        return 1 - (err ** 2).sum(axis=1) / ((ys - ys.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    return None


def _difference_interval(task: str, metric: str, a, b, seed: int = 0) -> tuple[float, float] | None:
    """Paired bootstrap 95% interval of b − a on the same test rows; None when the rows differ."""
    y_a, y_b = np.asarray(a.y_true), np.asarray(b.y_true)
    if len(y_a) != len(y_b) or not np.array_equal(y_a.astype(str), y_b.astype(str)):
        return None
    cast = (lambda v: np.asarray(v).astype(str)) if task == "classification" else \
        (lambda v: np.asarray(v, dtype=float))
    idx = np.random.default_rng(seed).integers(0, len(y_a), size=(BOOT, len(y_a)))
    va = _paired_values(task, metric, cast(y_a), cast(a.y_pred), idx)
    vb = _paired_values(task, metric, cast(y_a), cast(b.y_pred), idx)
    if va is None:
        return None
    low, high = np.nanpercentile(vb - va, [2.5, 97.5])
    return float(low), float(high)


def _metrics(runs, labels, preds, task: str) -> pd.DataFrame:
    rows = []
    names = list(dict.fromkeys(k for r in runs for k in r.metrics.get("test", {})))
    for part, key in (("test rows", "test"), ("cross-validation", "cv")):
        for metric in names:
            values = []
            for r in runs:
                v = r.metrics.get(key, {}).get(metric)
                values.append(v[0] if isinstance(v, (list, tuple)) else v)
            if all(v is None for v in values):
                continue
            row = {"metric": metric, "on": part, **dict(zip(labels, values))}
            for label, value, pred in zip(labels[1:], values[1:], preds[1:]):
                base = values[0]
                row[f"{label} − A"] = None if value is None or base is None else value - base
                row[f"{label} − A, 95%"] = _difference_interval(task, metric, preds[0], pred) if key == "test" \
                    else None
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- drivers
def _drivers(runs, labels, store, split_of) -> tuple[pd.DataFrame | None, str]:
    from core.explain import latest_explanation
    ranks = {}
    for label, run in zip(labels, runs):
        expl = latest_explanation(store.folder(run.id, create=False), split_of(run))
        if expl is None:
            return None, (f"Run {label} has no SHAP values yet: open it on the Explain page to compare what drives "
                          "the runs.")
        order = list(expl.importance(0).index)
        ranks[label] = {c: i + 1 for i, c in enumerate(order)}
    top = list(dict.fromkeys(c for label in labels for c in list(ranks[label])[:TOP_DRIVERS]))
    table = pd.DataFrame([{"column": c, **{f"rank in {label}": ranks[label].get(c) for label in labels}} for c in top])
    last = labels[-1]
    table["moved"] = [None if a is None or b is None else int(a - b)
                      for a, b in zip(table["rank in A"], table[f"rank in {last}"])]
    return table.sort_values(f"rank in {last}").reset_index(drop=True), ""


# ---------------------------------------------------------------- the sentence
def _points(metric: str, task: str, delta: float) -> str:
    if task == "classification" or metric == "r2":
        return f"{abs(delta) * 100:.1f} points"
    return f"{abs(delta):,.3g}"


def _sentence(runs, labels, differing: pd.DataFrame, task: str, primary: str, metrics: pd.DataFrame) -> str:
    on_cv = all(r.metrics.get("cv", {}).get(primary) for r in runs)
    part = "cross-validation" if on_cv else "test rows"
    rows = metrics[(metrics["metric"] == primary) & (metrics["on"] == part)]
    values = rows.iloc[0][labels].astype(float).to_numpy()
    sign = -1.0 if primary in LOWER_IS_BETTER else 1.0
    order = np.argsort(-sign * values)
    best, second = int(order[0]), int(order[1])
    delta = values[best] - values[second]
    where = "on cross-validation" if on_cv else "on the test rows (no cross-validation in every run)"
    if abs(delta) < 1e-12:
        text = f"Runs {labels[best]} and {labels[second]} score the same {where} ({primary})."
    else:
        better = "better" if sign * delta > 0 else "worse"
        shown = (lambda v: f"{v:.1%}") if task == "classification" and primary != "log_loss" else \
            (lambda v: f"{v:,.4g}")
        text = (f"Run {labels[best]} is {_points(primary, task, delta)} {better} than {labels[second]} {where} "
                f"({primary.replace('_', ' ')} {shown(values[best])} vs {shown(values[second])})")
        pair = differing[["setting", labels[best], labels[second]]]
        pair = pair[pair[labels[best]] != pair[labels[second]]]
        if len(pair) == 1:
            s = pair.iloc[0]
            text += f"; the only difference is {s['setting']}: {s[labels[best]]} instead of {s[labels[second]]}."
        elif len(pair) > 1:
            text += (f"; they differ in {len(pair)} settings ({', '.join(pair['setting'].iloc[:4])}), so which one "
                     "made the difference cannot be told from these runs alone.")
        else:
            text += "; their settings are identical, so the difference is chance (seeds, timing)."
    return text


def compare_runs(runs: list, store=None, split_of=None) -> RunComparison:
    """Compare finished runs on one data set (see the module docstring); A is the first run given."""
    from core.runs import RunStore
    store = store or RunStore()
    if len(runs) < 2:
        raise ModelDeckError("Pick at least two runs to compare.")
    if len(runs) > len(string.ascii_uppercase):
        raise ModelDeckError(f"Compare at most {len(string.ascii_uppercase)} runs at once.")
    for r in runs:
        if r.status != "done" or not r.metrics:
            raise ModelDeckError(f"Run '{r.name}' has not finished ({r.status}); compare finished runs only.")
        if r.kind == "recommender":
            raise ModelDeckError(f"Run '{r.name}' is a recommender; compare it on the Recommend page.")
    labels = list(string.ascii_uppercase[:len(runs)])
    first = runs[0]
    for label, r in zip(labels[1:], runs[1:]):
        if r.dataset_key != first.dataset_key or (r.fingerprint and first.fingerprint and
                                                  r.fingerprint != first.fingerprint):
            raise ModelDeckError(f"Run {label} ('{r.name}') was trained on '{r.dataset_name}' and run A ('{first.name}') "
                                 f"on '{first.dataset_name}'{' (a different version)' if r.dataset_key == first.dataset_key else ''}"
                                 ": runs can only be compared on the same data set. Pick runs of one data set.")
    task = first.task or "classification"
    primary = first.metrics.get("primary", "accuracy" if task == "classification" else "r2")
    differing, same = _settings(runs, labels)
    preds = [store.load_predictions(r.id)["test"] for r in runs]
    metrics = _metrics(runs, labels, preds, task)
    notes = []
    if split_of is None:
        from core.data import PrepOptions, load_dataset, split_dataset
        dataset = load_dataset(first.dataset_key)
        split_of = lambda run: split_dataset(dataset, PrepOptions.from_dict(run.prep))  # noqa: E731
    drivers, note = _drivers(runs, labels, store, split_of)
    if note:
        notes.append(note)
    if any(len(p) != len(preds[0]) or not np.array_equal(np.asarray(p.y_true).astype(str),
                                                          np.asarray(preds[0].y_true).astype(str)) for p in preds[1:]):
        notes.append("The runs were scored on different test rows (other split settings), so their test scores are "
                     "not paired and no interval of the difference is given; cross-validation is the fairer view.")
    return RunComparison(labels, list(runs), task, primary, differing, same, metrics, preds, drivers,
                         _sentence(runs, labels, differing, task, primary, metrics), notes)
