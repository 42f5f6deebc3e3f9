"""Streamlit helpers for the Recommend page: data choice, tables of metrics and of recommendations, saved runs."""
from __future__ import annotations

import json
import re

import pandas as pd
import streamlit as st

from core.recsys import BUILTIN_KEY, METRIC_TITLES, MODEL_TITLES, Interactions, plural
from ui.common import attempt, caption, user_errors
from ui.jobs import job_panel, latest_job, start_job
from ui.runs import require_write, run_store

SOURCES = {"builtin": "Built-in: film streaming (synthetic)", "upload": "Upload my own interactions"}


def choose_data() -> str | None:
    """The data key: the built-in set, or an uploaded interactions file (+ optional item features)."""
    source = st.segmented_control("Data", list(SOURCES), format_func=SOURCES.get, default="builtin",
                                  key="rec_source", persist_state="session")
    if source != "upload":
        return BUILTIN_KEY
    caption("Interactions: one row per event with a user, an item, optionally a rating or weight and a timestamp "
               "(comma- or tab-separated, with a header, or headerless in MovieLens u.data order). Item features "
               "(optional): the item id, categories such as 'Action|Comedy' or yes/no columns, a title and text.")
    left, right = st.columns(2)
    events = left.file_uploader("Interactions file", type=["csv", "tsv", "txt", "data"], key="rec_upload_events")
    items = right.file_uploader("Item features file (optional)", type=["csv", "tsv", "txt", "item"],
                                key="rec_upload_items")
    if events is not None:
        with user_errors():
            require_write()           # storing an upload is a write: not from a shared link
            st.session_state["rec_upload_key"] = recsys_upload(
                events.getvalue(), events.name, items.getvalue() if items else None, items.name if items else None)
    key = st.session_state.get("rec_upload_key")
    if key is None:
        st.info("Upload an interactions file to start, or switch back to the built-in data.",
                icon=":material/upload_file:")
    return key


def data_summary(data: Interactions) -> None:
    summary = data.summary()
    cols = st.columns(5)
    cols[0].metric("Users", f"{summary['users']:,}")
    cols[1].metric(f"{data.item_noun.capitalize()}s", f"{summary['items']:,}")
    cols[2].metric("Interactions", f"{summary['interactions']:,}")
    cols[3].metric("Density", f"{summary['density']:.1%}", help="Share of all user x item pairs with an interaction.")
    cols[4].metric("Liked" if data.explicit else "Positive", f"{summary['liked_share']:.0%}",
                   help=(f"Ratings of {data.like_threshold:g} or more count as liked; lower ones are still masked "
                         "from recommendations.") if data.explicit else "Every event counts as a positive signal.")
    caption(data.description)
    for note in data.notes:
        caption(f"Note: {note}")


def metric_table(table: pd.DataFrame, k: int, explicit: bool, key: str = "rec_table") -> None:
    columns = ["title", "precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty"]
    columns += ["rmse", "mae"] if explicit else []
    view = table[columns + ["fit_seconds"]].copy()
    config = {"title": st.column_config.TextColumn("Model")}
    for name in columns[1:]:
        label = f"{METRIC_TITLES[name]}@{k}" if name in ("precision", "recall", "ndcg", "map", "hit_rate") \
            else METRIC_TITLES[name]
        if name in ("rmse", "mae"):       # only rating models have them: a dash, not "None", for the others
            view[name] = [f"{v:.3f}" if pd.notna(v) else "—" for v in view[name]]
            config[name] = st.column_config.TextColumn(label, help="Rating error in stars (lower is better).")
            continue
        fmt = "percent" if name == "coverage" else "%.3f"
        config[name] = st.column_config.NumberColumn(label, format=fmt)
    config["fit_seconds"] = st.column_config.NumberColumn(
        "Fit (s)", format="%.2f", help="Seconds to fit on the training split; the hybrid's includes its two parts.")
    st.dataframe(view, hide_index=True, column_config=config, key=key)


_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$:])")


