"""Streamlit views shared by the Train and Home pages: train with live progress, save runs, show results."""
from __future__ import annotations

import json
import uuid

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
        best = min(trained.history, key=lambda h: h["val_loss"] if h.get("val_loss") is not None else h["train_loss"])
        caption(f"Trained {len(trained.history)} epochs; the best validation loss came at epoch {best['epoch']}.")
    st.page_link("pages/metrics.py", label="See the full metric report →", icon=":material/insights:")


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


# ---------------------------------------------------------------- leaderboard
def _leaderboard_specs(dataset, families: list[str], prep: PrepOptions) -> list[ModelSpec]:
    return [ModelSpec.create(f, seed=prep.seed) for f in families]


def train_leaderboard(dataset, families: list[str], prep: PrepOptions, cv_folds: int = 5,
                      budget_seconds: float | None = None) -> list:
    with user_errors():
        require_write()          # a read-only session is told before anything is trained
    specs = _leaderboard_specs(dataset, families, prep)
    group = uuid.uuid4().hex[:10]
    with st.status(f"Training {len(specs)} models…", expanded=True) as status:
        bar = st.progress(0.0)
        models, notes = _board_models(dataset, specs, prep, cv_folds, budget_seconds,
                                      lambda f, m, *_: bar.progress(min(f, 1.0), text=m))
        runs = [_save_run(dataset, trained, group_id=group) for trained in models]
        status.update(label=f"{len(models)} of {len(specs)} models trained and saved as runs",
                      state="complete" if len(models) == len(specs) else "error", expanded=False)
    # what the page shows from now on: the models that finished, and what the budget cut
    st.session_state["board"] = (dataset.key, tuple(m.spec.family for m in models), to_json(prep.to_dict()))
    st.session_state["board_notes"] = notes
    if models:
        from core.train import choose_best
        best, _rule = choose_best(models)
        select("run", runs[models.index(best)].id)
    return models


def warm_leaderboard() -> None:
    """When the Leaderboard tab opens, start the training workers (each imports its libraries once, a few
    seconds), so the leaderboard the user is about to train does not wait for them."""
    if st.session_state.get("train_tab") == "Leaderboard":
        from core.train import warm_workers
        warm_workers()


def _board_models(dataset, specs: list[ModelSpec], prep: PrepOptions, cv_folds: int, budget_seconds: float | None,
                  progress) -> tuple[list, tuple[str, str]]:
    """The leaderboard's models: those this server already trained come from the shelf, the others are trained
    across the cores within the budget (and shelved). → (finished models in the order asked, (time, cut) words)."""
    from core.train import train_board
    prep_json = to_json(prep.to_dict())
    shelf = shelf_named("models", 32)
    keys = [(dataset.key, dataset.fingerprint, s.to_json(), prep_json, cv_folds) for s in specs]
    found = {i: shelf.get(k) for i, k in enumerate(keys)}
    missing = [i for i, m in found.items() if m is None]
    with user_errors():
        board = train_board(dataset, [specs[i] for i in missing], prep, cv_folds, progress,
                            budget_seconds=budget_seconds) if missing else None
    for trained in board.models if board else []:
        i = next(i for i in missing if specs[i] == trained.spec)
        shelf.put(keys[i], trained)
        found[i] = trained
    models = [found[i] for i in range(len(specs)) if found[i] is not None]
    reused = len(specs) - len(missing)
    said = board.time_sentence() if board else ""
    if reused:
        said += f" {reused} model{'s were' if reused > 1 else ' was'} already trained in this session and reused."
    return models, (said.strip(), board.cut_sentence() if board else "")


def show_leaderboard(dataset, families: list[str], prep: PrepOptions, metric: str, cv_folds: int = 5) -> None:
    from core.train import leaderboard_sentence, leaderboard_table
    said, cut = st.session_state.get("board_notes", ("", ""))
    if cut:
        st.warning(cut, icon=":material/timer_off:")
    if said:
        caption(said)
    if not families:
        return
    models = [trained_for(dataset, spec, prep, cv_folds) for spec in _leaderboard_specs(dataset, families, prep)]
    with user_errors():
        table = leaderboard_table(models, metric)
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


# ---------------------------------------------------------------- optimizers
def show_optimizer_comparison(dataset, base: ModelSpec, prep: PrepOptions, optimizers: list[str]) -> None:
    from core.train import optimizer_table
    specs = [ModelSpec.create("mlp", seed=base.seed, **(base.params | {"optimizer": o})) for o in optimizers]
    bar = st.progress(0.0, text="Training with each optimizer")
    models = []
    for i, spec in enumerate(specs):
        name = OPTIMIZER_TITLES[spec.params["optimizer"]]
        models.append(trained_for(dataset, spec, prep, 0, lambda f, m, h=None, i=i, n=name: bar.progress(
            min((i + f) / len(specs), 1.0), text=f"{n}: {m}")))
    bar.empty()
    curves = {OPTIMIZER_TITLES[m.spec.params["optimizer"]]: m.history for m in models}
    has_val = any(h.get("val_loss") is not None for m in models for h in m.history)
    chart(charts_train.optimizer_curves_figure(curves, "val_loss" if has_val else "train_loss"))
    table = optimizer_table(models)
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
