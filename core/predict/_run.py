"""A saved run, ready to predict new rows: its pipeline, its training rows and the contract read from them.

`load_run_model(run_id)` is what the command line and the prediction server use (the pages cache the same pieces
through ui); `predict_csv` reads an uploaded file, checks it and predicts it in one call.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.common import ModelDeckError, Progress
from core.data import read_csv
from core.explain import entity_words
from core.predict._batch import BatchResult, predict_batch, reason_engine
from core.predict._contract import Contract, build_contract
from core.predict._drift import DriftReport, drift_report
from core.predict._schema import SchemaCheck, check_schema


@dataclass
class RunModel:
    """What predicting with a run needs."""

    run_id: str
    dataset_key: str
    pipeline: object
    X_train: pd.DataFrame
    contract: Contract

    @property
    def words(self) -> tuple[str, str]:
        return entity_words(self.dataset_key)


def run_model_from(run, pipeline, split) -> RunModel:
    """A RunModel from pieces already loaded (the pages keep them cached)."""
    if run.status != "done":
        raise ModelDeckError(f"Run '{run.id}' is {run.status}; predictions need a finished run.")
    if run.kind == "recommender":
        raise ModelDeckError("This run is a recommender; open it on the Recommend page. Predictions on new rows "
                             "need a classification or regression run.")
    contract = build_contract(pipeline, split.X_train, str(split.y_train.name), run.task or "classification")
    return RunModel(run.id, run.dataset_key, pipeline, split.X_train, contract)


def load_run_model(run_id: str, store=None) -> RunModel:
    """Load a finished run's pipeline and training rows (the exact split it was trained on)."""
    from core.data import PrepOptions, load_dataset, split_dataset
    from core.runs import RunStore
    store = store or RunStore()
    run = store.get(run_id)
    if run.status != "done":
        raise ModelDeckError(f"Run '{run.id}' is {run.status}; predictions need a finished run.")
    split = split_dataset(load_dataset(run.dataset_key), PrepOptions.from_dict(run.prep))
    return run_model_from(run, store.load_model(run_id), split)


def predict_csv(model: RunModel, data: bytes, filename: str = "new rows.csv", reasons: bool = True,
                max_reason_rows: int | None = None, progress: Progress | None = None) -> BatchResult:
    """Read, check and predict an uploaded CSV; raises ModelDeckError with every blocking problem."""
    check = check_schema(read_csv(data, filename).frame, model.contract)
    check.raise_if_blocked()
    engine = reason_engine(model.pipeline, model.X_train, model.contract.task, model.contract.target) \
        if reasons else None
    return predict_batch(model.pipeline, check, model.contract, engine=engine, X_train=model.X_train,
                         plural=model.words[1], max_reason_rows=max_reason_rows, progress=progress)


def drift_of(model: RunModel, check: SchemaCheck) -> DriftReport:
    """Drift of the checked rows against the run's training rows, on every model column the file holds readably."""
    usable = set(model.contract.features) - set(check.unusable_columns)
    numeric = [c for c in model.contract.numeric if c in usable]
    categorical = [c for c in model.contract.categorical if c in usable]
    if not numeric and not categorical:
        raise ModelDeckError("None of the model's columns can be read from this file, so there is nothing to compare "
                             "with the training rows. Fix the problems listed and upload again.")
    report = drift_report(model.X_train, check.X, numeric, categorical)
    if model.contract.dates:
        report.notes.append(f"Date columns ({', '.join(model.contract.dates)}) are left out: new rows are newer by "
                            "nature.")
    return report
