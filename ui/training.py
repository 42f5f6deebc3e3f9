"""Streamlit views shared by the Train and Home pages: train with live progress, save runs, show results."""
from __future__ import annotations

import json

import streamlit as st

from core.train import charts as charts_train
from core.models import OPTIMIZER_TITLES, ModelSpec
from core.data import PrepOptions
from ui._shelf import shelf as shelf_named
from ui.data import dataset as cached_dataset
from ui.runs import require_write, run_store
from ui.common import caption, chart, current_run, LiveProgress, select, to_json, user_errors


def estimate_seconds(dataset, spec: ModelSpec, cv_folds: int) -> float:
    """A rough guess of training time on 2 CPU cores, to decide whether to run in the background."""
    rows, cols = dataset.frame.shape
    fits = 1 + max(cv_folds, 0)
    if spec.family == "mlp":
        width = sum(spec.params["hidden"])
        return fits * spec.params["epochs"] * rows * (cols + width) / 4e7
    if spec.family == "svm":
        return fits * (rows / 4000) ** 2 * 3
    return fits * rows * cols / 2e6


def trained_for(dataset, spec: ModelSpec, prep: PrepOptions, cv_folds: int, progress=None):
    with user_errors():
        return trained_model(dataset.key, dataset.fingerprint, spec.to_json(), to_json(prep.to_dict()),
                                   cv_folds, progress=progress)


def _save_run(dataset, trained, group_id: str | None = None):
    """Save a run once per (data, spec, preprocessing, folds) in this session; return it."""
    from core.runs import save_trained
    saved = st.session_state.setdefault("_saved_runs", {})
    key = (dataset.key, trained.spec.to_json(), to_json(trained.prep.to_dict()), len(trained.report.cv) > 0)
    store = run_store()
    if key in saved:
        try:
            return store.get(saved[key])
        except Exception:  # noqa: BLE001 - deleted since: save again
            pass
    run = save_trained(require_write(), trained, dataset.name, group_id=group_id)   # the run is this user's
    saved[key] = run.id
    return run


def train_and_save(dataset, spec: ModelSpec, prep: PrepOptions, cv_folds: int):
    with user_errors():
        require_write()          # a read-only session is told before anything is trained
    title = spec.title(dataset.task)
    with st.status(f"Training {title}…", expanded=True) as status:
        curve = charts_train.loss_curve_figure if spec.family in ("mlp", "cnn") else None
        progress = LiveProgress(f"Training {title}", chart=curve)
        trained = trained_for(dataset, spec, prep, cv_folds, progress)
        progress.done()
        run = _save_run(dataset, trained)
        status.update(label=f"{title} trained in {trained.total_seconds:.1f} s (fit {trained.fit_seconds:.1f} s"
                            f"{', plus cross-validation' if trained.report.cv else ''}) — saved as run {run.id}",
                      state="complete", expanded=False)
    select("run", run.id)
    return trained, run


def show_result(trained) -> None:
    report = trained.report
    primary = report.primary
    pct = primary != "r2" and report.task == "classification"
    c1, c2, c3, c4 = st.columns(4)
    if primary in report.cv:
        mean, std = report.cv[primary]
        c1.metric(f"Cross-validated {primary.replace('_', ' ')}", f"{mean:.1%} ± {std:.1%}" if pct else
                  f"{mean:.3f} ± {std:.3f}", help="Mean ± std over the folds of the training rows.")
    value = f"{report.test[primary]:.1%}" if pct else f"{report.test[primary]:.3f}"
    c2.metric(f"Test {primary.replace('_', ' ')} (measured once)", value,
              help="Bootstrap 95% interval over the test rows: " + report.interval_text())
    c3.metric("Fit time", f"{trained.fit_seconds:.2f} s")
    c4.metric("Model size", f"{trained.size_bytes / 1024:,.0f} KB")
    caption(report.headline())
    caption(report.test_label())
    warning = report.overfitting_sentence()
    if warning:
        st.warning(warning)
    if trained.history:
        chart(charts_train.loss_curve_figure(trained.history, f"{trained.title}: loss per epoch"))
        caption(curve_sentence(trained.history))
    st.page_link("pages/metrics.py", label="See the full metric report →", icon=":material/insights:")


def curve_sentence(history: list[dict]) -> str:
    """What the loss curve shows: the epoch of the best validation loss, or, when no rows were held out for
    validation, that the curve is the training loss only."""
    validated = [h for h in history if h.get("val_loss") is not None]
    if validated:
        best = min(validated, key=lambda h: h["val_loss"])
        return f"Trained {len(history)} epochs; the best validation loss came at epoch {best['epoch']}."
    return (f"Trained {len(history)} epochs on every training row: no rows were held out for validation, so the "
            "curve is the training loss only (set 'Rows held out for early stopping' above 0 to watch a validation "
            "loss; cross-validation scores, when computed, show whether it memorised).")


