"""Figures for the Train page: loss curves, optimizer comparison, leaderboard (pure functions)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

TEMPLATE = "plotly_white"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def loss_curve_figure(history: list[dict], title: str = "Training curves") -> go.Figure:
    """Training and validation loss per epoch, with the validation score on a second axis."""
    epochs = [h["epoch"] for h in history]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=epochs, y=[h["train_loss"] for h in history], name="training loss", mode="lines"))
    if any(h.get("val_loss") is not None for h in history):
        fig.add_trace(go.Scatter(x=epochs, y=[h.get("val_loss") for h in history], name="validation loss",
                                 mode="lines"))
        fig.add_trace(go.Scatter(x=epochs, y=[h.get("val_score") for h in history], name="validation score",
                                 mode="lines", line=dict(dash="dot"), yaxis="y2"))
    fig.update_layout(template=TEMPLATE, height=360, title=title, xaxis_title="Epoch", yaxis_title="Loss",
                      yaxis2=dict(title="Validation score", overlaying="y", side="right", tickformat=".0%",
                                  showgrid=False),
                      legend=dict(orientation="h", y=-0.2), margin=dict(l=40, r=40, t=60, b=40))
    return fig


def optimizer_curves_figure(curves: dict[str, list[dict]], key: str = "val_loss") -> go.Figure:
    """One line per optimizer: `key` (validation or training loss) per epoch."""
    fig = go.Figure()
    for (name, history), color in zip(curves.items(), PALETTE * 3):
        values = [h.get(key) if h.get(key) is not None else h["train_loss"] for h in history]
        fig.add_trace(go.Scatter(x=[h["epoch"] for h in history], y=values, name=name, mode="lines",
                                 line=dict(color=color)))
    label = "Validation loss" if key == "val_loss" else "Training loss"
    fig.update_layout(template=TEMPLATE, height=380, title=f"{label} per epoch, one line per optimizer",
                      xaxis_title="Epoch", yaxis_title=f"{label} (cross-entropy / MSE)", yaxis_type="log",
                      margin=dict(l=40, r=20, t=60, b=40))
    return fig


def leaderboard_figure(table: pd.DataFrame, metric: str, percent: bool = True) -> go.Figure:
    """Horizontal bars of the test score with the cross-validation mean ± std as error bars."""
    ordered = table.iloc[::-1]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=ordered["model"], x=ordered[metric], orientation="h", name="test split",
                         text=[f"{v:.1%}" if percent else f"{v:,.3g}" for v in ordered[metric]],
                         textposition="auto", marker_color="#1f77b4"))
    fig.add_trace(go.Scatter(y=ordered["model"], x=ordered["cv_mean"], mode="markers", name="cross-validation mean ± std",
                             error_x=dict(type="data", array=ordered["cv_std"]), marker=dict(color="#ff7f0e", size=9)))
    fig.update_layout(template=TEMPLATE, height=80 + 50 * len(table), title=f"Leaderboard by {metric.replace('_', ' ')}",
                      xaxis_title=metric.replace("_", " ") + (" (%)" if percent else ""), yaxis_title="",
                      legend=dict(orientation="h", y=-0.25), margin=dict(l=40, r=20, t=60, b=40))
    if percent:
        low = min((ordered[metric]).min(), (ordered["cv_mean"] - ordered["cv_std"]).min())
        fig.update_xaxes(tickformat=".0%", range=[max(0.0, low - 0.05), 1.0])
    return fig
