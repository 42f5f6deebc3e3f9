"""Figures for the money view and the gains chart (pure functions)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.evaluate._money import Economics, best_threshold

TEMPLATE = "plotly_white"


def profit_figure(curve: pd.DataFrame, econ: Economics, chosen: float | None = None) -> go.Figure:
    best = best_threshold(curve)
    fig = go.Figure(go.Scatter(x=curve["threshold"], y=curve["profit"], mode="lines", name="expected profit",
                               hovertemplate="threshold %{x:.2f}: " + econ.currency + "%{y:,.0f}<extra></extra>"))
    fig.add_vline(x=best["threshold"], line_dash="dash", line_color="#2ca02c",
                  annotation_text=f"best {best['threshold']:.2f}")
    if chosen is not None:
        fig.add_vline(x=chosen, line_dash="dot", line_color="#d62728", annotation_text=f"chosen {chosen:.2f}",
                      annotation_position="bottom right")
    fig.update_layout(template=TEMPLATE, height=380, title="Profit on the test rows at each decision threshold",
                      xaxis_title="Decision threshold (flag a row when its probability is at least this)",
                      yaxis_title=f"Profit ({econ.currency})", margin=dict(l=40, r=20, t=60, b=40))
    return fig


def gains_figure(gains: pd.DataFrame, positive_label: str) -> go.Figure:
    share = [0.0, *gains["top_share"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=share, y=[0.0, *gains["gain"]], mode="lines+markers", name="model"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random order", line=dict(dash="dash", color="#999")))
    fig.update_layout(template=TEMPLATE, height=380,
                      title=f"Cumulative gains: share of '{positive_label}' cases caught when acting on the top rows",
                      xaxis_title="Share of rows acted on, highest scores first (%)",
                      yaxis_title=f"Share of '{positive_label}' cases caught (%)", margin=dict(l=40, r=20, t=60, b=40))
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    return fig
