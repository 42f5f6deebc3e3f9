"""The Streamlit-aware layer (pages import it; core never does).

Deep links on a fresh server: Streamlit treats an app with a `pages/` folder as a legacy multipage app until
`st.navigation` has run once in the process, so the very first visitor of e.g. `/metrics?run=…` would get the bare
page without our navigation (streamlit/streamlit#9624). Every page imports `ui`, so the first such run flips the
flag and reruns through `streamlit_app.py`, which then routes to the same URL with the real navigation.

A run can still enter the legacy path afterwards: sessions that started at the same moment as the first one, and
every run under AppTest (which resets the flag before each run). Such a run would show a page without the sign-in
gate, the share-link check and the sidebar of `streamlit_app.py` (issue 12), so the legacy entry point is replaced
by one that runs `streamlit_app.py`, which routes to the page itself.
"""
import runpy

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner as _script_runner


def _through_the_app(main_script_path: str) -> None:
    PagesManager.uses_pages_directory = False
    runpy.run_path(main_script_path, run_name="__main__")


if hasattr(_script_runner, "_mpa_v1"):
    _script_runner._mpa_v1 = _through_the_app

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
