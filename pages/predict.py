"""Predict: new rows in, predictions with their reasons out; and whether the new rows still look like the training rows."""
import streamlit as st

from core.predict import charts as charts_predict
from ui import image_explain
from ui import predict as view
from ui.common import caption, chart, class_names, user_errors

st.title("Predict new rows")
caption("Upload a CSV of new rows without the target. The file is checked against the columns the model learned "
        "from; then every row gets the model's prediction and the three things that pushed it most.")

run = view.pick_run()
image_explain.picture_view_instead(run, image_explain.predict_view)
with user_errors():
    model = view.run_model_of(run.id, run.updated_at.isoformat())
caption(f"Model: **{run.model_title}** on {run.dataset_name} ({model.contract.n_train:,} training rows).")
view.expected_columns(model)

uploaded = st.file_uploader("New rows (CSV)", type=["csv", "txt", "tsv"], key="predict_upload",
                            help="One row per line, a header row with the column names.")
if uploaded is None:
    st.info("Upload a file to predict it. The example file above shows the columns.", icon=":material/upload_file:")
    st.stop()

data = uploaded.getvalue()
key = (run.id, run.updated_at.isoformat(), view.digest(data), data, uploaded.name)
with user_errors():
    notes, check = view.checked(*key)
view.show_problems(notes, check)
if not check.ok:
    st.stop()

reasons = st.toggle("Explain each row (top three reasons, SHAP)", True, key="predict_reasons")
with user_errors():
    result = view.predictions(*key, reasons).named(class_names(run.dataset_key))   # names given for bare codes

st.subheader("Predictions")
st.markdown(f"**{result.summary(model.words[1])}**")
if result.reasons_method:
    caption(f"Reasons by {result.reasons_method} on the run's own model. {result.note}".strip())
chart(charts_predict.predictions_figure(result), key="predict_chart")
view.predictions_table(result)
view.download(result, run)

st.subheader("Do these rows still look like the training rows?")
with user_errors():
    report = view.drift(*key)
view.drift_view(report)
view.record_drift(run, report, uploaded.name)
