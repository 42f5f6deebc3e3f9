"""Shared Streamlit helpers: errors, the selected data set / run (session + URL), sidebar, progress, widgets."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager

import streamlit as st

from core.data import BUILTINS, DEFAULT_DATASET
from core.common import ModelDeckError
from core.data import PrepOptions
from ui.data import dataset
from ui.runs import (in_shared_view, may_change, may_view, owns_upload, run_dataset_key, run_store, session_owner,
                     shared_run_id)


@contextmanager
def user_errors():
    """Show a ModelDeckError as a red box with its message (never a traceback); stop the page there."""
    try:
        yield
    except ModelDeckError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


def attempt(fn, *args, **kwargs):
    """Call fn; on a ModelDeckError show its message and return None, letting the rest of the page render."""
    try:
        return fn(*args, **kwargs)
    except ModelDeckError as exc:
        st.error(str(exc), icon=":material/error:")
        return None


def _synced(name: str, default: str | None) -> str | None:
    """A value kept in the session and mirrored in the URL (?name=…), so a link reopens the same view."""
    from_url = st.query_params.get(name)
    if from_url:
        st.session_state[f"_sel_{name}"] = from_url
    value = st.session_state.get(f"_sel_{name}", default)
    if value and st.query_params.get(name) != value:
        st.query_params[name] = value
    return value


def select(name: str, value: str | None) -> None:
    if name == "run" and in_shared_view():
        return                          # a shared link shows its one run, whatever a page selects
    st.session_state[f"_sel_{name}"] = value
    if value:
        st.query_params[name] = value
    elif name in st.query_params:
        del st.query_params[name]


def uploader_key(name: str) -> str:
    """The key of an upload box; `empty_uploader(name)` gives it a new one, so the box (and the form under it)
    starts empty after its file has been used."""
    used = st.session_state.get(f"_used_{name}", 0)
    return name if not used else f"{name}_{used}"


def empty_uploader(name: str) -> None:
    st.session_state[f"_used_{name}"] = st.session_state.get(f"_used_{name}", 0) + 1


# ---------------------------------------------------------------- data set
def current_dataset_key() -> str:
    """The chosen data set; in a shared view, the shared run's. Someone else's upload (a link with ?data=…) is
    not opened: the default data set is shown instead, with a note."""
    default = f"builtin:{DEFAULT_DATASET}"
    if in_shared_view():
        return run_dataset_key(shared_run_id()) or default
    key = _synced("data", default)
    if not owns_upload(key):
        st.warning("That uploaded data set belongs to someone else, so it is not shown here; upload your own copy.",
                   icon=":material/lock:")
        select("data", default)
        return default
    return key


def current_dataset():
    with user_errors():
        return dataset(current_dataset_key())


def current_dataset_about() -> tuple[str, str, str]:
    """(key, name, description) of the chosen data set. A built-in's come from its table without loading it (the
    loaders import scikit-learn, a second of the home page's first paint); anything else is loaded."""
    key = current_dataset_key()
    short = key.removeprefix("builtin:")
    if key.startswith("builtin:") and short in BUILTINS:
        return key, *BUILTINS[short]
    data = current_dataset()
    return data.key, data.name, data.description


def _dataset_title(key: str) -> str:
    """A data set's title; a built-in's from its table, without listing the uploads (which loads pandas)."""
    short = key.removeprefix("builtin:")
    if key.startswith("builtin:") and short in BUILTINS:
        return BUILTINS[short][0]
    return dataset_options().get(key, key)


def dataset_options() -> dict[str, str]:
    """key -> title, built-ins first, then uploads stored in MODELDECK_HOME."""
    from core.data import list_uploads
    from ui.auth import identity
    who = identity()
    options = {f"builtin:{name}": title for name, (title, _description) in BUILTINS.items()}
    if in_shared_view():
        key = current_dataset_key()
        return options if key in options else {key: dataset(key).name, **options}
    options.update(list_uploads(owner=who.owner if who else ""))
    from core.data import image_set_options
    options.update(image_set_options(owner=who.owner if who else ""))    # picture sets: built-in, then zips
    return options


PREP_KEYS = {f"prep_{name}": default for name, default in PrepOptions().to_dict().items()}


