"""Human labels and units for a data set's columns, given once and used by every chart and sentence.

Labels are stored per data set and per owner (the run store's owner string: a signed-in user or a browser) under
MODELDECK_HOME/labels/<owner>/ (JSON), so one person's edits never change another's charts; someone who gave none
sees the built-in defaults only. Without an owner (the command line, runs made before ownership) the unowned file
MODELDECK_HOME/labels/<key>.json is read. With a shared database the labels folder is a cache of the database's
copy (core.common's atomic writes store each file there), so the same owner sees the same labels on every machine.
Figures and sentences are relabelled at display time (`relabel_figure`,
`relabel_text`), so models keep their original column names and saved runs stay valid when labels change.

Class names: a classification target whose classes are bare codes (0/1, small integers) gets a name per code
(`save_class_names`), stored in the same file; `class_name` is the one function every view that shows a class
calls.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from core.common import ModelDeckError, atomic_write, fetch_shared, home

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


def _path(dataset_key: str, owner: str | None = None) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", dataset_key)
    if owner is None:
        return home() / "labels" / f"{safe}.json"
    return home() / "labels" / hashlib.sha256(owner.encode()).hexdigest()[:24] / f"{safe}.json"


def _stored(dataset_key: str, owner: str | None) -> dict:
    """{"columns": {column: (label, unit)}, "classes": {code: name}} as stored (empty when nothing is)."""
    path = _path(dataset_key, owner)
    fetch_shared(path)          # another machine's edit (no-op without a shared database)
    if not path.exists():
        return {"columns": {}, "classes": {}}
    return _read(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _read(path, mtime_ns: int) -> dict:
    """The stored labels file, read once per version (every chart and caption asks for it). Files written before
    class names existed hold the column labels only."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if "columns" not in data or not isinstance(data["columns"], dict):
        data = {"columns": data, "classes": {}}
    return {"columns": {c: (v[0], v[1]) for c, v in data["columns"].items()},
            "classes": {str(k): str(v) for k, v in dict(data.get("classes") or {}).items()}}


def _write(dataset_key: str, owner: str | None, columns: dict, classes: dict) -> None:
    atomic_write(_path(dataset_key, owner), json.dumps({"columns": columns, "classes": classes}, indent=1))


def load_labels(dataset_key: str, owner: str | None = None) -> dict[str, tuple[str, str]]:
    """column -> (label, unit): `owner`'s labels over the built-in defaults."""
    return dict(DEFAULT_LABELS.get(dataset_key, {})) | _stored(dataset_key, owner)["columns"]


def save_labels(dataset_key: str, labels: dict[str, tuple[str, str]], columns: list[str],
                owner: str | None = None) -> None:
    """Store `owner`'s labels for known columns; empty labels fall back to the column name."""
    unknown = sorted(set(labels) - set(columns))
    if unknown:
        raise ModelDeckError(f"These columns are not in the data set: {', '.join(unknown)}.")
    clean = {c: (str(label).strip(), str(unit).strip()) for c, (label, unit) in labels.items()
             if str(label).strip() or str(unit).strip()}
    _write(dataset_key, owner, clean, _stored(dataset_key, owner)["classes"])


# ---------------------------------------------------------------- class names
MAX_CLASS_NAME = 60


def bare_codes(classes) -> bool:
    """Whether class labels are bare integer codes (0/1, or small integers such as 1-9) rather than words."""
    labels = [str(c).strip() for c in classes]
    return bool(labels) and all(re.fullmatch(r"-?\d{1,3}(\.0)?", label) for label in labels)


#: built-in sets whose class codes are their meaning (the digit drawn): named by themselves unless renamed
DIGIT_SETS = ("builtin:digits", "images:mnist")


def load_class_names(dataset_key: str, owner: str | None = None) -> dict[str, str]:
    """code -> name given by `owner` for the target's classes ({} when none were given; the digits 0-9 of a
    handwritten-digit set name themselves)."""
    given = dict(_stored(dataset_key, owner)["classes"])
    return ({str(d): str(d) for d in range(10)} | given) if dataset_key in DIGIT_SETS else given


def save_class_names(dataset_key: str, names: dict, classes, owner: str | None = None) -> None:
    """Store `owner`'s names for the target's classes (blank: the code stays). Names must be unique and differ
    from the other classes' codes, so no two classes read alike."""
    known = {str(c) for c in classes}
    unknown = sorted(set(map(str, names)) - known)
    if unknown:
        raise ModelDeckError(f"These classes are not in the target: {', '.join(unknown)}.")
    clean = {str(code): str(name).strip() for code, name in names.items() if str(name or "").strip()}
    long = [n for n in clean.values() if len(n) > MAX_CLASS_NAME]
    if long:
        raise ModelDeckError(f"Keep class names under {MAX_CLASS_NAME} characters ('{long[0][:20]}…' is longer).")
    shown = [clean.get(c, c) for c in sorted(known)]
    if len(set(shown)) < len(shown):
        raise ModelDeckError("Two classes would read the same: give every class its own name.")
    _write(dataset_key, owner, _stored(dataset_key, owner)["columns"], clean)


def class_name(value, names: dict[str, str] | None) -> str:
    """How a class is shown: its given name, else the label itself. Every view that shows a class calls this."""
    label = str(value)
    return (names or {}).get(label, label)


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
