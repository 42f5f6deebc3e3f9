"""Figures for predictions and drift: pure functions, a result in, a plotly Figure out (pages and the report)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.common.charts import PALETTE, empty_figure, style
from core.evaluate import default_positive_label
from core.predict._batch import BatchResult
from core.predict._drift import MAJOR_PSI, DriftReport

MOVED, MEASURABLE, STEADY = PALETTE[3], PALETTE[1], "#9aa5b1"


def drift_figure(report: DriftReport) -> go.Figure:
    """PSI per column, most moved on top; red bars moved (test and size agree), orange differ measurably but little."""
    if not report.columns:
        return empty_figure("How far each column moved", "No columns to compare.")
    cols = sorted(report.columns, key=lambda c: c.psi)
    colours = [MOVED if c.flagged else MEASURABLE if c.detectable else STEADY for c in cols]
    hover = [f"{c.column}<br>PSI {c.psi:.3f} ({c.size_words}; {c.psi_raw:.3f} before the sample-size correction)<br>{c.test} {c.statistic:.3g}, p corrected "
             f"{c.p_adjusted:.2g}<br>{c.n_reference:,} training rows, {c.n_new:,} new rows<br>{c.change}" for c in cols]
    fig = go.Figure(go.Bar(x=[c.psi for c in cols], y=[c.column for c in cols], orientation="h",
                           marker_color=colours, hovertext=hover, hoverinfo="text"))
    for x, text in ((report.min_psi, "moved"), (MAJOR_PSI, "major")):
        fig.add_vline(x=x, line=dict(color="#999999", dash="dash", width=1), annotation_text=text,
                      annotation_position="top")
    fig.update_xaxes(title="population stability index (PSI), minus what sample size alone gives", rangemode="tozero")
    return style(fig, f"How far each column moved ({report.n_new:,} new rows vs {report.n_reference:,} training rows)"
                      " — red: moved", height=max(300, 28 * len(cols) + 120), showlegend=False)


def predictions_figure(result: BatchResult) -> go.Figure:
    """What the model said about the new rows: the spread of the predicted probability, the classes, or the values."""
    done = result.predicted
    if not done.any():
        return empty_figure("Predictions", "No row could be predicted.")
    if result.classes is None:
        fig = go.Figure(go.Histogram(x=result.labels[done].astype(float), marker_color=PALETTE[0], nbinsx=30))
        fig.update_xaxes(title=f"predicted {result.target}")
        fig.update_yaxes(title="rows")
        return style(fig, f"Predicted {result.target} of the {int(done.sum()):,} new rows", showlegend=False)
    if len(result.classes) == 2 and result.proba is not None and np.isfinite(result.proba[done]).all():
        positive = result.positive_label or default_positive_label(result.classes)
        fig = go.Figure(go.Histogram(x=result.proba[done, result.classes.index(positive)], xbins=dict(start=0, end=1.0001, size=0.05),
                                     marker_color=PALETTE[0]))
        fig.update_xaxes(title=f"probability of '{positive}'", tickformat=".0%", range=[0, 1])
        fig.update_yaxes(title="rows")
        return style(fig, f"How sure the model is: probability of '{positive}' over the {int(done.sum()):,} new rows",
                     showlegend=False)
    labels, counts = np.unique(result.labels[done].astype(str), return_counts=True)
    fig = go.Figure(go.Bar(x=labels, y=counts, marker_color=PALETTE[0]))
    fig.update_xaxes(title=f"predicted {result.target}")
    fig.update_yaxes(title="rows")
    return style(fig, f"Predicted {result.target} of the {int(done.sum()):,} new rows", showlegend=False)