def current_prep() -> PrepOptions:
    """The cleaning options chosen on the Data page (widget values persist across pages)."""
    return PrepOptions.from_dict({k[len("prep_"):]: st.session_state.get(k, d) for k, d in PREP_KEYS.items()})


# ---------------------------------------------------------------- runs
def current_run_id() -> str | None:
    """The selected run (?run=…); in a shared view, always the shared run."""
    if in_shared_view():
        return shared_run_id()
    return _synced("run", None)


def current_run():
    """The selected run, if this session may see it (a run of someone else's needs a share link)."""
    run_id = current_run_id()
    if not run_id:
        return None
    try:
        run = run_store().get(run_id)
    except ModelDeckError as exc:
        st.warning(f"{exc}")
        select("run", None)
        return None
    if not may_view(run):
        st.warning(f"Run '{run_id}' belongs to someone else. Ask its owner for a share link to see it.",
                   icon=":material/lock:")
        select("run", None)
        return None
    return run


def session_guard() -> None:
    """Before any page, in the main area: a share link that no longer opens anything ends the page with a clear
    message; a data set or run of someone else's in the URL is dropped with a note (shown here, above the page)."""
    with user_errors():
        shared_run_id()
    current_dataset_key()
    current_run()


def share_url(token: str, page: str = "metrics") -> str:
    """The read-only link a share token makes (the app's own address, this page, the token)."""
    from urllib.parse import urlsplit
    url = urlsplit(st.context.url or "")
    base = f"{url.scheme}://{url.netloc}" if url.netloc else ""
    return f"{base}/{page}?share={token}"


def read_only() -> bool:
    """True for a session opened from a share link: it can look at its one run but change nothing."""
    return in_shared_view()


def _share_controls(run) -> None:
    """Make a read-only link to the run (kept for this session) or revoke every link to it."""
    from ui.runs import create_share_link, revoke_share_links
    links = st.session_state.setdefault("_share_links", {})
    page = "recommend" if run.kind == "recommender" else "metrics"
    if run.id in links:
        st.caption("Read-only link to this run (anyone with it can look, no one can change anything):")
        st.code(links[run.id], language=None)
    elif st.button("Make a read-only link", key="share_make", icon=":material/link:"):
        links[run.id] = attempt(lambda: share_url(create_share_link(run.id), page))
        if links[run.id] is None:
            links.pop(run.id)
        else:
            st.rerun()
    if run_store().share_links(run.id) and st.button("Revoke all links to this run", key="share_revoke",
                                                     icon=":material/link_off:"):
        if attempt(revoke_share_links, run.id) is not None:
            links.pop(run.id, None)
            st.rerun()


def sidebar(controls: bool = False) -> None:
    """Data set and run in use; with `controls` (drawn once per rerun, after the page), sharing and sign-out."""
    from ui.auth import identity, sign_out_button
    with st.container():
        if read_only():
            st.info("Shared view: read-only.", icon=":material/visibility:")
        st.markdown("**Working on**")
        key = current_dataset_key()
        st.caption(f"Data: {_dataset_title(key)}")
        run = current_run()
        if run is not None:
            st.caption(f"Run: {run.name} ({run.status})")
            if controls and run.status == "done" and may_change(run):
                _share_controls(run)
        else:
            st.caption("Run: none yet — train a model.")
        who = identity()
        if who is not None and who.signed_in:
            st.caption(f"Signed in as {who.label}")
            if controls:
                sign_out_button()


# ---------------------------------------------------------------- labels: every chart and sentence uses them
def labels_owner() -> str | None:
    """Whose labels this session reads: its own; in a shared view, those of the shared run's owner."""
    if in_shared_view():
        return run_store().get(shared_run_id()).owner
    return session_owner()


NAMES_FRESH_S = 1.0         # a label edited in another session or on another machine shows up within this long


def display_names() -> dict[str, str]:
    """Human names for the columns of the current data set and of the current run's data set. Every chart and
    caption of a page draw asks, and each answer costs store lookups (database queries on a shared store), so it
    is kept for NAMES_FRESH_S per session and choice of data, run and link; this session's own edits show at once
    (`forget_display_names`)."""
    from core.data import display_names as names_of
    from core.data import load_labels
    chosen = tuple(st.session_state.get(k) for k in ("_sel_data", "_sel_run", "_share_token"))
    held = st.session_state.get("_display_names")
    if held is not None and held[0] == chosen and time.monotonic() - held[1] < NAMES_FRESH_S:
        return held[2]
    keys = {current_dataset_key()}
    run_id = st.session_state.get("_sel_run")
    if run_id:
        keys.add(run_dataset_key(run_id))
    names, owner = {}, labels_owner()
    for key in sorted(k for k in keys if k):
        names.update(names_of(load_labels(key, owner)))
    st.session_state["_display_names"] = (chosen, time.monotonic(), names)
    return names


