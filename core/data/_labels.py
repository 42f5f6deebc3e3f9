"""Human labels and units for a data set's columns, given once and used by every chart and sentence.

Labels are stored per data set under MODELDECK_HOME/labels/ (JSON); built-in data sets ship defaults. Figures and
sentences are relabelled at display time (`relabel_figure`, `relabel_text`), so models keep their original column
names and saved runs stay valid when labels change.
"""
from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path

from core.common import ModelDeckError, atomic_write, home

DEFAULT_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "builtin:churn": {
        "tenure_months": ("months as customer", "months"), "monthly_charges": ("monthly bill", "USD"),
        "total_charges": ("total billed", "USD"), "support_calls_90d": ("support calls in the last 90 days", "calls"),
        "num_products": ("products held", ""), "internet_service": ("internet service", ""),
        "payment_method": ("payment method", ""), "paperless_billing": ("paperless billing", ""),
        "churned": ("left the company", ""),
    },
    "builtin:diabetes": {"bmi": ("body-mass index", "kg/m²"), "blood_pressure": ("blood pressure", "mmHg")},
}


def _path(dataset_key: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", dataset_key)
    return home() / "labels" / f"{safe}.json"


def load_labels(dataset_key: str) -> dict[str, tuple[str, str]]:
    """column -> (label, unit): the user's labels over the built-in defaults."""
    labels = dict(DEFAULT_LABELS.get(dataset_key, {}))
    path = _path(dataset_key)
    if path.exists():
        labels.update(_read(path, path.stat().st_mtime_ns))
    return labels


@lru_cache(maxsize=64)
def _read(path, mtime_ns: int) -> dict[str, tuple[str, str]]:
    """The stored labels file, read once per version (every chart and caption asks for it)."""
    return {c: (v[0], v[1]) for c, v in json.loads(path.read_text(encoding="utf-8")).items()}


def save_labels(dataset_key: str, labels: dict[str, tuple[str, str]], columns: list[str]) -> None:
    """Store labels for known columns; empty labels fall back to the column name."""
    unknown = sorted(set(labels) - set(columns))
    if unknown:
        raise ModelDeckError(f"These columns are not in the data set: {', '.join(unknown)}.")
    clean = {c: (str(label).strip(), str(unit).strip()) for c, (label, unit) in labels.items()
             if str(label).strip() or str(unit).strip()}
    atomic_write(_path(dataset_key), json.dumps(clean, indent=1))


def display_names(labels: dict[str, tuple[str, str]]) -> dict[str, str]:
    """column -> 'label (unit)'."""
    return {c: (label or c) + (f" ({unit})" if unit else "") for c, (label, unit) in labels.items()}


@lru_cache(maxsize=64)
def _pattern(names: tuple[str, ...]) -> re.Pattern:
    ordered = sorted(names, key=len, reverse=True)          # longest first: 'total_charges' before 'charges'
    return re.compile(r"(?<![\w])(" + "|".join(re.escape(n) for n in ordered) + r")(?![\w])")


def relabel_text(text, names: dict[str, str]):
    """Replace whole-word column names in a sentence by their display names (non-strings pass through)."""
    if not names or not isinstance(text, str):
        return text
    return _pattern(tuple(names)).sub(lambda m: names[m.group(1)], text)


def relabel_figure(fig, names: dict[str, str]):
    """A copy of a plotly figure with column names replaced in titles, axis titles, annotations, trace names and
    categorical tick values."""
    if not names:
        return fig
    fig = copy.deepcopy(fig)
    layout = fig.layout
    if layout.title and layout.title.text:
        layout.title.text = relabel_text(layout.title.text, names)
    for axis in [a for a in layout if a.startswith(("xaxis", "yaxis"))]:
        title = layout[axis].title
        if title and title.text:
            title.text = relabel_text(title.text, names)
        if layout[axis].ticktext:
            layout[axis].ticktext = [relabel_text(t, names) for t in layout[axis].ticktext]
    colorbars = [layout.coloraxis.colorbar] + [t.marker.colorbar for t in fig.data
                                               if getattr(getattr(t, "marker", None), "colorbar", None)]
    for bar in colorbars:
        if bar.title and bar.title.text:
            bar.title.text = relabel_text(bar.title.text, names)
    for annotation in layout.annotations or ():
        annotation.text = relabel_text(annotation.text, names)
    for trace in fig.data:
        if getattr(trace, "name", None):
            trace.name = relabel_text(trace.name, names)
        for attr in ("x", "y"):      # only category labels; numbers may be packed as {"dtype", "bdata"}
            values = getattr(trace, attr, None)
            if isinstance(values, (list, tuple)) and values and all(isinstance(v, str) for v in values):
                setattr(trace, attr, [relabel_text(v, names) for v in values])
        if getattr(trace, "dimensions", None):         # parallel coordinates
            for dim in trace.dimensions:
                dim.label = relabel_text(dim.label, names)
    return fig
