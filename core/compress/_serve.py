"""Serving one model of a run over HTTP: FastAPI + uvicorn on 127.0.0.1 (`python -m core serve`, see `_cli`).

The model runs through ONNX Runtime (the fp32 export of the run's model, or a variant saved by the Compress
page); the run's fitted preprocessing turns raw feature rows into the model's inputs. Endpoints: POST /predict
(a batch of rows), GET /health, and FastAPI's OpenAPI docs at /docs. Bad rows (wrong feature count, NaN or
infinite numbers, text where a number is expected, an empty batch) get a 422 with a message naming the row and
the feature; null is a missing value, filled in as in training when the run's preprocessing imputes.

POST /predict/batch (rows as JSON objects keyed by column name) and POST /predict/csv (a CSV file as the body) are
the Predict page's batch: the same schema check against the run's training columns (`core.predict.check_schema`:
missing, renamed, extra, wrong type, unseen categories, each problem with what is done about it; blocking problems
give a 422 listing them), then the served model's predictions and, on request, the top three reasons per row
(SHAP on the run's own pipeline).
"""
from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.common import ModelDeckError, softmax
from core.compress._export import OnnxModel, export_sklearn, export_torch
from core.compress._store import SERVING_FILE, artifact_path, compress_folder, output_kind
from core.predict import RunModel, check_schema, explain_reasons, reason_engine, run_model_from

DEFAULT_VARIANTS = ("fp32 (ONNX Runtime)", "original ensemble (ONNX Runtime)")
MAX_BATCH = 10_000


@dataclass
class ServedModel:
    """A run's preprocessing + one ONNX Runtime model + how to decode its outputs."""

    run_id: str
    variant: str
    prep: object
    numeric: list[str]
    categorical: list[str]
    features: list[str]
    model: OnnxModel
    output: str                # logits | proba | scaled | value
    task: str
    classes: list[str] | None
    y_mean: float = 0.0
    y_scale: float = 1.0
    imputes_numbers: bool = False
    run_model: RunModel | None = None   # the run's pipeline, training rows and contract (the batch endpoints)
    _engine: object = None              # the SHAP explainer for reasons, made on first request

    def check_rows(self, rows: list[list]) -> pd.DataFrame:
        """Validate raw rows; raise ModelDeckError naming the first bad row and feature."""
        if not rows:
            raise ModelDeckError("'instances' is empty: send at least one row.")
        if len(rows) > MAX_BATCH:
            raise ModelDeckError(f"At most {MAX_BATCH} rows per request; got {len(rows)}.")
        n = len(self.features)
        for i, row in enumerate(rows):
            if len(row) != n:
                raise ModelDeckError(f"Row {i} has {len(row)} values but the model expects {n} features in this "
                                     f"order: {', '.join(self.features)}.")
            for name, value in zip(self.features, row):
                self._check_value(i, name, value)
        frame = pd.DataFrame(rows, columns=self.features)
        for name in self.categorical:
            frame[name] = frame[name].map(lambda v: np.nan if v is None or pd.isna(v) else str(v)).astype(object)
        for name in self.numeric:
            frame[name] = frame[name].astype(float)
        return frame

    def _check_value(self, i: int, name: str, value) -> None:
        """null means 'missing' (filled in as in training when the preprocessing imputes); NaN/inf never pass."""
        if value is None:
            if name in self.categorical or self.imputes_numbers:
                return
            raise ModelDeckError(f"Row {i}, feature '{name}': a value is missing and this model cannot fill it in.")
        if name in self.categorical:
            if isinstance(value, float) and not math.isfinite(value):
                raise ModelDeckError(f"Row {i}, feature '{name}': {value} is not a category; send text or null.")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ModelDeckError(f"Row {i}, feature '{name}': expected a number, got {value!r}.")
        elif not math.isfinite(value):
            raise ModelDeckError(f"Row {i}, feature '{name}': {value} is not a finite number (NaN and infinity are "
                                 "not accepted; send null for a missing value).")

    def predict(self, rows: list[list]) -> dict:
        """Labels and probabilities (classification) or values (regression) for a batch of raw rows."""
        return self.predict_frame(self.check_rows(rows))

    def predict_frame(self, frame: pd.DataFrame) -> dict:
        """Predictions for rows already in the model's columns and types."""
        X = self.prep.transform(frame)
        X = np.ascontiguousarray(X.toarray() if hasattr(X, "toarray") else X, dtype=np.float32)
        out = self.model.raw(X).astype(np.float64)
        if self.task == "classification":
            proba = out if self.output == "proba" else softmax(out)
            labels = [self.classes[i] for i in proba.argmax(axis=1)]
            return {"predictions": labels, "probabilities": proba.round(6).tolist(), "classes": self.classes}
        values = out[:, 0] * self.y_scale + self.y_mean if self.output == "scaled" else out[:, 0]
        return {"predictions": values.tolist()}


    def predict_table(self, frame: pd.DataFrame, reasons: bool = False) -> dict:
        """The Predict page's batch: schema check, predictions for every predictable row, optional reasons."""
        if len(frame) > MAX_BATCH:
            raise ModelDeckError(f"At most {MAX_BATCH} rows per request; got {len(frame)}.")
        model = self.run_model
        check = check_schema(frame, model.contract)
        problems = [{"kind": p.kind, "column": p.column, "level": p.level, "message": p.message}
                    for p in check.problems]
        if not check.ok:
            raise BatchRefused(check.blocking_message(), problems)
        rows = np.flatnonzero(check.predictable)
        answer = self.predict_frame(check.X.iloc[rows]) if len(rows) else {"predictions": []}
        n = check.n_rows
        out = {"rows": n, "predicted": len(rows), "summary": check.summary(), "problems": problems,
               "notes": check.row_notes, "predictions": [None] * n}
        for i, value in zip(rows, answer["predictions"]):
            out["predictions"][i] = value
        if self.task == "classification":
            out["classes"] = self.classes
            out["probabilities"] = [None] * n
            for i, value in zip(rows, answer.get("probabilities", [])):
                out["probabilities"][i] = value
        if reasons and len(rows):
            if self._engine is None:
                self._engine = reason_engine(model.pipeline, model.X_train, model.contract.task, model.contract.target)
            found = explain_reasons(self._engine, check.X.iloc[rows], model.X_train, model.contract,
                                    model.words[1])
            out["reasons"] = [[] for _ in range(n)]
            for i, words in zip(rows, found):
                out["reasons"][i] = [w for w in words if w]
            out["reasons_model"] = "the run's original model (SHAP)"
        return out


