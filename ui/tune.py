"""Streamlit views for the Tune page: the search form, the live panel (polls the database) and the best result."""
from __future__ import annotations

import streamlit as st

from core.tune import charts as charts_tune
from core import tune
from core.models import FAMILIES, IMAGE_FAMILIES, family
from core.tune import STRATEGIES, TuneConfig, TuneStatus
from ui.common import attempt, caption, chart, to_json
from ui.jobs import jobs_of, jobs_panel
from ui.runs import in_shared_view, require_write, session_owner
from ui.training import show_result, train_and_save, trained_for

POLL_S = 2.0          # while workers run
IDLE_POLL_S = 6.0     # paused (stopped or out of time): a worker started elsewhere still shows up

SPACE_COLUMNS = {
    "setting": st.column_config.TextColumn("Setting", disabled=True, width="medium"),
    "tune": st.column_config.CheckboxColumn("Tune", help="Search over this setting; untick to use the fixed value"),
    "low": st.column_config.NumberColumn("Low", format="%.4g", help="Lowest value tried (numbers only)"),
    "high": st.column_config.NumberColumn("High", format="%.4g", help="Highest value tried (numbers only)"),
    "log": st.column_config.CheckboxColumn("Log scale", help="Spread trials evenly over orders of magnitude"),
    "choices": st.column_config.TextColumn("Choices", help="Separate choices with |, e.g. 64 | 64,32 | 128,64"),
    "fixed": st.column_config.TextColumn("Value when not tuned"),
}


# ---------------------------------------------------------------- the form
def tunable_families(dataset) -> dict:
    """The families a search can tune on this data set, the default first: the CNN for pictures (the table models
    read each pixel as a column), gradient boosting for tables."""
    from ui.images import is_image
    if is_image(dataset):
        return {**IMAGE_FAMILIES, **FAMILIES}
    return {"hist_gb": FAMILIES["hist_gb"]} | FAMILIES


def _metric_words(metric: tune.Metric) -> str:
    return f"{metric.label} ({'higher' if metric.direction == 'maximize' else 'lower'} is better)"


def search_form(dataset, prep) -> None:
    """Controls for a new search; 'Start' and 'Compare strategies' launch background workers."""
    metrics = tune.METRICS[dataset.task]
    c1, c2, c3 = st.columns(3)
    families = tunable_families(dataset)
    family_key = c1.selectbox("Model", list(families), index=0, format_func=lambda k: families[k].title[dataset.task],
                              key="tune_family", persist_state="session")
    metric = c2.selectbox("Metric to optimise", list(metrics), format_func=lambda k: _metric_words(metrics[k]),
                          key=f"tune_metric_{dataset.task}", persist_state="session")
    strategy = c3.selectbox("Strategy", list(STRATEGIES), index=list(STRATEGIES).index("tpe"),
                            format_func=STRATEGIES.get, key="tune_strategy", persist_state="session")
    c4, c5, c6, c7 = st.columns(4)
    budget = c4.number_input("Trial budget", 0, 2000, 30, key="tune_budget", persist_state="session")
    minutes = c5.number_input("Time budget (minutes, 0 = none)", 0.0, 600.0, 0.0, step=1.0, key="tune_minutes",
                              persist_state="session", help="Each worker stops starting trials after this long; "
                                                            "Resume gives it the same time again.")
    folds = c6.number_input("Cross-validation folds", 2, 10, 3, key="tune_folds", persist_state="session")
    workers = c7.number_input("Workers (processes)", 1, 8, 2, key="tune_workers", persist_state="session",
                              help="Parallel processes sharing the search through the database. "
                                   "With 1 worker, the same seed gives the same trials.")
    grid_points = 4
    if strategy == "grid":
        grid_points = st.number_input("Grid: values per numeric setting", 2, 20, 4, key="tune_grid_points",
                                      persist_state="session")
    st.markdown("**Search space** — tick what to tune; ranges and choices are editable.")
    table = st.data_editor(tune.space_table(tune.default_space(family_key)), key=f"tune_space_{family_key}",
                           column_config=SPACE_COLUMNS, column_order=list(SPACE_COLUMNS), hide_index=True)
    config = attempt(_config, dataset, prep, family_key, table, metric, strategy, budget, minutes, folds, grid_points)
    if config is not None:
        caption(_plan_sentence(config, int(workers)))
    left, right = st.columns(2)
    if left.button("Start search", type="primary", key="tune_start", disabled=config is None,
                   icon=":material/play_arrow:"):
        name = attempt(start_search, config, int(workers))
        if name:
            st.session_state["study"] = name
    if right.button("Compare grid, random and Bayesian", key="tune_compare", disabled=config is None,
                    icon=":material/compare_arrows:", help="Three searches with the same space, budget and seed, "
                                                           "one worker each, drawn on one chart."):
        started = attempt(start_comparison, config)
        if started:
            st.session_state["study"] = started[1][-1]


