"""The trade-off table: one row per variant scored on the same test split (size on disk and gzipped, latency
median and p90, the run's metric, agreement with the original, ONNX parity) and on the validation rows the pick
reads, ratios against the fastest fp32 baseline, and `TradeoffTable`, the result saved with the run."""
from __future__ import annotations

import gzip
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.common import ModelDeckError
from core.compress._data import CompressData, Head
from core.compress._export import artifact_bytes, artifact_files
from core.compress._variant import Variant


@dataclass
class TradeoffTable:
    """Every variant measured on the same test split, with the context needed to read the numbers."""

    run_id: str
    family: str
    task: str
    metric: str
    baseline: str
    rows: list[dict]
    threads: int
    cpu: dict
    options: dict
    test_rows: int
    seconds: float = 0.0
    val_rows: int = 0             # validation rows the pick read (0: a table saved before they existed)
    notes: list[str] = field(default_factory=list)
    torch_version: str = ""
    ort_version: str = ""

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def row(self, name: str) -> dict:
        for r in self.rows:
            if r["variant"] == name:
                return r
        raise ModelDeckError(f"There is no variant called '{name}'. Choose one of: "
                             f"{', '.join(r['variant'] for r in self.rows)}.")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "TradeoffTable":
        return cls(**json.loads(text))


def _scores(head: Head, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score

    if head.task == "classification":
        return {"accuracy": float(accuracy_score(y_true, y_pred)),
                "f1_macro": float(f1_score(y_true, y_pred, average="macro"))}
    return {"r2": float(r2_score(y_true, y_pred)), "mae": float(mean_absolute_error(y_true, y_pred))}


def _agreement(head: Head, original: np.ndarray, pred: np.ndarray) -> float:
    """Share of test rows with the original's label; for regression, R² of the variant against the original."""
    if head.task == "classification":
        return float(np.mean(original == pred))
    from sklearn.metrics import r2_score
    return float(r2_score(original, pred))


def _gzip_bytes(path: Path) -> int:
    """Gzipped size of an artifact (with its external data): where unstructured sparsity shows."""
    data = b"".join(f.read_bytes() for f in artifact_files(path))
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def _row(v: Variant, data: CompressData, timing: dict,
         original_pred: np.ndarray | None) -> tuple[dict, np.ndarray]:
    """One table row for a variant (its timings in seconds) and its test predictions."""
    pred = data.head.predict(v.run(data.X_test), scaled=v.scaled)
    b1, b256 = np.asarray(timing["b1"]) * 1e3, np.asarray(timing["b256"]) * 1e3
    row = {"variant": v.name, "method": v.method, "engine": v.engine, "params": v.params, "nonzero": v.nonzero,
           "bytes": artifact_bytes(v.artifact), "gzip_bytes": _gzip_bytes(v.artifact), "artifact": v.artifact.name,
           "b1_ms": float(np.median(b1)), "b1_p90_ms": float(np.percentile(b1, 90)), "b1_runs": len(b1),
           "b256_ms": float(np.median(b256)), "b256_p90_ms": float(np.percentile(b256, 90)), "b256_runs": len(b256)}
    row["throughput_rows_s"] = 256.0 / (row["b256_ms"] / 1e3)
    row["noisy"] = bool(row["b1_p90_ms"] > 2 * row["b1_ms"] or row["b256_p90_ms"] > 2 * row["b256_ms"])
    row.update(_scores(data.head, data.y_test, pred))
    # the same scores on the validation rows (held out of the training split, fitted on by no variant): what the
    # pick reads, so the test rows choose nothing
    if data.X_val is not None:
        val_pred = data.head.predict(v.run(data.X_val), scaled=v.scaled)
        row.update({f"val_{k}": s for k, s in _scores(data.head, data.y_val, val_pred).items()})
    row["agreement"] = 1.0 if original_pred is None else _agreement(data.head, original_pred, pred)
    row["onnx_file"] = v.onnx_file
    row["parity_max_abs_diff"] = v.parity["max_abs_diff"] if v.parity else None
    row["parity_labels_equal"] = v.parity["labels_equal"] if v.parity else None
    row["note"] = v.note
    return row, pred


def _score_rows(variants: list[Variant], data: CompressData, timing: dict[str, dict]) -> list[dict]:
    """One row per variant; the first variant's predictions are the original's for the agreement column."""
    rows, original = [], None
    for v in variants:
        row, pred = _row(v, data, timing[v.name], original)
        original = pred if original is None else original
        rows.append(row)
    return rows


def _add_ratios(rows: list[dict], metric: str) -> str:
    """Ratios against the fastest fp32 baseline row (batch 1); score change in points against the original."""
    baselines = [r for r in rows if r["method"] == "baseline"]
    base = min(baselines, key=lambda r: r["b1_ms"])
    original = rows[0][metric]
    for r in rows:
        r["size_x"] = base["bytes"] / r["bytes"]
        r["speed_b1_x"] = base["b1_ms"] / r["b1_ms"]
        r["speed_b256_x"] = base["b256_ms"] / r["b256_ms"]
        sign = -1.0 if metric in ("mae", "rmse") else 1.0
        r["delta_points"] = sign * (r[metric] - original) * (100.0 if metric != "mae" else 1.0)
        if f"val_{metric}" in r:
            r["val_delta_points"] = sign * (r[f"val_{metric}"] - rows[0][f"val_{metric}"]) * \
                (100.0 if metric != "mae" else 1.0)
    return base["variant"]
