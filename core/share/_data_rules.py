"""Advisor rules about what the model reads and how it was chosen: an identifier or near-unique column used as an
input, a many-valued category spread over one 0/1 column per value, class labels that are bare codes, a better
model on the leaderboard than the one being read. Each reads evidence `evidence_for` / `run_evidence` gathered
(`Evidence.risky_inputs`, `.wide_one_hot`, `.class_counts`, `.leaderboard`) and says what it saw, with numbers.
"""
from __future__ import annotations

from core.share._advice import Advice, Evidence, worst_column


def identifier_input(ev: Evidence) -> Advice | None:
    """A column that names rows rather than describing them is a model input."""
    if not ev.risky_inputs:
        return None
    column, why = next(iter(ev.risky_inputs.items()))
    others = len(ev.risky_inputs) - 1
    more = f" (and {others} more: {', '.join(list(ev.risky_inputs)[1:4])})" if others else ""
    return Advice("identifier_input", "warning",
                  f"'{column}' is used as a model input but it is {why}{more}.",
                  f"Leave '{column}' out on the Data page (Columns tab): a model that learns row labels scores well "
                  "on the rows it saw and no better than chance on new ones.",
                  {"column": column, "why": why, "columns": len(ev.risky_inputs)}, "Data → Columns")


def high_cardinality(ev: Evidence, limit: int = 15) -> Advice | None:
    """A category with many values is one-hot encoded into as many columns."""
    worst = worst_column(ev.wide_one_hot, lambda values: values > limit)
    if worst is None:
        return None
    column, values = worst
    wide = [c for c, n in ev.wide_one_hot.items() if n > limit]
    return Advice("high_cardinality", "warning",
                  f"'{column}' has {values:,} different values and each became its own 0/1 input column; "
                  "most of them occur in a handful of rows.",
                  f"Use the encoder rule for '{column}' on the Data page: the commonest values one-hot and the rest "
                  "grouped, or cross-fitted target encoding.",
                  {"column": column, "values": values, "wide_columns": len(wide)}, "Data → Columns")


def bare_code_labels(ev: Evidence) -> Advice | None:
    """Class labels like 0/1 (or small integers) say nothing to a reader: ask for their names once. Quiet once
    every class has a name (given on the Data page, stored with the data set's labels)."""
    from core.data import bare_codes
    if ev.task != "classification" or not ev.class_counts or not bare_codes(ev.class_counts):
        return None
    labels = sorted((str(label) for label in ev.class_counts), key=float)
    unnamed = [label for label in labels if label not in (ev.class_names or {})]
    if not unnamed:
        return None
    shown = ", ".join(f"'{label}'" for label in unnamed[:5])
    return Advice("bare_code_labels", "info",
                  f"The classes are bare codes without names ({shown}): every sentence and chart will say "
                  f"'{unnamed[0]}' where a reader needs a word.",
                  "Name the classes once on the Data page (e.g. 0 → 'died', 1 → 'survived'): the confusion matrix, "
                  "the scores per class, the story and the predictions then say the names.",
                  {"classes": len(labels), "unnamed": len(unnamed), "labels": shown}, "Data → Class names")


def better_model_available(ev: Evidence, margin: float = 0.01) -> Advice | None:
    """Another model trained alongside this one has a clearly better cross-validated score."""
    board, report = ev.leaderboard, ev.report
    if not board or report is None or report.primary not in report.cv:
        return None
    lower = report.primary in ("mae", "rmse")
    mine = report.cv[report.primary][0]
    best = min(board, key=lambda r: r["cv_mean"]) if lower else max(board, key=lambda r: r["cv_mean"])
    gain = (mine - best["cv_mean"]) if lower else (best["cv_mean"] - mine)
    if gain <= margin:
        return None
    name = report.primary.replace("_", " ")
    return Advice("better_model_available", "warning",
                  f"'{best['title']}' from the same leaderboard scores {best['cv_mean']:.3f} {name} in cross-validation "
                  f"against {mine:.3f} for this model.",
                  f"Read and ship '{best['title']}' (run {best['run']}), unless this model is needed for its size or "
                  "speed.", {"better_run": best["run"], "better_cv": round(best["cv_mean"], 4),
                             "this_cv": round(mine, 4)}, "Train → Leaderboard")


# ---------------------------------------------------------------- the evidence these rules read
def column_evidence(dataset, prep) -> tuple[dict[str, str], dict[str, int]]:
    """(input columns that name rows -> why, one-hot input columns -> their number of values) under `prep`'s plan.

    Checks the values themselves, whatever type the column was stored with, so runs and uploads typed by older
    rules are read the same way."""
    from core.data import column_plan, free_text, integer_identifier, near_unique
    risky, wide = {}, {}
    for fate in column_plan(dataset, prep):
        if not fate.used:
            continue
        series = dataset.frame[fate.column]
        if fate.kind == "identifier":
            risky[fate.column] = "an identifier (unique or nearly unique per row)"
        elif fate.use == "numeric" and (why := integer_identifier(series)):
            risky[fate.column] = f"an identifier: {why}"
        elif fate.use != "numeric" and near_unique(series):
            filled = series.dropna()
            risky[fate.column] = (f"a near-unique code ({filled.nunique():,} distinct values in {len(filled):,} "
                                  "filled rows)")
        elif fate.use != "numeric" and free_text(series):
            risky[fate.column] = "free text"
        if fate.use == "one_hot":
            wide[fate.column] = fate.distinct
    return risky, wide


def leaderboard_evidence(run, store) -> list[dict] | None:
    """The other finished runs of the leaderboard `run` was trained in, with their cross-validated primary score."""
    if not run.group_id:
        return None
    board = []
    for other in store.list():
        if other.group_id != run.group_id or other.id == run.id or other.status != "done" or not other.metrics:
            continue
        primary = other.metrics.get("primary")
        mean = (other.metrics.get("cv") or {}).get(primary)
        if mean:
            board.append({"run": other.id, "title": other.model_title, "cv_mean": float(mean[0])})
    return board or None


DATA_RULES = (identifier_input, high_cardinality, bare_code_labels, better_model_available)
