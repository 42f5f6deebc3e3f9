"""ModelDeck: navigation and the shared sidebar. Run with `streamlit run streamlit_app.py`."""
from pathlib import Path

import streamlit as st

st.set_page_config(page_title="ModelDeck", page_icon=":material/explore:", layout="wide")
_STATIC = Path(__file__).with_name("static")
st.logo(str(_STATIC / "logo.svg"), icon_image=str(_STATIC / "logo_icon.svg"), size="large")   # the house logo

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/table_chart:", url_path="data"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/metrics.py", title="Metrics", icon=":material/insights:", url_path="metrics"),
    st.Page("pages/predict.py", title="Predict", icon=":material/batch_prediction:", url_path="predict"),
    st.Page("pages/explain.py", title="Explain", icon=":material/lightbulb:", url_path="explain"),
    st.Page("pages/tune.py", title="Tune", icon=":material/tune:", url_path="tune"),
    st.Page("pages/compress.py", title="Compress", icon=":material/compress:", url_path="compress"),
    st.Page("pages/recommend.py", title="Recommend", icon=":material/recommend:", url_path="recommend"),
    st.Page("pages/advice.py", title="Advice", icon=":material/lightbulb_circle:", url_path="advice"),
    st.Page("pages/runs.py", title="Runs", icon=":material/folder_open:", url_path="runs"),
]

from ui.auth import gate  # noqa: E402

gate(PAGES)   # with sign-in on (secrets): the sign-in form, the menu hidden, nothing else until it succeeds
page = st.navigation(PAGES)

from ui.common import session_guard, sidebar  # noqa: E402  (after navigation so the menu draws first)

session_guard()   # a revoked or mistyped share link: a clear message, nothing else
sidebar_slot = st.sidebar.empty()
with sidebar_slot.container():
    sidebar()
try:
    page.run()
finally:  # redrawn after the page so it shows the run the page just selected (kept as is if the page stopped early)
    with sidebar_slot.container():
        sidebar(controls=True)
