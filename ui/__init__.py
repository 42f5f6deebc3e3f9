"""The Streamlit-aware layer (pages import it; core never does).

Deep links on a fresh server: Streamlit treats an app with a `pages/` folder as a legacy multipage app until
`st.navigation` has run once in the process, so the very first visitor of e.g. `/metrics?run=…` would get the bare
page without our navigation (streamlit/streamlit#9624). Every page imports `ui`, so the first such run flips the
flag and reruns through `streamlit_app.py`, which then routes to the same URL with the real navigation.
"""
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
