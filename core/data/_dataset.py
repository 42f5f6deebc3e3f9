"""The ``Dataset`` type every capability works on (frame, target, task, column types) and its fingerprint.

A ``Dataset`` is built by ``make_dataset`` (validation) or ``load_builtin``/``load_dataset``; this module
only holds the type, the task and column-type vocabularies, and the content hash that names uploads and
keys caches.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pandas as pd

TASKS = ("classification", "regression")
COLUMN_TYPES = ("numeric", "categorical", "date", "identifier", "text", "constant", "empty")
USABLE_TYPES = ("numeric", "categorical")


@dataclass(eq=False)
class Dataset:
    """A table ready for modelling: feature columns plus one target column.

    Treat ``frame`` as read-only: ``fingerprint`` is computed once and cached.
    """

    key: str
    name: str
    frame: pd.DataFrame
    target: str
    task: str
    column_types: dict[str, str]
    description: str
    image_shape: tuple[int, int] | None = None
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    @property
    def features(self) -> list[str]:
        """Usable model inputs: numeric and categorical columns, in frame order."""
        return [c for c in self.frame.columns if c != self.target and self.column_types.get(c) in USABLE_TYPES]

    @property
    def numeric_features(self) -> list[str]:
        return [c for c in self.features if self.column_types[c] == "numeric"]

    @property
    def categorical_features(self) -> list[str]:
        return [c for c in self.features if self.column_types[c] == "categorical"]

    @property
    def X(self) -> pd.DataFrame:
        return self.frame[self.features]

    @property
    def y(self) -> pd.Series:
        return self.frame[self.target]

    @property
    def unused_columns(self) -> dict[str, str]:
        """Columns the models do not use, with the reason (identifier, date, constant, empty)."""
        return {c: t for c, t in self.column_types.items() if t not in USABLE_TYPES and c != self.target}

    @property
    def classes(self) -> list[str] | None:
        """Sorted class labels (numbers in numeric order), or None for regression."""
        if self.task != "classification":
            return None
        return _sorted_labels(self.frame[self.target].dropna().unique())

    @property
    def fingerprint(self) -> str:
        """First 16 hex chars of a sha256 over column names, cell values, target and task."""
        if self._fingerprint is None:
            self._fingerprint = frame_fingerprint(self.frame, self.target, self.task)
        return self._fingerprint


def frame_fingerprint(frame: pd.DataFrame, target: str, task: str) -> str:
    """Content hash that is the same in every process (pandas' hash uses a fixed key)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(f"|{target}|{task}".encode())
    return digest.hexdigest()[:16]


def _sorted_labels(values) -> list[str]:
    labels = [str(v) for v in values]
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)