def start_search(config: TuneConfig, workers: int) -> str:
    """Create a search owned by this user (after the one permission check); its workers are this user's jobs."""
    store = require_write()
    name = tune.create_study(config, owner=store.owner)
    tune.start_workers(name, workers, store=store)
    return name


def start_comparison(config: TuneConfig) -> tuple[str, list[str]]:
    """Grid, random and Bayesian searches owned by this user (after the one permission check)."""
    store = require_write()
    return tune.start_comparison(config, owner=store.owner, store=store)


def resume_search(name: str, workers: int) -> list:
    """Start workers again on a stopped search: its owner only; the workers are this user's jobs."""
    return tune.resume(name, workers, store=require_write(study=name))


def _config(dataset, prep, family_key, table, metric, strategy, budget, minutes, folds, grid_points) -> TuneConfig:
    space = tune.space_from_table(family_key, table)
    config = TuneConfig(dataset.key, space, metric, strategy, int(budget), float(minutes) * 60 or None, int(folds),
                        prep, prep.seed, int(grid_points))
    return tune.check_config(config, dataset.task)


def change_study(write, name: str, *args):
    """Stop, resume or delete a search: its owner only (the one permission check)."""
    require_write(study=name)
    return write(name, *args)


def _plan_sentence(config: TuneConfig, workers: int) -> str:
    text = (f"{config.budget} trials of {len(config.space.dims)} tuned setting(s), each scored by {config.cv_folds}-fold "
            f"cross-validation on the training rows only, shared by {workers} worker(s)")
    if config.strategy == "grid":
        size = config.space.grid_size(config.grid_points)
        text += f"; the grid has {size:,} points, tried in a shuffled order"
        if size <= config.budget:
            text += " (the budget covers all of them)"
    if config.family in tune.NETWORKS:
        text += "; hopeless network trials are stopped early by a median pruner on the validation score per epoch"
    return text + "."


# ---------------------------------------------------------------- choosing a search
def choose_study(dataset) -> str | None:
    """A selectbox of this user's searches on this data set (and ownerless ones; none in a shared view), newest
    first, bound to ?study= in the URL: someone else's search is not listed, whatever the URL says."""
    studies = [] if in_shared_view() else tune.list_studies(dataset.key, visible_to=session_owner())
    if not studies:
        st.info("No search on this data set yet: set one up above and press Start.")
        return None
    labels = {s.name: s.label(dataset.task) for s in studies}
    wanted = st.session_state.get("study") or st.query_params.get("study")
    st.session_state["study"] = wanted if wanted in labels else studies[0].name
    return st.selectbox("Search", list(labels), format_func=labels.get, key="study", bind="query-params")


# ---------------------------------------------------------------- live panel
def _panel_state(status: TuneStatus, group: dict[str, TuneStatus]) -> tuple[bool, bool]:
    """(running, finished) of a search, counting every study of its comparison group."""
    running = status.active or any(s.active for s in group.values())
    return running, status.done and not running


def _group(status: TuneStatus) -> dict[str, TuneStatus]:
    return tune.group_statuses(status.group, status.config.dataset_key, session_owner()) if status.group else {}


def live_panel(name: str) -> TuneStatus | None:
    """Progress, controls and charts of a search; polls the database while it can still change."""
    status = attempt(tune.study_status, name)
    if status is None:
        return None
    running, finished = _panel_state(status, _group(status))
    every = None if finished else (POLL_S if running else IDLE_POLL_S)
    st.fragment(run_every=every)(_live_view)(name, (running, finished))
    worker_jobs(name)
    return status


def worker_jobs(name: str) -> None:
    """This user's workers on the search, each a background job: progress and Cancel while it runs (a cancelled
    worker stops after its current trial; the others go on), why it stopped if it failed."""
    jobs_panel([job for job in jobs_of("tune", name) if job.status in ("queued", "running", "failed")],
               lambda job: f"Worker {job.params.get('worker', '')} (job {job.id})", lambda job: f"tune_job_{job.id}")


def _live_view(name: str, state_at_start: tuple[bool, bool]) -> None:
    status = attempt(tune.study_status, name)
    if status is None:
        return
    group = _group(status)
    if _panel_state(status, group) != state_at_start:
        st.rerun(scope="app")     # started, paused or finished: redraw the page and change the polling rate
    _progress(status)
    _controls(status)
    if group:
        chart(charts_tune.compare_figure(group), key="tune_compare_chart")
        caption(tune.compare_sentence(group))
    _charts(status)


