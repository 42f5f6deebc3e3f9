"""Figures for the Compress page: size / latency against the run's metric with the Pareto front, and latency per
variant at batch 1 and 256 (pure functions: a `TradeoffTable` in, a plotly Figure out)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.common.charts import PALETTE, style
from core.compress._pick import pareto_front
from core.compress._table import TradeoffTable
from core.evaluate.charts import metric_name

ENGINE_COLORS = {"PyTorch": PALETTE[0], "ONNX Runtime": PALETTE[1], "scikit-learn": PALETTE[2]}


def _score_values(table: TradeoffTable) -> tuple[np.ndarray, str, str]:
    """The metric of every row (accuracy in %), its axis title and its hover format."""
    values = np.array([r[table.metric] for r in table.rows], dtype=float)
    if table.metric == "accuracy":
        return values * 100, f"{metric_name(table.metric)} on the test split (%)", "%{y:.1f}%"
    return values, f"{metric_name(table.metric)} on the test split", "%{y:.3f}"


def tradeoff_figure(table: TradeoffTable, cost: str = "bytes") -> go.Figure:
    """Accuracy against a cost ('bytes' on disk or 'b1_ms' latency at batch 1); the Pareto front as a line."""
    scores, score_title, score_fmt = _score_values(table)
    costs = np.array([r[cost] / 1024 if cost == "bytes" else r[cost] for r in table.rows], dtype=float)
    cost_title = "Size on disk (KB, log scale)" if cost == "bytes" else "Latency per request, batch 1 (ms, log scale)"
    cost_fmt = "%{x:,.1f} KB" if cost == "bytes" else "%{x:.3f} ms"
    front = pareto_front(costs, scores)
    names = [r["variant"] for r in table.rows]
    fig = go.Figure()
    for engine, color in ENGINE_COLORS.items():
        idx = [i for i, r in enumerate(table.rows) if r["engine"] == engine]
        if not idx:
            continue
        fig.add_trace(go.Scatter(
            x=costs[idx], y=scores[idx], mode="markers", name=engine, text=[names[i] for i in idx],
            marker=dict(color=color, size=[14 if front[i] else 9 for i in idx],
                        symbol=["diamond" if table.rows[i]["noisy"] else "circle" for i in idx],
                        line=dict(width=[2 if front[i] else 0 for i in idx], color="#222")),
            hovertemplate=f"%{{text}}<br>{cost_fmt}<br>{score_fmt}<extra>{engine}</extra>"))
    order = np.argsort(costs[front])
    fig.add_trace(go.Scatter(x=costs[front][order], y=scores[front][order], mode="lines+text", name="Pareto front",
                             text=[names[i] for i in np.flatnonzero(front)[order]], textposition="top center",
                             textfont=dict(size=10), line=dict(color="#222", dash="dot", shape="hv"),
                             hoverinfo="skip"))
    title = "Size" if cost == "bytes" else "Latency"
    style(fig, f"{title} vs {metric_name(table.metric).lower()}", height=460, xaxis_title=cost_title,
          yaxis_title=score_title, xaxis_type="log")
    return fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0.0))


def latency_figure(table: TradeoffTable) -> go.Figure:
    """Median latency per variant at batch 1 and 256, with p90 as the error bar."""
    names = [r["variant"] for r in table.rows]
    fig = go.Figure()
    for key, label in (("b1", "batch 1"), ("b256", "batch 256 (per row)")):
        per_row = 1.0 if key == "b1" else 256.0
        med = np.array([r[f"{key}_ms"] for r in table.rows]) / per_row
        p90 = np.array([r[f"{key}_p90_ms"] for r in table.rows]) / per_row
        fig.add_trace(go.Bar(y=names, x=med, name=label, orientation="h",
                             error_x=dict(type="data", symmetric=False, array=p90 - med, arrayminus=np.zeros_like(med)),
                             hovertemplate="%{y}<br>%{x:.4f} ms<extra>" + label + "</extra>"))
    threads = f"{table.threads} thread{'s' if table.threads > 1 else ''}"
    return style(fig, f"Latency per row (median, bar to p90; {threads})", height=max(360, 28 * len(names)),
                 xaxis_title="Milliseconds per row (log scale)", xaxis_type="log", barmode="group",
                 yaxis=dict(autorange="reversed"))
