"""Drawing advisor output and the money view (shared by Metrics, Advice and Home)."""
from __future__ import annotations

import streamlit as st

from core.share import Advice
from ui.common import caption, chart, say
from ui.runs import run_store

ICONS = {"critical": ":material/report:", "warning": ":material/warning:", "info": ":material/lightbulb:"}


def show_advice(advice: list[Advice], limit: int | None = None) -> None:
    if not advice:
        st.success("Nothing stands out: no advisor rule fired on these measurements.", icon=":material/check_circle:")
        return
    for item in advice[:limit]:
        box = {"critical": st.error, "warning": st.warning, "info": st.info}[item.severity]
        evidence = ", ".join(f"{k.replace('_', ' ')} = {v}" for k, v in item.evidence.items())
        box(say(f"**{item.finding}** {item.action}\n\n*Evidence: {evidence} — see {item.chart}.*"),
            icon=ICONS[item.severity])


def money_view(run, test, report, oof=None) -> None:
    """Profit over thresholds and cumulative gains for a binary run's test predictions; the most profitable threshold
    is chosen on the out-of-fold predictions `oof` of the training rows when the run has them."""
    from core.evaluate import charts as charts_business
    from core.evaluate import (Economics, chosen_profit, chosen_profit_sentence, default_economics, gains_sentence,
                               gains_table, profit_curve, profit_sentence)
    from core.evaluate import positive_scores
    score, pos = positive_scores(test, report.positive_label)
    econ = default_economics(run.dataset_key)
    caption("What is each outcome worth? Defaults are illustrative for this data set; enter your own numbers.")
    a, b, c = st.columns(3)
    value_tp = a.number_input(f"Value of catching a '{pos}' case", 0.0, 1e9, econ.value_tp, step=10.0, key="biz_tp")
    cost_fp = b.number_input("Cost of a false alarm", 0.0, 1e9, econ.cost_fp, step=10.0, key="biz_fp")
    cost_fn = c.number_input(f"Cost of missing a '{pos}' case", 0.0, 1e9, econ.cost_fn, step=10.0, key="biz_fn")
    econ = Economics(value_tp, cost_fp, cost_fn, econ.currency)
    curve = profit_curve(test.y_true, score, pos, econ)
    if oof is not None and oof.proba is not None:
        choice = chosen_profit(oof.y_true, positive_scores(oof, pos)[0], test.y_true, score, pos, econ)
        chart(charts_business.profit_figure(curve, econ, choice["threshold"]))
        caption(chosen_profit_sentence(choice, econ))
    else:
        chart(charts_business.profit_figure(curve, econ, st.session_state.get("metrics_threshold")))
        caption(profit_sentence(curve, econ) + " This run has no out-of-fold predictions, so this threshold was "
                "read off the test rows themselves: expect less on new data.")
    gains = gains_table(test.y_true, score, pos)
    chart(charts_business.gains_figure(gains, pos))
    caption(gains_sentence(gains, pos))


# ---------------------------------------------------------------- caching
@st.cache_data(max_entries=32, show_spinner="Reading the measurements…")
def run_advice(run_id: str, version: str) -> list:
    """Advisor output for a finished run (cheap evidence only: data profile, metrics, training curves)."""
    from core.share import advise, run_evidence
    store = run_store()
    return advise(run_evidence(store.get(run_id), store))


@st.cache_data(max_entries=8, show_spinner="Building the report…")
def run_report(run_id: str, version: str) -> str:
    from core.share import build_report
    return build_report(run_id, run_store())