def forget_display_names() -> None:
    st.session_state.pop("_display_names", None)


def class_names(dataset_key: str) -> dict[str, str]:
    """code -> name given for a data set's classes (bare codes), as this session reads them."""
    from core.data import load_class_names
    return load_class_names(dataset_key, labels_owner())


def class_name(value, dataset_key: str) -> str:
    """A class as this session shows it (`core.data.class_name` with its names for the data set)."""
    from core.data import class_name as named
    return named(value, class_names(dataset_key))


def chart(fig, **kwargs):
    """st.plotly_chart with column names shown as their human labels and units."""
    from core.data import relabel_figure
    return st.plotly_chart(relabel_figure(fig, display_names()), **kwargs)


def caption(text: str, **kwargs):
    """st.caption with column names shown as their human labels and units."""
    from core.data import relabel_text
    return st.caption(relabel_text(text, display_names()), **kwargs)


def say(text: str) -> str:
    """A sentence with column names shown as their human labels and units (for markdown, alerts, …)."""
    from core.data import relabel_text
    return relabel_text(text, display_names())


# ---------------------------------------------------------------- progress
class LiveProgress:
    """A progress(fraction, message, history) callback that drives st.progress and, optionally, a live chart."""

    def __init__(self, label: str, chart=None, min_interval: float = 0.25):
        self.bar = st.progress(0.0, text=label)
        self.chart_slot = st.empty() if chart else None
        self.chart, self.min_interval, self.last = chart, min_interval, 0.0

    def __call__(self, fraction: float, message: str, history=None) -> None:
        self.bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)
        now = time.monotonic()
        if self.chart_slot is not None and history and now - self.last >= self.min_interval:
            self.chart_slot.plotly_chart(self.chart(history), key=f"live_{now}")
            self.last = now

    def done(self) -> None:
        self.bar.empty()
        if self.chart_slot is not None:
            self.chart_slot.empty()


def progress_status(label: str, work):
    """Run work(progress) inside a status box with a live progress bar."""
    with st.status(label, expanded=True) as status:
        progress = LiveProgress(label)
        result = work(progress)
        progress.done()
        status.update(label=f"{label}: done", state="complete", expanded=False)
    return result


# ---------------------------------------------------------------- model parameter widgets
def param_widgets(family_key: str, prefix: str, skip: tuple[str, ...] = ()) -> dict:
    """Widgets for a model family's parameters, drawn from core.models.PARAMS (one place for all families)."""
    from core.models import OPTIMIZER_TITLES, family
    values = {}
    columns = st.columns(3)
    for i, p in enumerate(p for p in family(family_key).params if p.name not in skip):
        key = f"{prefix}_{family_key}_{p.name}"
        with columns[i % 3]:
            if p.kind == "layers":
                text = st.text_input(p.label, ", ".join(map(str, p.default)), key=key, help="e.g. 128, 64",
                                     persist_state="session")
                values[p.name] = text
            elif p.kind == "choice":
                fmt = (lambda o: OPTIMIZER_TITLES.get(o, o)) if p.name == "optimizer" else str
                values[p.name] = st.selectbox(p.label, p.choices, index=p.choices.index(p.default), key=key,
                                              format_func=fmt, persist_state="session")
            elif p.kind == "bool":
                values[p.name] = st.checkbox(p.label, p.default, key=key, persist_state="session")
            elif p.kind == "int":
                values[p.name] = st.number_input(p.label, int(p.low), int(p.high), int(p.default), step=1, key=key,
                                                 help=p.help or None, persist_state="session")
            else:
                values[p.name] = st.number_input(p.label, float(p.low), float(p.high), float(p.default), key=key,
                                                 format="%.5g", help=p.help or None, persist_state="session")
    return values


def to_json(obj) -> str:
    return json.dumps(obj, sort_keys=True)
