"""Streamlit views of the Explain page: run guard, explainer choice, global view, one row, cross-checks.

Everything expensive is computed only on request (LIME, counterfactuals, permutation importance,
interaction values) or once per run and sample (SHAP values, stored with the run).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core.explain import charts as charts
from core import explain as ex
from core.common import ModelDeckError
from ui._shelf import shelf as shelf_named
from ui.data import dataset as cached_dataset
from ui.runs import require_write, run_model, run_split, run_store
from ui.common import attempt, caption, chart, current_run, progress_status, say, user_errors


AUTO_START_SECONDS = 20.0     # fast explainers start by themselves below this estimate
BACKGROUND_ROWS = 2_000       # SHAP over more rows than this runs as a background job (core.jobs 'shap')


def _seconds(value: float) -> str:
    """'under a second', 'about 8 s', 'about 3 min'."""
    return "under a second" if value < 1 else f"about {value:,.0f} s" if value < 120 else f"about {value / 60:,.0f} min"


@dataclass
class View:
    """What every section needs: the run, its data and model, and the chosen explanation."""

    run: object
    version: str
    dataset: object
    split: object
    pipeline: object
    method: str
    max_rows: int
    expl: ex.Explanation
    k: int
    words: tuple[str, str]

    @property
    def reference(self) -> pd.DataFrame:
        return self.split.X_train


# ---------------------------------------------------------------- which run
def finished_run():
    """The selected run when it is finished; otherwise a clear message, a link to Train, and stop."""
    run = current_run()
    if run is None:
        st.info("No run is selected yet. Train a model (or open one on the Runs page), then come back here.",
                icon=":material/info:")
    elif run.status in ("queued", "running"):
        st.info(f"Run '{run.name}' is still training ({run.progress:.0%}). Explanations need the finished model; "
                "this page works as soon as it is done.", icon=":material/hourglass_top:")
    elif run.status == "failed":
        st.error(f"Run '{run.name}' failed, so there is no model to explain: {run.error or 'no details'}",
                 icon=":material/error:")
    else:
        return run
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.page_link("pages/runs.py", label="Open a run on the Runs page", icon=":material/folder_open:")
    st.stop()


# ---------------------------------------------------------------- explainer, sample, class
def _method_label(method: str, recommended: str) -> str:
    return ex.METHOD_TITLES[method] + (" — recommended" if method == recommended else "")


def choose(run, pipeline) -> tuple[str, int]:
    """Explainer (recommended first; the user may override it) and how many rows to explain."""
    methods = ex.available_methods(pipeline)
    left, right = st.columns([2, 1])
    method = left.selectbox("Explainer", methods, format_func=lambda m: _method_label(m, methods[0]),
                            key=f"explain_method_{run.id}", persist_state="session",
                            help="Chosen automatically for this model; change it to compare methods.")
    rows = right.number_input("Rows to explain (seeded sample)", min_value=10, max_value=20_000,
                              value=ex.default_rows(method), step=50, key=f"explain_rows_{run.id}_{method}",
                              persist_state="session",
                              help="A seeded sample of the training and test rows; the same number gives the same rows.")
    caption(f"{ex.METHOD_TITLES[method]}: {ex.METHOD_NOTES[method]}.")
    return method, int(rows)


def explanation(run, version: str, method: str, rows: int) -> ex.Explanation:
    """Stored or computed SHAP values; model-agnostic methods wait for a click after a time estimate."""
    with user_errors():
        stored = stored_explanation(run.id, version, method, rows, compute=False)
        if stored is not None:
            return stored
        per_row = explain_seconds_per_row(run.id, version, method)
        n = min(rows, explain_rows_available(run.id, version))
        if n > BACKGROUND_ROWS:
            return background_explanation(run, version, method, rows, n, per_row)
        if ex.is_agnostic(method) or per_row * n > AUTO_START_SECONDS:
            st.info(f"{ex.METHOD_TITLES[method]} on {n:,} rows will take {_seconds(per_row * n)} (measured on "
                    f"{2 if ex.is_agnostic(method) else 10} rows). It is saved with the run, so this happens once; "
                    "fewer rows are quicker.", icon=":material/timer:")
            if not st.button(f"Compute SHAP values ({ex.METHOD_TITLES[method]})", type="primary",
                             key=f"explain_go_{run.id}_{method}"):
                st.stop()
        return progress_status(f"Computing SHAP values ({ex.METHOD_TITLES[method]})",
                             lambda p: stored_explanation(run.id, version, method, rows, progress=p))


def background_explanation(run, version: str, method: str, rows: int, n: int, per_row: float) -> ex.Explanation:
    """SHAP over more than BACKGROUND_ROWS rows: a background job that saves the values with the run; the page
    follows it (and finds it again after being closed) and reads the saved values when it is done."""
    from ui.jobs import job_panel, latest_job, start_job
    subject = f"{run.id}:{method}:{rows}"
    job = latest_job("shap", subject)
    done = job_panel(job, f"SHAP values ({ex.METHOD_TITLES[method]}, {n:,} rows)", f"explain_job_{run.id}")
    if done is not None:
        value = stored_explanation(run.id, version, method, rows, compute=False)
        if value is not None:
            return value
    if job is None or job.status in ("failed", "cancelled", "done"):
        st.info(f"{ex.METHOD_TITLES[method]} on {n:,} rows (more than {BACKGROUND_ROWS:,}) runs as a background job "
                f"of about {_seconds(per_row * n)} (measured on {2 if ex.is_agnostic(method) else 10} rows): you can "
                "leave this page and come back. It is saved with the run, so this happens once.",
                icon=":material/timer:")
        if st.button(f"Compute SHAP values ({ex.METHOD_TITLES[method]})", type="primary",
                     key=f"explain_go_{run.id}_{method}"):
            with user_errors():
                require_write(run.id)        # the result is stored with the run: its owner only
                start_job("shap", subject, {"run_id": run.id, "method": method, "max_rows": rows, "seed": 0})
            st.rerun()
    st.stop()


def header(view: View) -> None:
    """Fidelity line, the note of a fallback and the columns the model does not use."""
    e = view.expl
    st.markdown(f"**{view.run.model_title} on {view.run.dataset_name}** · run {view.run.id}")
    adds_up = e.additivity_error <= ex.ADDITIVITY_TOL
    sums = (f"; the base value plus the pushes {'equals' if adds_up else 'misses'} the model's {e.output_phrase()} "
            f"{'within' if adds_up else 'by up to'} {e.additivity_error:.1e}. " if e.exact else
            ": sampled values add up by construction, so only their spread between seeds says how precise they are. ")
    caption(f"{e.fidelity()} · {'exact values' if e.exact else 'values estimated by sampling'}{sums}"
               + ("Category columns: the pushes of their one-hot columns are added up into one value. "
                  if len(e.transformed_names) != len(e.features) else "")
               + f"Computed in {e.seconds:.1f} s with shap {e.versions.get('shap', '?')}, stored with the run.")
    if e.note:
        st.warning(e.note, icon=":material/warning:")
    note = ex.unused_columns_note(view.dataset)
    if note:
        caption(note)


def choose_class(run, expl: ex.Explanation) -> int:
    if len(expl.output_names) == 1:
        return 0
    name = st.selectbox("Class to explain", expl.output_names, key=f"explain_class_{run.id}",
                        persist_state="session", help="SHAP explains each class's output separately.")
    return expl.output_names.index(name)


# ---------------------------------------------------------------- global view
def global_view(view: View) -> None:
    e, k = view.expl, view.k
    st.markdown(say(ex.global_summary(e, k, view.words)))
    left, right = st.columns(2)
    with left:
        chart(charts.importance_figure(e, k), key="explain_importance")
        caption(ex.importance_summary(e, k))
    with right:
        chart(charts.beeswarm_figure(e, k), key="explain_beeswarm")
        caption(ex.beeswarm_summary(e, k, view.words))
    ranked = list(e.importance(k).index)
    feature = st.selectbox("Dependence plot for", ranked, key=f"explain_dep_{view.run.id}")
    interactions = interaction_result(view.run.id, view.version, compute=False) if view.method == "tree" else None
    colour = ex.strongest_interaction(e, feature, k, interactions)
    chart(charts.dependence_figure(e, feature, colour, k), key="explain_dependence")
    caption(ex.dependence_summary(e, feature, colour, k)
               + ("" if interactions else " (Interacting column found by shap's heuristic; compute interaction "
                                          "values under Cross-checks for the exact one.)" if view.method == "tree" else ""))


# ---------------------------------------------------------------- one row
def _row_label(e: ex.Explanation, i: int) -> str:
    truth = f", really {ex.fmt_value(e.y_true[i] if e.classes else float(e.y_true[i]))}" if str(e.y_true[i]) else ""
    return f"Row {e.row_ids[i]} ({e.part[i]}): predicted {ex.prediction_phrase(e, i)}{truth}"


def pick_row(view: View) -> int | None:
    """By row number, by a filter on a column, or a surprising one (a confident wrong prediction)."""
    e = view.expl
    mode = st.radio("Pick a row", ["By row number", "By filter", "A surprising one"], horizontal=True,
                    key="explain_pick_mode", persist_state="session")
    if mode == "By row number":
        number = st.number_input("Row number (as in the data set)", value=int(float(e.row_ids[0])), step=1,
                                 key=f"explain_row_{view.run.id}")
        return attempt(ex.locate_row, e, int(number), len(view.dataset.frame))
    if mode == "By filter":
        return _pick_by_filter(view)
    choices = ex.surprising_rows(e)
    if not choices:
        st.info("No wrong predictions among the explained rows: nothing surprising to show.")
        return None
    return st.selectbox("Confident mistakes first (test rows first)", choices, format_func=lambda i: _row_label(e, i),
                        key=f"explain_surprise_{view.run.id}")


def _pick_by_filter(view: View) -> int | None:
    e = view.expl
    a, b = st.columns([1, 2])
    feature = a.selectbox("Column", list(e.importance(view.k).index), key=f"explain_filter_col_{view.run.id}")
    if feature in e.categorical:
        options = sorted(e.data[feature].dropna().astype(str).unique())
        picked = b.multiselect("Values", options, default=options[:1], key=f"explain_filter_cats_{view.run.id}_{feature}")
        matches = ex.filter_rows(e, feature, categories=picked)
    else:
        x = pd.to_numeric(e.data[feature], errors="coerce").dropna()
        lo, hi = float(x.min()), float(x.max())
        if lo == hi:
            hi = lo + 1.0
        low, high = b.slider("Range", lo, hi, (lo, hi), key=f"explain_filter_range_{view.run.id}_{feature}")
        matches = ex.filter_rows(e, feature, low, high)
    if not matches:
        st.info("No explained row matches this filter; widen it.")
        return None
    caption(f"{len(matches):,} of {e.n_rows:,} explained rows match.")
    return st.selectbox("Row", matches[:500], format_func=lambda i: _row_label(e, i),
                        key=f"explain_filter_row_{view.run.id}")


def local_view(view: View) -> None:
    i = pick_row(view)
    if i is None:
        return
    e, k = view.expl, view.k
    st.markdown(say(ex.row_summary(e, i, k, view.reference, view.words)))
    left, right = st.columns(2)
    with left:
        chart(charts.waterfall_figure(e, i, k), key="explain_waterfall")
        caption(ex.waterfall_summary(e, i, k))
    with right:
        st.dataframe(ex.row_table(e, i, k, view.reference, view.words), hide_index=True, height=420)
    what_if(view, i)
    lime_section(view, i)
    counterfactual_section(view, i)


# ---------------------------------------------------------------- what-if
def _edit_widget(view: View, row: pd.Series, feature: str, key: str):
    if feature in view.expl.categorical:
        options = sorted(view.reference[feature].dropna().astype(str).unique())
        current = str(row[feature])
        options = options if current in options else [current] + options
        return st.selectbox(feature, options, index=options.index(current), key=key)
    value = row[feature]
    start = None if pd.isna(value) else float(value)
    return st.number_input(feature, value=start, key=key, format="%.6g",
                           help="Clear the box to see what happens with a missing value.")


def what_if(view: View, i: int) -> None:
    e, k = view.expl, view.k
    st.subheader("What if?", anchor=False)
    caption("Change this row's strongest columns and see the prediction and its explanation update.")
    strongest = [e.features[j] for j in np.argsort(-np.abs(e.values[i, :, k]))]
    chosen = st.multiselect("Columns to edit (strongest first)", strongest, default=strongest[:6],
                            key=f"whatif_cols_{view.run.id}_{e.row_ids[i]}")
    row = e.data.iloc[i]
    edits, columns = {}, st.columns(3)
    for n, feature in enumerate(chosen):
        with columns[n % 3]:
            edits[feature] = _edit_widget(view, row, feature, f"whatif_{view.run.id}_{e.row_ids[i]}_{feature}")
    changed = {f: v for f, v in edits.items() if not _same(v, row[f])}
    if not changed:
        return
    edited = attempt(edited_row_explanation, view.run.id, view.version, view.method, int(e.positions[i]),
                     tuple(sorted((f, None if v is None else v) for f, v in changed.items())))
    if edited is None:
        return
    a, b = st.columns(2)
    a.metric("Prediction now", ex.prediction_phrase(e, i))
    b.metric("Prediction after your edits", ex.prediction_phrase(edited, 0),
             delta=f"{(edited.outputs[0, k] - e.outputs[i, k]) * (100 if e.output_kind == 'probability' else 1):+.3g}"
                   f"{' points' if e.output_kind == 'probability' else ''} on the {e.output_labels[k]}",
             delta_color="off")
    chart(charts.waterfall_figure(edited, 0, k, title=f"Row {e.row_ids[i]} with your edits (SHAP waterfall)"),
                    key="explain_whatif_waterfall")
    caption(ex.row_summary(edited, 0, k, view.reference, view.words))


def _same(new, old) -> bool:
    if new is None or isinstance(new, str) or isinstance(old, str):
        return str(new) == str(old) if new is not None else pd.isna(old)
    return bool(np.isclose(float(new), float(old)) or (pd.isna(old) and pd.isna(new)))


# ---------------------------------------------------------------- LIME and counterfactuals
def lime_section(view: View, i: int) -> None:
    e, k = view.expl, view.k
    st.subheader("LIME for the same row", anchor=False)
    if not st.toggle("Compare with LIME (5,000 samples, about a second)", key="explain_lime"):
        return
    with user_errors():
        result = lime_row(view.run.id, view.version, int(e.positions[i]), e.output_names[k])
    shap_row = pd.Series(e.values[i, :, k], index=e.features)
    overlap, rho = ex.rank_agreement(shap_row.abs(), result.by_feature())
    left, right = st.columns(2)
    left.plotly_chart(charts.lime_figure(result), key="explain_lime_chart")
    right.plotly_chart(charts.shap_lime_figure(shap_row, result, e.title), key="explain_shap_lime")
    from core.explain import lime_summary
    caption(lime_summary(result, overlap, rho)
               + ("" if e.output_kind == "probability" or e.classes is None else
                  f" LIME explains the probability, SHAP here the {e.output_kind}: compare rankings, not sizes."))


def counterfactual_section(view: View, i: int) -> None:
    e, k = view.expl, view.k
    st.subheader("What would change the prediction?", anchor=False)
    if e.classes is None:
        caption("Counterfactuals flip a class; this model predicts a number. Use the what-if boxes above instead.")
        return
    if not st.toggle("Find the smallest change that flips the prediction", key="explain_cf"):
        return
    strongest = [e.features[j] for j in np.argsort(-np.abs(e.values[i, :, k]))[:5]]
    allowed = st.multiselect("Columns the search may change", e.features, default=strongest,
                             key=f"explain_cf_cols_{view.run.id}")
    with user_errors():
        result = counterfactual_result(view.run.id, view.version, int(e.positions[i]), tuple(allowed))
    st.markdown(say(result.sentence(view.words)))
    st.dataframe(result.table(), hide_index=True)
    caption(f"Seeded search over realistic values from the training data: {result.evaluated:,} candidates "
               f"tried in {result.seconds:.1f} s, fewest changed columns first, then the smallest change.")


# ---------------------------------------------------------------- cross-checks
def cross_checks(view: View) -> None:
    permutation_section(view)
    if view.method == "tree":
        interaction_section(view)


def permutation_section(view: View) -> None:
    st.subheader("Permutation importance (model-agnostic)", anchor=False)
    caption("Shuffle one column at a time on the test rows and measure how much the score drops: a check of "
               "SHAP's global ranking that does not look inside the model.")
    result = permutation_result(view.run.id, view.version, compute=False)
    if result is None:
        if not st.button("Compute permutation importance", key="explain_perm_go"):
            return
        with user_errors():
            result = progress_status("Permutation importance on the test rows",
                                   lambda p: permutation_result(view.run.id, view.version, progress=p))
    chart(charts.permutation_figure(result), key="explain_perm_chart")
    caption(ex.permutation_summary(result, view.expl, view.k, view.words))


def interaction_section(view: View) -> None:
    st.subheader("Interaction values (tree models)", anchor=False)
    result = interaction_result(view.run.id, view.version, compute=False)
    if result is None:
        if not st.toggle("Show interaction values (computed on request, on a small sample)",
                         key="explain_inter_on"):
            return
        per_row = interaction_seconds_per_row(view.run.id, view.version)
        rows = st.number_input("Rows", 5, 500, 50, step=5, key=f"explain_inter_rows_{view.run.id}")
        st.info(f"Estimated time: {_seconds(per_row * rows)} for {rows:,} rows (measured on 1 row).",
                icon=":material/timer:")
        if not st.button("Compute interaction values", key="explain_inter_go"):
            return
        with user_errors():
            result = progress_status("Tree SHAP interaction values",
                                   lambda p: interaction_result(view.run.id, view.version, rows=int(rows), progress=p))
    chart(charts.interaction_figure(result, view.k), key="explain_inter_chart")
    caption(ex.interaction_summary(result, view.k, result.output_kind))


def build_view(run, pipeline, method: str, rows: int, expl: ex.Explanation) -> View:
    """Everything the sections need; the class selector sits under the header."""
    version = run.updated_at.isoformat()
    with user_errors():
        dataset = cached_dataset(run.dataset_key)
        split = run_split(run.id, version)
    view = View(run, version, dataset, split, pipeline, method, rows, expl, 0, ex.entity_words(run.dataset_key))
    header(view)
    view.k = choose_class(run, expl)
    return view


def model_of(run):
    with user_errors():
        try:
            return run_model(run.id, run.updated_at.isoformat())
        except (OSError, ValueError) as exc:
            raise ModelDeckError(f"The saved model of run '{run.id}' could not be opened: {exc}") from exc


# ---------------------------------------------------------------- caching: engines and stored results
@st.cache_resource(max_entries=8, show_spinner="Preparing the explainer…")
def explain_engine(run_id: str, version: str, method: str):
    """The SHAP engine of a run's model (shared: it only reads the model and hooks a private copy of a network)."""
    from core.explain import ShapEngine
    run = run_store().get(run_id)
    return ShapEngine(run_model(run_id, version), run_split(run_id, version).X_train, run.task,
                      cached_dataset(run.dataset_key).target, method, seed=0)