@st.fragment(run_every=1.0)
def _poll_run() -> None:
    run = current_run()
    if run is None:
        return
    if run.status in ("queued", "running"):
        st.progress(run.progress, text=f"Background run {run.id}: {run.message or run.status}")
        if run.history:
            chart(charts_train.loss_curve_figure(run.history, "Live training curves"), key="bg_curve")
    elif run.status == "done" and st.session_state.get("_bg_watch") == run.id:
        st.success(f"Background run {run.id} finished: {run.name}.")
        st.page_link("pages/metrics.py", label="See its metric report →", icon=":material/insights:")
    elif run.status == "failed" and st.session_state.get("_bg_watch") == run.id:
        st.error(f"Background run {run.id} failed: {run.error}")


def background_panel() -> None:
    """Poll the current run while a background job trains it (the page stays responsive)."""
    run = current_run()
    if run is not None and run.status in ("queued", "running"):
        st.session_state["_bg_watch"] = run.id
    if st.session_state.get("_bg_watch"):
        _poll_run()


def train_controls(dataset, spec: ModelSpec, prep: PrepOptions, cv_folds: int, *, estimate: float, key: str,
                   processes: int = 1, note: str = "") -> None:
    """The background choice, the Train button (here with live curves, or as a background job), the job panel and
    the last result trained here. `key` prefixes the widgets ("train" → `train_go`, `train_bg_<family>`)."""
    background = st.checkbox("Run in the background (you can leave this page)", value=estimate > 60,
                             key=f"{key}_bg_{spec.family}",
                             help=f"Estimated time: about {estimate:,.0f} s. Jobs over a minute run in the background"
                                  f"{note}.")
    if st.button("Train", type="primary", key=f"{key}_go"):
        if background or processes > 1:
            with user_errors():
                run = start_training_job(dataset, spec, prep, processes=processes)
            select("run", run.id)
            st.rerun()
        else:
            train_and_save(dataset, spec, prep, cv_folds)
            st.session_state[f"{key}_last"] = (dataset.key, spec.to_json(), to_json(prep.to_dict()), cv_folds)
    background_panel()
    last = st.session_state.get(f"{key}_last")
    if last and last[0] == dataset.key:
        show_result(trained_for(dataset, ModelSpec.from_json(last[1]), PrepOptions.from_dict(json.loads(last[2])),
                                last[3]))


# ---------------------------------------------------------------- leaderboard (a background job)
def train_leaderboard(dataset, families: list[str], prep: PrepOptions, cv_folds: int = 5,
                      budget_seconds: float | None = None):
    """Start the leaderboard as a background job (core.jobs 'leaderboard'): the models train across the cores in
    their own process, each finished one saved as a run of this user; the page follows it (`leaderboard_view`)."""
    from ui.jobs import start_job
    with user_errors():
        return start_job("leaderboard", dataset.key, {
            "dataset_key": dataset.key, "families": list(families), "prep": prep.to_dict(), "cv_folds": cv_folds,
            "budget_seconds": budget_seconds})


@st.cache_resource(max_entries=64, show_spinner=False)
def stored_model(run_id: str, version: str):
    """A finished run as its TrainedModel, read from the store (shared, read-only)."""
    from core.train import load_trained
    return load_trained(run_store(), run_id)


def leaderboard_view(dataset, metric: str) -> None:
    """This user's newest leaderboard on this data set: its progress while it trains (a Cancel button), then the
    ranking read from the runs it saved — also after the tab was closed and reopened."""
    from ui.jobs import job_panel, latest_job
    job = job_panel(latest_job("leaderboard", dataset.key), "Leaderboard", "board")
    if job is None:
        return
    result = job.result or {}
    if st.session_state.get("_board_seen") != job.id:     # the first time it is seen done: open the chosen run
        st.session_state["_board_seen"] = job.id
        st.session_state["board_pick"] = True
    show_leaderboard(result, metric)


def show_leaderboard(result: dict, metric: str) -> None:
    """The leaderboard job's result: what the budget cut, the time it took, the ranking and the chosen model."""
    from core.train import choose_best, leaderboard_sentence, leaderboard_table
    if result.get("cut"):
        st.warning(result["cut"], icon=":material/timer_off:")
    if result.get("said"):
        caption(result["said"])
    store = run_store()
    with user_errors():
        runs = [store.get(run_id) for run_id in result.get("run_ids", [])]
        models = [stored_model(run.id, run.updated_at.isoformat()) for run in runs]
    if not models:
        return
    with user_errors():
        table = leaderboard_table(models, metric)
    if st.session_state.pop("board_pick", False):
        best, _rule = choose_best(models)
        select("run", runs[models.index(best)].id)
    percent = metric not in ("mae", "rmse", "r2")
    chart(charts_train.leaderboard_figure(table, metric, percent=percent))
    caption(f"Chosen: {leaderboard_sentence(models, metric)} The other models were ranked on cross-validation only, "
            "so their test scores are not shown: comparing them on the test rows would make the winner's score "
            "optimistic.")
    fmt = "{:.1%}" if percent else "{:.3f}"
    shown = table.drop(columns=["test_low", "test_high"]).assign(
        test=[fmt.format(v) if chosen else "—" for v, chosen in zip(table["test"], table["chosen"])])
    st.dataframe(shown.style.format({"cv_mean": fmt, "cv_std": fmt, "fit_s": "{:.2f}", "predict_ms_per_row": "{:.4f}",
                                     "size_kb": "{:,.0f}"}),
                 hide_index=True, column_config={
                     "cv_mean": "CV mean", "cv_std": "CV ± std", "test": "test (chosen only)", "fit_s": "fit (s)",
                     "predict_ms_per_row": "predict (ms/row)", "size_kb": "size (KB)",
                     "in_plain_words": st.column_config.TextColumn("in plain words (held-out training rows)",
                                                                   width="large")})


