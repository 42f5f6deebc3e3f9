"""ModelDeck: navigation and the shared sidebar. Run with `streamlit run streamlit_app.py`."""
import streamlit as st

st.set_page_config(page_title="ModelDeck", page_icon="🧭", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", url_path="home", default=True),
    st.Page("pages/data.py", title="Data", icon="📊", url_path="data"),
    st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
    st.Page("pages/metrics.py", title="Metrics", icon="🎯", url_path="metrics"),
    st.Page("pages/runs.py", title="Runs", icon="🗂️", url_path="runs"),
]

page = st.navigation(PAGES)

from ui.common import sidebar  # noqa: E402  (after navigation so the menu draws first)

sidebar()
page.run()