def _shelved(key: tuple, load, compute, progress, allowed: bool):
    """Memory (shared shelf) -> the run folder -> compute and save (only when allowed); None otherwise.
    A shelf, not a cache decorator: computing draws live progress into the page."""
    shelf = shelf_named("explanations", 24)
    value = shelf.get(key)
    if value is None:
        value = load()
        if value is None and allowed:
            value = compute(progress)
        if value is not None:
            shelf.put(key, value)
    return value


def stored_explanation(run_id: str, version: str, method: str, max_rows: int, seed: int = 0, progress=None,
                compute: bool = True):
    """SHAP values of a run's seeded sample, computed once and stored with the run (None if not stored and
    compute=False)."""
    from core import explain as ex
    stem = ex.explanation_stem(run_store().folder(run_id), method, max_rows, seed)

    def work(progress):
        require_write(run_id)        # the result is stored with the run: its owner only
        value = ex.explain_split(explain_engine(run_id, version, method), run_split(run_id, version), max_rows,
                                 seed, progress)
        ex.save_explanation(value, stem)
        return value
    return _shelved(("shap", run_id, version, method, max_rows, seed),
                    lambda: ex.load_explanation(stem, run_split(run_id, version)), work, progress, compute)


@st.cache_data(max_entries=16, show_spinner=False)
def explain_rows_available(run_id: str, version: str) -> int:
    split = run_split(run_id, version)
    return len(split.X_train) + len(split.X_test)


