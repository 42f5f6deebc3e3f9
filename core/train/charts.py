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
    """Horizontal bars of the cross-validation mean ± std (what the ranking uses), and the chosen model's test score
    with its bootstrap 95% interval (measured once)."""
    ordered = table.iloc[::-1]
    fmt = (lambda v: f"{v:.1%}") if percent else (lambda v: f"{v:,.3g}")
    fig = go.Figure()
    fig.add_trace(go.Bar(y=ordered["model"], x=ordered["cv_mean"], orientation="h",
                         name="cross-validation mean ± std (ranks the models)",
                         error_x=dict(type="data", array=ordered["cv_std"]),
                         text=[fmt(v) for v in ordered["cv_mean"]], textposition="inside", marker_color=PALETTE[0]))
    chosen = ordered[ordered["chosen"]]
    if len(chosen) and chosen["test"].notna().all():
        low, high = chosen["test"] - chosen["test_low"], chosen["test_high"] - chosen["test"]
        fig.add_trace(go.Scatter(y=chosen["model"], x=chosen["test"], mode="markers",
                                 name="chosen model on the test rows (95% interval), measured once",
                                 error_x=dict(type="data", symmetric=False, array=high.fillna(0),
                                              arrayminus=low.fillna(0)),
                                 marker=dict(color=PALETTE[1], size=11, symbol="diamond")))
    fig.update_layout(template=TEMPLATE, height=120 + 50 * len(table),
                      title=f"Leaderboard by cross-validated {metric.replace('_', ' ')}",
                      xaxis_title=metric.replace("_", " ") + (" (%)" if percent else ""), yaxis_title="",
                      legend=dict(orientation="h", y=-0.3), margin=dict(l=40, r=20, t=60, b=40))
    if percent:
        values = [*(ordered["cv_mean"] - ordered["cv_std"].fillna(0)), *ordered["test_low"].dropna()]
        fig.update_xaxes(tickformat=".0%", range=[max(0.0, min(values) - 0.05), 1.0])
    return fig
