"""The run store as the pages see it: cached reads of saved runs, who may see and change what, share links, and
the one door for every write.

Reads: the store itself (`st.cache_resource`, shared), a run's predictions, fitted model (shared, read-only) and
exact split; `visible_runs` (this user's runs and everyone's old ones; only the shared run in a shared view).
Writes: every change to the store goes through `require_write()`, the single permission check, which hands out
the store acting for this user. Share links carry a token (`?share=`) that opens one run read-only.
"""
from __future__ import annotations

import threading

import streamlit as st

from core.common import ModelDeckError, db_url
from core.data import PrepOptions
from core.runs import Run, RunStore

SHARE_PARAM = "share"
PREPARE_OPTUNA_AFTER_S = 15.0     # seconds after the store first opens (a search started sooner prepares it itself)
READ_ONLY_SHARED = ("This is a read-only shared link: it shows one run and cannot change anything (no training, "
                    "renaming, deleting, compressing, storing explanations, labels or searches). Open ModelDeck "
                    "without the link to work on your own runs.")


@st.cache_resource(max_entries=1)
def run_store() -> RunStore:
    """The shared store. Its tables exist before any session uses it; Optuna's are prepared beside them in the
    background (under the same schema lock, so a search started meanwhile waits instead of racing), after
    `PREPARE_OPTUNA_AFTER_S`: importing Optuna would otherwise compete with the first page for the CPU."""
    from core.runs import prepare_database
    store = RunStore()
    later = threading.Timer(PREPARE_OPTUNA_AFTER_S, prepare_database, args=(db_url(),))
    later.name, later.daemon = "modeldeck-prepare-db", True
    later.start()
    store.mark_orphans_failed()
    return store


@st.cache_data(max_entries=32, show_spinner=False)
def run_predictions(run_id: str, version: str) -> dict:
    return run_store().load_predictions(run_id)


@st.cache_resource(max_entries=16, show_spinner="Loading the saved model…")
def run_model(run_id: str, version: str):
    """The fitted pipeline of a finished run (shared, read-only: copy it before changing anything)."""
    return run_store().load_model(run_id)


@st.cache_data(max_entries=16, show_spinner=False)
def run_split(run_id: str, version: str):
    """The exact train/test split the run was trained on (same data, preprocessing options and seed)."""
    from core.data import split_dataset
    from ui.data import dataset
    run = run_store().get(run_id)
    return split_dataset(dataset(run.dataset_key), PrepOptions.from_dict(run.prep))


@st.cache_data(max_entries=256, show_spinner=False)
def run_dataset_key(run_id: str) -> str | None:
    try:
        return run_store().get(run_id).dataset_key
    except ModelDeckError:
        return None


def visible_runs(limit: int = 500, kind: str | None = None) -> list[Run]:
    """The runs this session may see, newest first: its owner's and the ones that belong to no one (made before
    ownership, or from the command line); in a shared view, only the shared run."""
    shared = shared_run_id()
    if shared:
        run = run_store().get(shared)
        return [run] if kind in (None, run.kind) else []
    return run_store().list(limit=limit, kind=kind, visible_to=session_owner())


def finished_runs(limit: int = 500, kind: str | None = None) -> list[Run]:
    return [r for r in visible_runs(limit=limit, kind=kind) if r.status == "done"]


def clear_all() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


# ---------------------------------------------------------------- who may see and change what
def session_owner() -> str | None:
    from ui.auth import identity
    who = identity()
    return who.owner if who else None


def shared_run_id() -> str | None:
    """The run a share link opened this session on (read-only for the whole session), else None. The token is
    checked on every rerun, so a revoked link stops working in sessions already open."""
    token = st.query_params.get(SHARE_PARAM) or st.session_state.get("_share_token")
    if not token:
        return None
    st.session_state["_share_token"] = token
    run_id = run_store().shared_run_id(token)
    if run_id is None:
        raise ModelDeckError("This share link does not open anything: its owner revoked it, or it was copied "
                             "incompletely. Ask for a new link.")
    if st.query_params.get(SHARE_PARAM) != token:
        st.query_params[SHARE_PARAM] = token      # kept in the URL across pages
    return run_id


def in_shared_view() -> bool:
    return bool(st.query_params.get(SHARE_PARAM) or st.session_state.get("_share_token"))


def may_view(run: Run) -> bool:
    if in_shared_view():
        return run.id == shared_run_id()
    return run.owner is None or run.owner == session_owner()


def may_change(run: Run) -> bool:
    """Its owner may change a run; a run that belongs to no one only while sign-in is off (local use)."""
    return _may_change_owned(run.owner)


def _may_change_owned(owner: str | None) -> bool:
    """Whether this session may change something of `owner` (a run or a search)."""
    from ui.auth import sign_in_mode
    if in_shared_view() or session_owner() is None:
        return False
    return owner == session_owner() or (owner is None and sign_in_mode() == "off")


def owns_upload(key: str) -> bool:
    if not key.startswith("upload:"):
        return True
    from core.data import list_uploads
    return key in list_uploads(owner=session_owner())


# ---------------------------------------------------------------- writes
def require_write(run_id: str | None = None, *, dataset_key: str | None = None, study: str | None = None) -> RunStore:
    """The one permission check every write passes; returns the store acting for this user (what it creates is
    theirs). Refused, with a message that says it is read-only: a session opened from a share link, a session
    that has not signed in (sign-in on), a run (`run_id`), uploaded data set (`dataset_key`) or tuning search
    (`study`) of someone else."""
    if in_shared_view():
        raise ModelDeckError(READ_ONLY_SHARED)
    owner = session_owner()
    if owner is None:
        raise ModelDeckError("Sign in to change anything: until then ModelDeck is read-only.")
    store = run_store().as_owner(owner)
    if run_id is not None:
        run = store.get(run_id)
        if not may_change(run):
            raise ModelDeckError(f"The run '{run.name}' belongs to someone else, so it is read-only for you. Train "
                                 "your own run to change things, or ask its owner.")
    if dataset_key is not None and not owns_upload(dataset_key):
        raise ModelDeckError("This uploaded data set belongs to someone else, so it is read-only for you. Upload "
                             "your own copy to change it.")
    if study is not None:
        from core.tune import study_owner
        if not _may_change_owned(study_owner(study)):
            raise ModelDeckError(f"The search '{study}' belongs to someone else, so it is read-only for you. Start "
                                 "your own search on the Tune page.")
    return store


def guarded(write, *args, **kwargs):
    """Call `write(*args, **kwargs)` after the permission check (for writes that live in core)."""
    require_write()
    return write(*args, **kwargs)


def rename_run(run_id: str, name: str) -> None:
    require_write(run_id).rename(run_id, name)


def delete_run(run_id: str) -> None:
    require_write(run_id).delete(run_id)


def restart_run(run_id: str) -> Run:
    """Queue a failed training run again and start its background job (its owner only)."""
    from core.train import start_background
    store = require_write(run_id)
    run = store.restart(run_id)
    store.mark_running(run.id, start_background(run.id))
    return store.get(run.id)


def create_share_link(run_id: str) -> str:
    """A new read-only link token for a run (its owner only)."""
    return require_write(run_id).create_share(run_id, session_owner())


def revoke_share_links(run_id: str) -> int:
    return require_write(run_id).revoke_share(run_id)
