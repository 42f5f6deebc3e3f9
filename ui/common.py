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
from ui.runs import run_dataset_key, run_store


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
    st.session_state[f"_sel_{name}"] = value
    if value:
        st.query_params[name] = value
    elif name in st.query_params:
        del st.query_params[name]


# ---------------------------------------------------------------- data set
def current_dataset_key() -> str:
    return _synced("data", f"builtin:{DEFAULT_DATASET}")


def current_dataset():
    with user_errors():
        return dataset(current_dataset_key())


def dataset_options() -> dict[str, str]:
    """key -> title, built-ins first, then uploads stored in MODELDECK_HOME."""
    from core.data import list_uploads
    options = {f"builtin:{name}": title for name, (title, _description) in BUILTINS.items()}
    options.update(list_uploads())
    return options


PREP_KEYS = {f"prep_{name}": default for name, default in PrepOptions().to_dict().items()}


def current_prep() -> PrepOptions:
    """The cleaning options chosen on the Data page (widget values persist across pages)."""
    return PrepOptions.from_dict({k[len("prep_"):]: st.session_state.get(k, d) for k, d in PREP_KEYS.items()})


# ---------------------------------------------------------------- runs
def current_run_id() -> str | None:
    return _synced("run", None)


def current_run():
    run_id = current_run_id()
    if not run_id:
        return None
    try:
        return run_store().get(run_id)
    except ModelDeckError as exc:
        st.warning(f"{exc}")
        select("run", None)
        return None


def share_link(page: str = "metrics") -> str | None:
    """A link that opens this run for someone else, read-only."""
    run_id = current_run_id()
    if not run_id:
        return None
    from urllib.parse import urlsplit
    url = urlsplit(st.context.url or "")
    base = f"{url.scheme}://{url.netloc}" if url.netloc else ""
    return f"{base}/{page}?run={run_id}&view=shared"


def read_only() -> bool:
    """True for a session opened from a share link: it can look at the run but not rename or delete runs."""
    return _synced("view", None) == "shared"


def sidebar() -> None:
    with st.container():
        if read_only():
            st.info("Shared view: read-only.", icon=":material/visibility:")
        st.markdown("**Working on**")
        key = current_dataset_key()
        st.caption(f"Data: {dataset_options().get(key, key)}")
        run = current_run()
        if run is not None:
            st.caption(f"Run: {run.name} ({run.status})")
            link = share_link("recommend" if run.kind == "recommender" else "metrics")
            if link:
                st.caption("Share this run:")
                st.code(link, language=None)
        else:
            st.caption("Run: none yet — train a model.")


# ---------------------------------------------------------------- labels: every chart and sentence uses them
def display_names() -> dict[str, str]:
    """Human names for the columns of the current data set and of the current run's data set."""
    from core.data import display_names as names_of
    from core.data import load_labels
    keys = {current_dataset_key()}
    run_id = st.session_state.get("_sel_run")
    if run_id:
        keys.add(run_dataset_key(run_id))
    names = {}
    for key in sorted(k for k in keys if k):
        names.update(names_of(load_labels(key)))
    return names


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
