"""Upload storage: a validated data set kept under MODELDECK_HOME/datasets as a CSV plus a JSON sidecar
(types, target, how each column reads back), named by its fingerprint; loading by key and listing.

The sidecar is written last, so a data set is listed only once both files are complete; the dtypes come
back exactly as stored (integers stay integers, floats round-trip, dates are ISO 8601). With a shared database
(MODELDECK_DB_URL not SQLite) the folder is a cache of the database's copy (core.common's atomic writes store each
file there), so another machine with only the URL lists, opens and tunes on the same uploads.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from core.common import ModelDeckError, atomic_write, fetch_shared, fetch_shared_tree, home
from core.data._builtin import BUILTINS, load_builtin
from core.data._csv import _FLOAT_EXACT
from core.data._dataset import Dataset


def _uploads_dir() -> Path:
    path = home() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path



def save_upload(dataset: Dataset, owner: str | None = None) -> str:
    """Store the data set under home()/datasets as CSV + JSON sidecar; return "upload:<fingerprint>". With
    `owner`, the upload is listed for that owner only (see `list_uploads`)."""
    fingerprint = dataset.fingerprint
    folder = _uploads_dir()
    if owner is not None:
        _add_owner(folder / f"{fingerprint}.owners.json", owner)
    sidecar = {
        "target": dataset.target,
        "task": dataset.task,
        "name": dataset.name,
        "description": dataset.description,
        "column_types": dataset.column_types,
        "columns": [str(c) for c in dataset.frame.columns],
        "storage": {str(c): _storage_kind(dataset.frame[c]) for c in dataset.frame.columns},
        "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
        "synthetic": dataset.synthetic,
        "notes": dataset.notes,
        "fingerprint": fingerprint,
    }
    atomic_write(folder / f"{fingerprint}.csv", _csv_bytes(dataset.frame))
    atomic_write(folder / f"{fingerprint}.json", json.dumps(sidecar, indent=2))  # written last: marks complete
    return f"upload:{fingerprint}"


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as CSV: pyarrow's writer (a million rows in about 2 s instead of 12 with pandas; floats in their
    shortest exact form), pandas' for what pyarrow cannot hold (e.g. mixed types in one column). Yes/no columns are
    written True/False either way; `_read_stored_frame` reads both back to the same values and dtypes."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    try:
        table = pa.Table.from_pandas(frame.astype({c: str for c in frame.columns if _storage_kind(frame[c]) == "bool"}),
                                     preserve_index=False)
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink)
        return sink.getvalue().to_pybytes()
    except (pa.ArrowException, TypeError, ValueError):
        return frame.to_csv(index=False, lineterminator="\n").encode()


def _storage_kind(series: pd.Series) -> str:
    """How a column is written to and read back from CSV: int, float, bool, datetime or text."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return "int"
    if pd.api.types.is_numeric_dtype(series):
        return "float"
    return "text"


def _read_stored_frame(path: Path, kinds: dict[str, str]) -> pd.DataFrame:
    text_columns = {c: str for c, kind in kinds.items() if kind in ("text", "bool")}
    frame = pd.read_csv(path, dtype=text_columns, **_FLOAT_EXACT)
    for column, kind in kinds.items():
        if kind == "int":
            frame[column] = frame[column].astype("int64")
        elif kind == "float":
            frame[column] = frame[column].astype(float)
        elif kind == "bool":
            frame[column] = frame[column].map({"True": True, "False": False})
        elif kind == "datetime":
            frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    return frame


def _load_upload(key: str) -> Dataset:
    fingerprint = key.removeprefix("upload:")
    if not re.fullmatch(r"[0-9a-f]{16}", fingerprint):
        raise ModelDeckError(f"'{key}' is not a valid data set reference. Choose a data set again.")
    folder = _uploads_dir()
    csv_path, meta_path = folder / f"{fingerprint}.csv", folder / f"{fingerprint}.json"
    fetch_shared(meta_path, csv_path)
    if not (csv_path.exists() and meta_path.exists()):
        raise ModelDeckError(
            f"The uploaded data set '{key}' is no longer stored on this server. Upload the file again."
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        frame = _read_stored_frame(csv_path, meta["storage"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelDeckError(f"The stored data set '{key}' is damaged ({exc}). Upload the file again.") from None
    return Dataset(
        key=key,
        name=meta["name"],
        frame=frame[meta["columns"]],
        target=meta["target"],
        task=meta["task"],
        column_types=meta["column_types"],
        description=meta["description"],
        image_shape=tuple(meta["image_shape"]) if meta.get("image_shape") else None,
        synthetic=bool(meta.get("synthetic")),
        notes=list(meta.get("notes", [])),
    )


def load_dataset(key: str) -> Dataset:
    """Load "builtin:<name>" or "upload:<fingerprint>" (a bare built-in name works too)."""
    if key.startswith("upload:"):
        return _load_upload(key)
    if key.startswith("builtin:") or key in BUILTINS:
        return load_builtin(key)
    if key.startswith("images:"):   # image sets: built-in pictures or an uploaded zip (core.data._images)
        from core.data._images import load_image_set
        return load_image_set(key)
    raise ModelDeckError(f"Unknown data set '{key}'. Choose a built-in data set or upload a CSV file.")


def _add_owner(path: Path, owner: str) -> None:
    """Owners of an upload (issue 12): the same file uploaded by two people is stored once and listed for both."""
    fetch_shared(path)
    try:
        owners = set(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        owners = set()
    if owner not in owners:
        atomic_write(path, json.dumps(sorted(owners | {owner})))


def _owned_by(fingerprint: str, owner: str) -> bool:
    """Whether `owner` may see an upload; one without an owners file (older, or from the command line) is everyone's."""
    try:
        return owner in json.loads((_uploads_dir() / f"{fingerprint}.owners.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False


def list_uploads(owner: str | None = None) -> dict[str, str]:
    """Stored uploads, newest first: key -> "name (uploaded)"; with `owner`, only theirs and everyone's."""
    fetch_shared_tree(_uploads_dir(), suffix=".json", recursive=False)   # sidecars and owners, when shared
    sidecars = sorted((p for p in _uploads_dir().glob("*.json") if not p.name.endswith(".owners.json")),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    uploads = {}
    for path in sidecars:
        if owner is not None and not _owned_by(path.stem, owner):
            continue
        try:
            name = json.loads(path.read_text(encoding="utf-8")).get("name", path.stem)
        except (OSError, ValueError):
            continue
        uploads[f"upload:{path.stem}"] = f"{name} (uploaded)"
    return uploads