def _progress(status: TuneStatus) -> None:
    budget, metric, best = status.config.budget, status.metric, status.best
    st.progress(min(status.n_finished / max(budget, 1), 1.0),
                text=f"{status.n_finished} of {budget} trials" + (" — running" if status.active else ""))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Trials done", f"{status.n_finished} / {budget}",
              help=f"{status.n_complete} complete, {status.n_pruned} pruned, {status.n_failed} failed, "
                   f"{status.n_running} running now")
    c2.metric(f"Best CV {metric.label.lower()}", metric.format(best.value) if best else "–")
    c3.metric("Elapsed", tune.duration(status.elapsed_s))
    c4.metric("Workers running", status.active_workers)
    caption(status.headline())


def _controls(status: TuneStatus) -> None:
    left, right = st.columns([1, 3])
    if status.active and not status.stop_requested:
        if left.button("Stop", key="tune_stop", icon=":material/stop:"):
            attempt(change_study, tune.request_stop, status.name)
            st.rerun(scope="fragment")
    elif status.active:
        left.info("Stopping: each worker finishes its current trial, then stops.")
    elif status.n_finished < status.config.budget:
        if left.button("Resume", key="tune_resume", type="primary", icon=":material/play_arrow:"):
            attempt(resume_search, status.name, int(st.session_state.get("tune_workers", 1)))
            st.rerun(scope="app")
    middle, end = right.columns([3, 1])
    with middle.popover("Add a worker from another terminal or machine", icon=":material/terminal:"):
        caption("Any process that reaches the same database (MODELDECK_DB_URL, or this MODELDECK_HOME) can join; "
                   "its trials appear here as they finish.")
        st.code(f"python -m core tune-worker --study {status.name} --trials 10", language="bash")
    if not status.active:
        with end.popover("Delete", icon=":material/delete:"):
            caption(f"Delete the search '{status.name}' and its {len(status.trials)} trials? Runs trained from it "
                       "stay.")
            if st.button("Delete the search", key="tune_delete", type="primary"):
                attempt(change_study, tune.delete_study, status.name)
                st.rerun(scope="app")


def _charts(status: TuneStatus) -> None:
    chart(charts_tune.history_figure(status), key="tune_history")
    if len(status.complete_trials()) < 3:
        return
    figures = tune_charts(status.name, status.version)
    left, right = st.columns(2)
    with left:
        chart(figures["importance"], key="tune_importance")
        caption(tune.importance_sentence(status, figures["importances"]))
    with right:
        chart(figures["landscape"], key="tune_landscape")
        caption(tune.landscape_sentence(status, figures["importances"]))
    chart(figures["parallel"], key="tune_parallel")
    caption("One line per trial through every tuned setting; follow the best-coloured lines to see which "
               "combinations work together.")


# ---------------------------------------------------------------- the best configuration
def best_panel(status: TuneStatus, dataset) -> None:
    """The best configuration so far and a one-click 'train it as a normal run'."""
    best = status.best
    if best is None:
        return
    st.subheader("The best configuration")
    spec = status.best_spec()
    labels = {p.name: p.label for p in family(spec.family).params}
    tuned = {d.name for d in status.config.space.dims}
    st.dataframe([{"setting": labels[k], "value": tune.value_text(v), "tuned": k in tuned} for k, v in spec.params.items()],
                 hide_index=True)
    config, metric = status.config, status.metric
    caption(f"Trial {best.number} scored {metric.format(best.value)} cross-validated {metric.label.lower()} on the "
               f"training rows ({config.cv_folds} folds). Train it as a normal run to measure it on the "
               f"{config.prep.test_size:.0%} test rows the search never saw, then explain or compress it.")
    if st.button("Train the best configuration as a run", key="tune_train_best", icon=":material/model_training:",
                 type="primary" if status.done else "secondary"):
        train_and_save(dataset, spec, config.prep, config.cv_folds)
        st.session_state["tune_trained"] = (dataset.key, spec.to_json(), to_json(config.prep.to_dict()), config.cv_folds)
    last = st.session_state.get("tune_trained")
    if last and last[:2] == (dataset.key, spec.to_json()):
        show_result(trained_for(dataset, spec, config.prep, config.cv_folds))
        st.page_link("pages/explain.py", label="Explain it →", icon=":material/lightbulb:")
        st.page_link("pages/compress.py", label="Compress it →", icon=":material/compress:")


# ---------------------------------------------------------------- caching
@st.cache_data(max_entries=32, show_spinner=False)
def tune_charts(name: str, version: str) -> dict:
    """Setting importances and Optuna's landscape / parallel-coordinate figures of a search, recomputed only when
    a trial finishes (version = TuneStatus.version)."""
    status = tune.study_status(name)
    shares = tune.importances(status)
    return {"importances": shares, "importance": charts_tune.importance_figure(shares),
            "landscape": charts_tune.landscape_figure(status, shares), "parallel": charts_tune.parallel_figure(status)}
