"""Runs: every training is saved; list, open, rename and delete them."""
import pandas as pd
import streamlit as st

from ui.common import caption, current_run_id, read_only, select, user_errors
from ui.runs import delete_run, may_change, rename_run, restart_run, visible_runs
from ui.compare import section as compare_section
from ui.card import section as card_section

st.title("Runs")
caption("Every model you train is saved here and survives restarts. Open one to see its report, or share its link.")

runs = visible_runs()      # this user's runs (and older ones that belong to no one); one run in a shared view
if not runs:
    st.info("No runs yet. Train a model and it will appear here.")
    st.page_link("pages/train.py", label="Go to Train →", icon=":material/model_training:")
    st.stop()


def score_of(run) -> str:
    if not run.metrics:
        return ""
    primary = run.metrics.get("primary", "accuracy")
    value = run.metrics["test"].get(primary)
    return "" if value is None else (f"{primary} {value:.1%}" if run.task == "classification" else f"{primary} {value:.3f}")


table = pd.DataFrame([{"id": r.id, "name": r.name, "status": r.status, "data set": r.dataset_name,
                       "score (test)": score_of(r), "created": r.created_at.strftime("%Y-%m-%d %H:%M"),
                       "progress": r.progress} for r in runs])
st.dataframe(table, hide_index=True, column_config={
    "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent")})

ids = [r.id for r in runs]
current = current_run_id()
by_id = {r.id: r for r in runs}
chosen = st.selectbox("Run", ids, index=ids.index(current) if current in ids else 0,
                      format_func=lambda i: f"{by_id[i].name} · {i}", key="runs_pick")
run = by_id[chosen]
if run.status == "failed":
    st.error(f"This run failed: {run.error}")
    if run.kind == "train" and may_change(run) and st.button("Restart it", key="runs_restart",
                                                             icon=":material/restart_alt:"):
        with user_errors():
            restart_run(run.id)
        st.rerun()
elif run.status in ("queued", "running"):
    st.info(f"Still training: {run.progress:.0%} — {run.message}")

locked = not may_change(run)
if read_only():
    caption("You opened a shared link: runs can be viewed here but not renamed or deleted.")
elif locked:
    caption("This run belongs to no one in particular and sign-in is on, so it is read-only here.")
col_open, col_rename, col_delete = st.columns(3)
with col_open:
    if st.button("Open report", type="primary", disabled=run.status != "done", key="runs_open"):
        select("run", run.id)
        st.switch_page("pages/recommend.py" if run.kind == "recommender" else "pages/metrics.py")
with col_rename:
    new_name = st.text_input("New name", run.name, key=f"runs_name_{run.id}", disabled=locked)
    if st.button("Rename", key="runs_rename", disabled=locked):
        with user_errors():
            rename_run(run.id, new_name)
        st.rerun()
with col_delete:
    confirm = st.checkbox("Yes, delete this run and its files", key=f"runs_confirm_{run.id}", disabled=locked)
    if st.button("Delete", disabled=locked or not confirm, key="runs_delete"):
        with user_errors():
            delete_run(run.id)
        if current == run.id:
            select("run", None)
        st.rerun()

with st.expander("Details"):
    st.json({"spec": run.spec, "preprocessing": run.prep, "timings": run.timings, "data set": run.dataset_key,
             "fingerprint": run.fingerprint})

card_section(run)

st.divider()
compare_section()