def _plain(text: object) -> str:
    """Text shown as is inside markdown (titles from an upload may hold * or _)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def list_tabs(lists: dict[str, pd.DataFrame], item_noun: str, category_noun: str) -> None:
    """One tab per model, the hybrid first: its top-k, each item with its reason and whether the user liked it
    later (in the held-out data)."""
    keys = sorted(lists, key=lambda key: key != "hybrid")          # the hybrid first: it is the one to ship
    tabs = st.tabs([MODEL_TITLES.get(key, key) for key in keys])
    for tab, key in zip(tabs, keys):
        rows = lists[key].to_dict("records")
        with tab:
            lines = []
            for row in rows:
                badge = " :green-badge[liked later]" if row.get("liked later") else ""
                categories = row.get(plural(category_noun))
                where = f" · {_plain(categories)}" if categories else ""
                lines.append(f"{row['rank']}. **{_plain(row[item_noun])}**{where}{badge}  \n   {_plain(row['why'])}")
            st.markdown("\n".join(lines))
            hits = sum(bool(row.get("liked later")) for row in rows)
            if hits:
                verb = "is one" if hits == 1 else "are ones"
                caption(f"{hits} of these {len(rows)} {item_noun}s {verb} this user liked in the held-out data.")


def show_saved(run) -> None:
    """A saved recommender run, read from its files (nothing is recomputed)."""
    with user_errors():
        saved = saved_recommendations(run.id, run.updated_at.isoformat())
    st.subheader(f"Saved run: {run.name}")
    caption(f"Saved {run.created_at:%Y-%m-%d %H:%M} · data {run.dataset_name} · top {saved['k']} for user "
               f"{saved['user']} · split: {saved['split']['method']} · run id {run.id}. Read from the run's files.")
    list_tabs({key: pd.DataFrame(rows) for key, rows in saved["lists"].items()}, saved["item_noun"],
              saved["category_noun"])
    with st.expander("Metrics saved with this run"):
        table = saved["table"]
        metric_table(table, saved["k"], "rmse" in table and bool(table["rmse"].notna().any()), key="rec_saved_table")
    st.divider()


# ---------------------------------------------------------------- caching: interactions, fitted systems, lists
@st.cache_data(max_entries=8, show_spinner="Loading the interactions…")
def recsys_data(key: str):
    from core.recsys import load_interactions
    return load_interactions(key)


@st.cache_data(max_entries=8, show_spinner="Reading the uploaded files…")
def recsys_upload(ratings: bytes, ratings_name: str, items: bytes | None, items_name: str | None) -> str:
    """Parse and store an uploaded interactions file (+ optional item features); returns its data key."""
    from core.recsys import interactions_from_upload, save_upload
    return save_upload(interactions_from_upload(ratings, ratings_name, items, items_name))


def build_subject(key: str, split_json: str) -> str:
    """What a build job is about: the interactions and the split (its newest job is found by this)."""
    return f"{key} {split_json}"


def start_build(key: str, split_json: str):
    """Build and measure the recommenders as a background job of this user (refused from a shared link)."""
    return start_job("recommend", build_subject(key, split_json), {"data_key": key, "split": json.loads(split_json)})


def built_system(key: str, split_json: str):
    """(recommender, job): the recommender this user's newest build job for the data and split stored, read from
    the store (after the tab was closed and reopened too), or None while there is none — then the page shows the
    job's progress and Cancel, or why it failed, or nothing (no job yet)."""
    job = latest_job("recommend", build_subject(key, split_json))
    done = job_panel(job, "Building the recommenders", key="rec_job")
    if done is None:
        return None, job
    system = attempt(recsys_system, done.id)
    return system, (None if system is None else done)     # unreadable (e.g. the data changed): build again


@st.cache_resource(max_entries=4, show_spinner="Opening the built recommenders…")
def recsys_system(job_id: str):
    """The recommenders a build job stored (shared, read-only: nothing on it is changed after loading)."""
    from core.recsys import load_system
    return load_system(run_store().job_folder(job_id, create=False))


@st.cache_data(max_entries=64, show_spinner="Ranking for this user…")
def recsys_user(job_id: str, user: int | None, k: int, liked: tuple[int, ...] = (),
                categories: tuple[str, ...] = ()) -> dict | None:
    """Each model's top-k with reasons for a known user (code) or a new visitor (liked items / categories)."""
    from core.recsys import recommend_user
    system = recsys_system(job_id)
    keys = None if user is not None else [k_ for k_ in ("hybrid", "als", "content", "popular") if k_ in system.models]
    return recommend_user(system, user, k, list(liked), set(categories) or None, keys)


@st.cache_data(max_entries=16, show_spinner=False)
def saved_recommendations(run_id: str, version: str) -> dict:
    from core.recsys import load_saved
    return load_saved(run_store(), run_id)


def save_recommendations_run(system, user: int, k: int):
    """Store a user's lists as a run (after the one permission check)."""
    from core.recsys import save_recommendations
    return save_recommendations(require_write(), system, user, k)