class BatchRefused(ModelDeckError):
    """The batch's columns do not fit the model: the message and every problem found."""

    def __init__(self, message: str, problems: list[dict]):
        super().__init__(message)
        self.problems = problems


def _imputes_numbers(prep) -> bool:
    numeric = dict((name, trans) for name, trans, _cols in prep.transformers_).get("num")
    return numeric is not None and "impute" in getattr(numeric, "named_steps", {})


def _export_original(pipeline, folder: Path) -> tuple[Path, str]:
    """Export the run's model on the fly when it has not been compressed yet: (ONNX file, output kind)."""
    model = pipeline.named_steps["model"]
    n_in = int(getattr(model, "n_features_in_", 0))
    task = "classification" if hasattr(model, "classes_") else "regression"
    is_net = hasattr(model, "net_")
    path = export_torch(model.net_, n_in, folder / "original.onnx") if is_net else \
        export_sklearn(model, n_in, folder / "original.onnx")
    return path, output_kind(task, scaled=is_net)


def load_served(run_id: str, variant: str | None = None, threads: int = 1, store=None) -> ServedModel:
    """Everything needed to serve one variant of a run (the default is the model as trained, through ONNX Runtime)."""
    from core.runs import RunStore

    store = store or RunStore()
    run = store.get(run_id)
    if run.status != "done":
        raise ModelDeckError(f"Run '{run_id}' is {run.status}; only finished runs can be served.")
    pipeline = store.load_model(run_id)
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    info_path = compress_folder(run_id, store) / SERVING_FILE
    info = json.loads(info_path.read_text()) if info_path.exists() else {"variants": {}}
    available = info["variants"]
    if variant is None:
        variant = next((v for v in DEFAULT_VARIANTS if v in available), None)
    if variant is None:
        path, output = _export_original(pipeline, store.folder(run_id) / "serve")
        variant = "original (ONNX Runtime)"
    elif variant in available:
        path = artifact_path(run_id, available[variant]["file"], store)
        output = available[variant]["output"]
    else:
        names = ", ".join(available) or "none yet (compress the run on the Compress page first)"
        raise ModelDeckError(f"Variant '{variant}' has no ONNX file for run '{run_id}'. Servable variants: {names}.")
    from core.data import PrepOptions, load_dataset, split_dataset
    run_model = run_model_from(run, pipeline, split_dataset(load_dataset(run.dataset_key),
                                                            PrepOptions.from_dict(run.prep)))
    contract = run_model.contract
    classes = [str(c) for c in model.classes_] if hasattr(model, "classes_") else None
    return ServedModel(run_id, variant, prep, contract.numeric, contract.categorical, list(prep.feature_names_in_),
                       OnnxModel(path, threads), output, run.task or "classification", classes,
                       float(np.ravel(getattr(model, "y_mean_", [0.0]))[0]),
                       float(np.ravel(getattr(model, "y_scale_", [1.0]))[0]), _imputes_numbers(prep), run_model)