# ---------------------------------------------------------------- optimizers (a background job)
def compare_optimizers_job(dataset, base: ModelSpec, prep: PrepOptions, optimizers: list[str]):
    """Start the optimizer comparison as a background job (core.jobs 'optimizers')."""
    from ui.jobs import start_job
    with user_errors():
        return start_job("optimizers", dataset.key, {"dataset_key": dataset.key, "base_json": base.to_json(),
                                                     "prep": prep.to_dict(), "optimizers": list(optimizers)})


def optimizer_view(dataset) -> None:
    """This user's newest optimizer comparison on this data set: progress, then curves and table from its result."""
    from ui.jobs import job_panel, latest_job
    job = job_panel(latest_job("optimizers", dataset.key), "Optimizer comparison", "opt")
    if job is not None:
        show_optimizer_comparison(dataset, job.result or {})


def show_optimizer_comparison(dataset, result: dict) -> None:
    import pandas as pd
    histories = result.get("histories", {})
    if not histories:
        return
    curves = {OPTIMIZER_TITLES[name]: history for name, history in histories.items()}
    has_val = any(h.get("val_loss") is not None for history in curves.values() for h in history)
    chart(charts_train.optimizer_curves_figure(curves, "val_loss" if has_val else "train_loss"))
    table = pd.DataFrame(result["table"]).astype({"final_train_loss": float, "best_val_loss": float})
    st.dataframe(table.style.format({"final_train_loss": "{:.4f}", "best_val_loss": "{:.4f}",
                                     "test_score": "{:.1%}" if dataset.task == "classification" else "{:.3f}",
                                     "fit_s": "{:.2f}"}), hide_index=True)
    best = table.sort_values("best_val_loss" if has_val else "final_train_loss").iloc[0]
    spread = table["test_score"].max() - table["test_score"].min()
    caption(f"{best['optimizer']} reached the lowest loss. The test scores differ by "
               f"{spread * 100:.1f} points between the best and the worst optimizer"
               f"{' — on this data the choice barely matters' if spread < 0.01 else ''}.")


# ---------------------------------------------------------------- caching and the background job
def trained_model(key: str, fingerprint: str, spec_json: str, prep_json: str, cv_folds: int, progress=None):
    """Train (or reuse) a model keyed by data fingerprint + spec + preprocessing; shared and read-only."""
    from core.models import ModelSpec
    from core.train import train_model
    cache_key = (key, fingerprint, spec_json, prep_json, cv_folds)
    shelf = shelf_named("models", 32)
    model = shelf.get(cache_key)
    if model is None:
        model = train_model(cached_dataset(key), ModelSpec.from_json(spec_json), PrepOptions.from_dict(json.loads(prep_json)),
                            cv_folds=cv_folds, progress=progress)
        shelf.put(cache_key, model)
    return model




def start_training_job(dataset, spec: ModelSpec, prep: PrepOptions, processes: int = 1):
    """Queue a run and train it in a background process that outlives the page (after the permission check); with
    `processes` > 1, that many processes train it together through torchrun."""
    from core.train import check_processes, queue_run, start_background
    check_processes(spec, dataset.task, processes)
    store = require_write()          # acting for this user: the queued run is theirs
    name = f"{spec.title(dataset.task)} on {dataset.name} ({processes} processes)" if processes > 1 else None
    run = queue_run(store, dataset, spec, prep, name=name)
    store.mark_running(run.id, start_background(run.id, processes=processes))
    return run


def processes_picker(dataset, family_key: str) -> int:
    """How many processes train the network together (torchrun + DistributedDataParallel); 1 for other models."""
    import os

    from core.train import trains_distributed
    cores = os.cpu_count() or 1
    if cores < 2 or not trains_distributed(family_key, dataset.task):
        return 1
    with st.columns([1, 2])[0]:
        processes = int(st.number_input(
            "Processes training together", min_value=1, max_value=cores, value=1, step=1, key="train_processes",
            persist_state="session",
            help="More than 1: torchrun starts this many processes on this machine and they train one network "
                 "together (PyTorch DistributedDataParallel), each on an equal share of every batch; the batch size is "
                 "the total, so it must split evenly. It pays off on large data sets; on small ones one process is "
                 f"faster. This machine has {cores} cores."))
    if processes > 1:
        caption(f"{processes} processes train in the background through torchrun; you can leave this page.")
    return processes
