"""Compress: quantization, pruning, distillation and half precision, measured on the run's own test split."""
import streamlit as st

from core.compress import charts as charts_compress
from core.compress import headline, selection_note, supported
from ui import compress as view
from ui.common import caption, chart, current_run, user_errors

st.title("Make the model smaller and faster")
caption("Make the selected run's model smaller and faster: shorter numbers inside it, fewer connections, a small "
        "copy trained to imitate it. Every version is measured on the same test rows, so you see what each saving "
        "costs before you ship it.")

run = current_run()
if run is None or run.status != "done":
    st.info("Pick a finished run first: train a neural network, random forest or gradient boosting model.")
    st.page_link("pages/train.py", label="Go to Train →", icon=":material/model_training:")
    st.stop()
family = run.spec.get("family", "")
caption(f"Run: **{run.name}** ({run.id}) on {run.dataset_name}.")
if not supported(family):
    st.info(f"Compression covers the neural network (PyTorch MLP) and tree ensembles; this run is "
            f"'{run.model_title}'. Train one of those on the Train page.")
    st.stop()

with user_errors():
    options = view.settings(family)
version = run.updated_at.isoformat()
if st.button("Compress and measure", type="primary", icon=":material/compress:", key="compress_go"):
    with user_errors():
        view.run_compression(run, options)
working = view.compression_panel(run)     # a background job: progress and Cancel while it works

table = view.compress_result(run.id, view.compress_stamp(run.id))
if table is None:
    if working:
        st.stop()
    st.info("Not compressed yet. Press the button: on a small model it takes well under a minute.")
    st.stop()

flags = ", ".join(table.cpu.get("flags", [])) or "none of AVX2/AVX-512/VNNI/AMX"
caption(f"Measured {len(table.rows)} variants in {table.seconds:.0f} s on {table.test_rows} test rows · "
           f"{table.threads} thread(s) · CPU {table.cpu.get('model', '?')} ({flags}) · torch {table.torch_version}, "
           f"ONNX Runtime {table.ort_version}. Ratios are against the fastest fp32 option, '{table.baseline}'.")
st.subheader(headline(table))
caption(selection_note(table))
for note in table.notes:
    caption(f":material/info: {note}")

left, right = st.columns(2)
with left:
    chart(charts_compress.tradeoff_figure(table, "bytes"), key="compress_size_chart")
with right:
    chart(charts_compress.tradeoff_figure(table, "b1_ms"), key="compress_latency_chart")
caption("Big outlined markers are on the Pareto front: no other variant is both smaller (or faster) and more "
           "accurate. Diamonds are noisy timings (p90 over twice the median).")
chart(charts_compress.latency_figure(table), key="compress_latency_bars")
st.dataframe(view.readable_table(table), hide_index=True, key="compress_table")

st.subheader("Which one should I ship?")
view.budget_form(table)

st.subheader("Take it with you")
view.downloads(table, view.result_folder(run.id))
st.code(f"python -m core serve --run {run.id} --variant \"{table.baseline}\"", language="bash")
caption("Serves the model through ONNX Runtime on 127.0.0.1 with OpenAPI docs at /docs; any variant with an "
           "ONNX file can be served.")

st.subheader("What serving costs")
view.serving_cost_view(run)
