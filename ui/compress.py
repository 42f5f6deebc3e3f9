"""Streamlit helpers for the Compress page: settings widgets, the readable table, the budget form, downloads."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core.compress import CompressOptions, TradeoffTable, int8_note, pick_variant, selection_note
from core.common import ModelDeckError
from ui.runs import require_write, run_model, run_split, run_store


def settings(family: str) -> CompressOptions:
    """Widgets for what to try; trees only need the measurement settings."""
    defaults = CompressOptions()
    values = {}
    with st.expander("Settings", icon=":material/tune:", expanded=False):
        if family == "mlp":
            c1, c2, c3 = st.columns(3)
            values["sparsities"] = tuple(c1.multiselect(
                "Unstructured pruning: share of weights removed", [0.3, 0.5, 0.7, 0.8, 0.9], list(defaults.sparsities),
                format_func=lambda s: f"{s:.0%}", key="compress_sparsities", persist_state="session"))
            values["keep_fraction"] = c2.slider("Structured pruning: share of neurons kept", 0.1, 0.9,
                                                defaults.keep_fraction, 0.05, key="compress_keep", persist_state="session")
            values["finetune_epochs"] = c3.number_input("Fine-tuning epochs", 1, 200, defaults.finetune_epochs,
                                                        key="compress_ft", persist_state="session")
            widths = c1.text_input("Student hidden layers", ", ".join(map(str, defaults.student_hidden)),
                                   key="compress_student", help="e.g. 16 or 32, 16", persist_state="session")
            try:
                values["student_hidden"] = tuple(int(w) for w in widths.replace(" ", "").split(",") if w)
            except ValueError:
                raise ModelDeckError("Student hidden layers: whole numbers separated by commas, e.g. 32, 16.") from None
            values["temperature"] = c2.slider("Temperature T", 1.0, 10.0, defaults.temperature, 0.5,
                                              key="compress_T", persist_state="session")
            values["alpha"] = c3.slider("Mix α (weight of the teacher)", 0.0, 1.0, defaults.alpha, 0.05,
                                        key="compress_alpha", persist_state="session")
            values["label_fraction"] = c1.slider(
                "Label budget of the students", 0.05, 1.0, defaults.label_fraction, 0.05, key="compress_labels",
                format="%.2f", persist_state="session",
                help="Below 1, the students see only this share of the labels; the distilled one also learns "
                     "from the teacher on every training row (an unlabelled transfer set).")
            values["distill_epochs"] = c2.number_input("Student epochs", 5, 500, defaults.distill_epochs,
                                                       key="compress_de", persist_state="session")
            values["half"] = c3.checkbox("Half precision (fp16, bf16)", True, key="compress_half",
                                         persist_state="session")
        values["threads"] = st.number_input("Threads for every engine", 1, 16, defaults.threads, key="compress_threads",
                                            persist_state="session")
        values["rounds"] = st.number_input("Timing rounds", 1, 20, defaults.rounds, key="compress_rounds",
                                           persist_state="session")
    return CompressOptions(**values).check()


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


def readable_table(table: TradeoffTable) -> pd.DataFrame:
    """The table for people: units, ratios, flags."""
    score = table.metric
    rows = []
    for r in table.rows:
        parity = "—" if r["parity_max_abs_diff"] is None else \
            f"{r['parity_max_abs_diff']:.1e}, labels {r['parity_labels_equal']:.0%}"
        rows.append({
            "variant": r["variant"], "engine": r["engine"], "params": f"{r['params']:,}",
            "non-zero": f"{r['nonzero']:,}", "on disk": _kb(r["bytes"]), "gzip": _kb(r["gzip_bytes"]),
            "batch 1 ms (p90)": f"{r['b1_ms']:.3f} ({r['b1_p90_ms']:.3f})",
            "batch 256 ms (p90)": f"{r['b256_ms']:.2f} ({r['b256_p90_ms']:.2f})",
            "rows/s": f"{r['throughput_rows_s']:,.0f}",
            score: f"{r[score]:.1%}" if score == "accuracy" else f"{r[score]:.3f}",
            "F1 macro" if "f1_macro" in r else "MAE": f"{r.get('f1_macro', r.get('mae')):.3f}",
            "Δ points": f"{r['delta_points']:+.1f}", "× smaller": f"{r['size_x']:.2f}",
            "× faster b1": f"{r['speed_b1_x']:.2f}", "× faster b256": f"{r['speed_b256_x']:.2f}",
            "agreement": f"{r['agreement']:.1%}" if table.task == "classification" else f"R² {r['agreement']:.3f}",
            "same reasons (SHAP rank ρ)": "—" if r.get("shap_rank_corr") is None else f"{r['shap_rank_corr']:.2f}",
            "ONNX parity (max diff)": parity, "noisy": "yes" if r["noisy"] else "", "how": r["note"]})
    return pd.DataFrame(rows)


def budget_form(table: TradeoffTable) -> None:
    """Max size, latency and accuracy loss -> the variant to ship and one sentence why."""
    base = table.row(table.baseline)
    with st.form("compress_budget"):
        st.markdown("**Your budget**")
        c1, c2, c3 = st.columns(3)
        size_kb = c1.number_input("Max size (KB)", 0.1, 1e7, math.ceil(base["bytes"] / 102.4) / 10, key="budget_kb")
        ms = c2.number_input("Max latency per request (ms)", 0.001, 1e5, round(max(base["b1_ms"], 0.001) * 2, 3),
                             format="%.3f", key="budget_ms")
        loss = c3.number_input("Max accuracy loss (points)", 0.0, 100.0, 1.0, 0.1, key="budget_loss")
        submitted = st.form_submit_button("Pick the variant", icon=":material/target:")
    if submitted or "budget_kb" in st.session_state:
        best, why = pick_variant(table, size_kb * 1024, ms, loss)
        (st.success if best else st.warning)(why)
    from ui.common import caption
    caption("Of the variants within every limit, the pick is the one that answers a single request fastest, "
            "whichever engine runs it (ties go to the smaller file). " + selection_note(table))
    note = int8_note(table)
    if note and not any(n.startswith("PyTorch's int8 is") for n in table.notes):   # tables saved before the note
        caption(f":material/info: {note}")


def downloads(table: TradeoffTable, folder) -> None:
    """One download for a chosen artifact (the PyTorch/scikit-learn file or its ONNX export)."""
    files = {}
    for r in table.rows:
        files[r["artifact"]] = f"{r['variant']} — {r['artifact']}"
        if r.get("onnx_file"):
            files[r["onnx_file"]] = f"{r['variant']} — {r['onnx_file']} (ONNX)"
    choice = st.selectbox("Artifact", list(files), format_func=files.get, key="compress_download_pick")
    path = folder / choice
    if path.exists():
        st.download_button("Download", path.read_bytes(), file_name=path.name, icon=":material/download:",
                           key="compress_download", on_click="ignore")


# ---------------------------------------------------------------- caching and the one write
@st.cache_data(max_entries=16, show_spinner=False)
def compress_result(run_id: str, stamp: float):
    """The saved trade-off table of a run (None before the first compression); `stamp` = result file mtime."""
    from core.compress import load_result
    return load_result(run_id, run_store())


def compress_stamp(run_id: str) -> float:
    from core.compress import RESULT_FILE, compress_folder
    path = compress_folder(run_id, run_store()) / RESULT_FILE
    return path.stat().st_mtime if path.exists() else 0.0




def run_compression(run, options: CompressOptions):
    """Compress a finished run's model in a background job (core.jobs 'compress'; its owner only): the table and
    artifacts are saved with the run, and the page reads them when the job is done (`compression_panel`)."""
    from ui.jobs import start_job
    require_write(run.id)
    return start_job("compress", run.id, {"run_id": run.id, "options": options.to_dict()})


def compression_panel(run) -> bool:
    """The newest compression job of this run: progress and Cancel while it works, why it stopped if it did;
    → whether it is still working."""
    from ui.jobs import job_panel, latest_job
    job = latest_job("compress", run.id)
    job_panel(job, "Compression", "compress")
    return job is not None and not job.finished


def result_folder(run_id: str):
    from core.compress import compress_folder
    return compress_folder(run_id, run_store())


# ---------------------------------------------------------------- what serving costs (issue 16)
def _measure(run) -> None:
    from core.compress import measure_throughput, save_throughput
    version = run.updated_at.isoformat()
    found = measure_throughput(run.id, run_model(run.id, version), run_split(run.id, version).X_test, run_store())
    save_throughput(run.id, found, run_store())


def serving_cost_view(run) -> None:
    """Volume and price in, cost per million and per month out, from the measured rows per second per core."""
    from core.compress import DEFAULT_PER_DAY, DEFAULT_PRICE_PER_HOUR, cleaning_share, cost_headline, cost_table
    from ui.common import attempt, caption
    c1, c2, c3 = st.columns(3)
    per_day = c1.number_input("Predictions per day", 1, 10**11, DEFAULT_PER_DAY, step=100_000, key="cost_per_day")
    price = c2.number_input("Price per core-hour (USD)", 0.0, 100.0, DEFAULT_PRICE_PER_HOUR, step=0.01,
                            format="%.3f", key="cost_price")
    batch = c3.radio("Rows per request", [1, 64], horizontal=True, key="cost_batch",
                     help="1: one prediction per request (an app); 64: requests batched (scoring a file)")
    caption(f"Defaults: {DEFAULT_PER_DAY:,} predictions a day and ${DEFAULT_PRICE_PER_HOUR} per core-hour (about an "
            "on-demand cloud vCPU). Load is assumed spread evenly over the day; peaks need more cores.")
    if st.button("Measure serving speed", icon=":material/speed:", key="cost_measure"):
        with st.spinner("Timing every servable variant on one core…"):
            if attempt(require_write, run.id) is not None:   # the one permission check (a message if read-only)
                _measure(run)
    from core.compress import load_throughput
    measured = load_throughput(run.id, run_store())          # a small JSON file: read as is, no cache to go stale
    if not measured:
        st.info("Not measured yet: press the button (a few seconds per variant).", icon=":material/speed:")
        return
    table = cost_table(measured, per_day, price, batch)
    st.markdown(f"**{cost_headline(measured, per_day, price, batch)}**")
    st.dataframe(table, hide_index=True, key="cost_table", column_config={
        "rows/s per core": st.column_config.NumberColumn(format="%,.0f"),
        "model alone rows/s": st.column_config.NumberColumn(format="%,.0f"),
        "busy": st.column_config.NumberColumn(format="percent"),
        "$ per million": st.column_config.NumberColumn(format="$%.4f"),
        "$ per month": st.column_config.NumberColumn(format="$%.2f")})
    share = cleaning_share(measured, batch)
    caption(f"Measured with ONNX Runtime on one thread ({measured[0].cpu or 'this CPU'}), on this run's test rows; "
            "'rows/s per core' includes the cleaning step every request goes through."
            + (f" The cleaning step takes {'nearly all' if share > 0.995 else f'up to {share:.0%}'} of each request "
               "here." if share > 0.5 else ""))
