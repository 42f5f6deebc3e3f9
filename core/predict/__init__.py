"""Using a model: predictions on new rows with their reasons, and whether new rows still look like the training rows.

- The contract: `build_contract(pipeline, X_train, target, task)` reads what a run's model was trained on
  (`Contract`: columns, kinds, categories seen, ranges, what is filled in).
- The schema check: `check_schema(frame, contract)` matches and reads uploaded rows and returns a `SchemaCheck`
  with one `Problem` per difference (missing, renamed, extra, wrong type, empty cells, unseen categories, values
  outside the training range), each saying what is done about it.
- Predictions: `predict_batch` gives a `BatchResult` (labels and class probabilities from the run's own pipeline, or
  values, and the top three reasons per row in words from SHAP: `reason_engine`, `explain_reasons`); `load_run_model` /
  `run_model_from` give a `RunModel`, and `predict_csv` reads, checks and predicts a CSV in one call.
- A safe download: `to_safe_csv` / `safe_frame` / `neutralise` make text cells a spreadsheet would run as formulas
  inert.
- Drift: `drift_report(reference, new, numeric, categorical)` → `DriftReport` of `ColumnDrift` (PSI and a KS or
  chi-square test per column with the sample sizes; flagged only when the Holm-corrected test and the PSI agree);
  `drift_of(run_model, check)` compares checked rows with the run's training rows; `save_drift_check` /
  `load_drift_check` keep the latest check in the run's folder for the model card.
- Figures: `core.predict.charts`; the `predict` and `drift` commands: `core.predict._cli`.
"""
from core.predict._batch import AGNOSTIC_REASON_ROWS, BatchResult, explain_reasons, predict_batch, reason_engine
from core.predict._contract import Contract, build_contract
from core.predict._drift import (ALPHA, MIN_PSI, ColumnDrift, DriftReport, drift_report, holm, load_drift_check, psi,
                                 save_drift_check)
from core.predict._export import FORMULA_STARTS, neutralise, safe_frame, to_safe_csv
from core.predict._run import RunModel, drift_of, load_run_model, predict_csv, run_model_from
from core.predict._schema import Problem, SchemaCheck, check_schema

__all__ = [
    # what the model was trained on, and checking new rows against it
    "Contract", "build_contract", "Problem", "SchemaCheck", "check_schema",
    # predictions with reasons
    "AGNOSTIC_REASON_ROWS", "BatchResult", "predict_batch", "reason_engine", "explain_reasons", "RunModel", "load_run_model",
    "run_model_from", "predict_csv", "drift_of",
    # the download
    "FORMULA_STARTS", "neutralise", "safe_frame", "to_safe_csv",
    # drift
    "ALPHA", "MIN_PSI", "ColumnDrift", "DriftReport", "drift_report", "holm", "psi", "save_drift_check",
    "load_drift_check",
]