@st.cache_resource(max_entries=16, show_spinner="Timing the explainer on a few rows…")
def explain_seconds_per_row(run_id: str, version: str, method: str) -> float:
    return explain_engine(run_id, version, method).seconds_per_row(run_split(run_id, version).X_test)


def _run_row(run_id: str, version: str, position: int):
    from core.explain import all_rows
    X, _, _ = all_rows(run_split(run_id, version))
    return X.iloc[[position]]


@st.cache_resource(max_entries=64, show_spinner="Explaining your edited row…")
def edited_row_explanation(run_id: str, version: str, method: str, position: int, edits: tuple):
    """SHAP explanation of a row after the user's edits ((column, value) pairs, validated)."""
    from core.explain import explain_frame
    from core.explain import edit_row
    engine = explain_engine(run_id, version, method)
    edited = edit_row(_run_row(run_id, version, position)[engine.features.columns], dict(edits),
                      engine.features.categorical, run_split(run_id, version).X_train)
    return explain_frame(engine, edited)


@st.cache_resource(max_entries=32, show_spinner="LIME: perturbing the row 5,000 times…")
def lime_row(run_id: str, version: str, position: int, output_name: str, num_samples: int = 5000, seed: int = 0):
    from core.explain import feature_map
    from core.explain import explain_row_lime
    run, pipeline = run_store().get(run_id), run_model(run_id, version)
    features = feature_map(pipeline.named_steps["prep"])
    row = _run_row(run_id, version, position)[features.columns]
    return explain_row_lime(pipeline, run_split(run_id, version).X_train, row, features.categorical, run.task,
                            output_name, num_samples, seed)