def create_app(served: ServedModel):
    """The FastAPI application serving one model."""
    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel, Field

    class PredictRequest(BaseModel):
        instances: list[list[float | int | str | None]] = Field(
            ..., description=f"Rows of raw feature values in this order: {', '.join(served.features)}.",
            examples=[[[0.0] * len(served.features)]])

    app = FastAPI(title="ModelDeck prediction server",
                  description=f"Run {served.run_id}, variant '{served.variant}', through ONNX Runtime. "
                              f"Features ({len(served.features)}): {', '.join(served.features)}.")
    lock = threading.Lock()   # one ONNX Runtime session with a fixed thread count

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "run": served.run_id, "variant": served.variant, "task": served.task,
                "features": served.features, "classes": served.classes}

    def predict(request) -> dict:
        """Predict a batch of rows (each row: raw feature values in the order shown above)."""
        try:
            with lock:
                return served.predict(request.instances)
        except ModelDeckError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None

    predict.__annotations__ = {"request": PredictRequest, "return": dict}   # a local class: no forward ref
    app.post("/predict")(predict)
    _add_batch_endpoints(app, served, lock)
    return app


def _add_batch_endpoints(app, served: ServedModel, lock: threading.Lock) -> None:
    """POST /predict/batch (JSON objects keyed by column) and POST /predict/csv (a CSV body): the page's batch."""
    from fastapi import HTTPException, Request
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, Field

    class BatchRequest(BaseModel):
        rows: list[dict[str, float | int | str | None]] = Field(
            ..., description=f"New rows keyed by column name; the model's columns: {', '.join(served.features)}. "
                             "Other columns are ignored; renamed columns and category spellings are matched.")
        reasons: bool = Field(False, description="add the top three reasons per row (SHAP; slower)")

    def answer(frame: pd.DataFrame, reasons: bool):
        try:
            with lock:
                return served.predict_table(frame, reasons)
        except BatchRefused as exc:
            return JSONResponse(status_code=422, content={"detail": str(exc), "problems": exc.problems})
        except ModelDeckError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None

    def batch(request) -> dict:
        """Predict rows given as objects keyed by column name, after the schema check of the Predict page."""
        if not request.rows:
            raise HTTPException(status_code=422, detail="'rows' is empty: send at least one row.")
        return answer(pd.DataFrame(request.rows), request.reasons)

    batch.__annotations__ = {"request": BatchRequest, "return": dict}
    app.post("/predict/batch")(batch)

    async def batch_csv(request, reasons=False):
        """Predict the rows of a CSV file sent as the request body (Content-Type: text/csv)."""
        from core.data import read_csv
        try:
            frame = read_csv(await request.body(), "request body").frame
        except ModelDeckError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        return answer(frame, reasons)

    batch_csv.__annotations__ = {"request": Request, "reasons": bool}
    app.post("/predict/csv")(batch_csv)