@st.cache_resource(max_entries=32, show_spinner="Searching for the smallest change…")
def counterfactual_result(run_id: str, version: str, position: int, allowed: tuple, seed: int = 0):
    from core.explain import feature_map
    from core.explain import counterfactual as search
    pipeline = run_model(run_id, version)
    features = feature_map(pipeline.named_steps["prep"])
    return search(pipeline, _run_row(run_id, version, position)[features.columns], list(allowed),
                  run_split(run_id, version).X_train, features.categorical, seed=seed)


def permutation_result(run_id: str, version: str, seed: int = 0, progress=None, compute: bool = True):
    """Permutation importance on the run's test rows, computed on request and stored with the run."""
    from core import explain as ex
    path = run_store().folder(run_id) / "explain" / f"permutation_{seed}.json"

    def load():
        data = ex.load_json(path)
        return ex.PermutationResult.from_dict(data) if data else None

    def work(progress):
        require_write(run_id)        # the result is stored with the run: its owner only
        run, split = run_store().get(run_id), run_split(run_id, version)
        value = ex.permutation_importance_test(run_model(run_id, version), split.X_test, split.y_test, run.task,
                                               seed=seed, progress=progress)
        ex.save_json(path, value.to_dict())
        return value
    return _shelved(("perm", run_id, version, seed), load, work, progress, compute)


def interaction_result(run_id: str, version: str, rows: int = 50, seed: int = 0, progress=None, compute: bool = True):
    """Tree SHAP interaction values on a seeded sample of rows, computed on request and stored with the run."""
    from core import explain as ex
    stem = run_store().folder(run_id) / "explain" / f"interactions_{seed}"

    def work(progress):
        require_write(run_id)        # the result is stored with the run: its owner only
        X, _, _ = ex.all_rows(run_split(run_id, version))
        picked = X.iloc[ex.sample_positions(len(X), rows, seed)]
        value = ex.interaction_values(explain_engine(run_id, version, "tree"), picked, progress)
        ex.save_interactions(value, stem)
        return value
    return _shelved(("inter", run_id, version, seed), lambda: ex.load_interactions(stem), work, progress, compute)


@st.cache_resource(max_entries=16, show_spinner="Timing interaction values on 1 row…")
def interaction_seconds_per_row(run_id: str, version: str) -> float:
    from core.explain import interaction_values
    return interaction_values(explain_engine(run_id, version, "tree"), run_split(run_id, version).X_test.iloc[:1]).seconds
