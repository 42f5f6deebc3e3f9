"""Figures for the Recommend page (pure functions: results in, plotly Figures out; no Streamlit)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.common.charts import style
from core.recsys._base import MODEL_TITLES
from core.recsys._data import Interactions
from core.recsys._metrics import K_MAX, METRIC_TITLES, RANKING_METRICS, RATING_BASELINE, Evaluation
from core.recsys._tuning import Tuning

#: One colour per model, the same on every chart.
MODEL_COLORS = {"popular": "#9aa5b1", "content": "#2ca02c", "item_knn": "#8c564b", "als": "#1f77b4",
                "bpr": "#9467bd", "svd": "#ff7f0e", "hybrid": "#d62728"}


def _legend_below(fig: go.Figure, y: float = -0.12) -> go.Figure:
    """Seven models do not fit beside the title: their legend goes under the plot."""
    return fig.update_layout(legend=dict(orientation="h", yanchor="top", y=y, xanchor="left", x=0))


def long_tail_figure(data: Interactions) -> go.Figure:
    """Interactions per item, items sorted from most to least popular: the long tail."""
    counts = np.sort(np.bincount(data.events["item"], minlength=data.n_items))[::-1]
    rank_share = np.arange(1, len(counts) + 1) / len(counts)
    fig = go.Figure(go.Scatter(x=rank_share, y=np.maximum(counts, 0.8), mode="lines", fill="tozeroy",
                               line=dict(color=MODEL_COLORS["als"]),
                               hovertemplate="top %{x:.0%} of items<br>%{y:.0f} interactions<extra></extra>"))
    fig.update_xaxes(title=f"{data.item_noun.capitalize()}s, most interacted first (share of the catalogue)",
                     tickformat=".0%")
    fig.update_yaxes(title="Interactions per item (log scale)", type="log", dtick=1)
    return style(fig, "Popularity is long-tailed: a few items get most interactions", height=320)


def metrics_figure(table: pd.DataFrame, k: int) -> go.Figure:
    """Ranking metrics @k side by side, one bar group per metric, one colour per model."""
    fig = go.Figure()
    for _, row in table.iterrows():
        fig.add_trace(go.Bar(name=row["title"], x=[f"{METRIC_TITLES[m]}@{k}" for m in RANKING_METRICS],
                             y=[row[m] for m in RANKING_METRICS], marker_color=MODEL_COLORS.get(row["model"]),
                             hovertemplate="%{x}: %{y:.3f}<extra>" + row["title"] + "</extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="Score on held-out interactions (0-1, higher is better)", rangemode="tozero")
    return _legend_below(style(fig, f"Ranking quality of each model's top {k}", height=420))


def at_k_figure(evaluation: Evaluation, metric: str = "ndcg") -> go.Figure:
    """A ranking metric for every list length k = 1..K_MAX, one line per model."""
    fig = go.Figure()
    ks = np.arange(1, K_MAX + 1)
    for key in evaluation.lists:
        values = [evaluation.metrics(key, int(k))[metric] for k in ks]
        fig.add_trace(go.Scatter(x=ks, y=values, mode="lines+markers", name=MODEL_TITLES.get(key, key),
                                 line=dict(color=MODEL_COLORS.get(key)), marker=dict(size=4)))
    fig.update_xaxes(title="k (length of the recommended list)", dtick=2)
    fig.update_yaxes(title=f"{METRIC_TITLES[metric]}@k (0-1)", rangemode="tozero")
    return _legend_below(style(fig, f"{METRIC_TITLES[metric]} as the list gets longer", height=420), y=-0.2)


def variety_figure(table: pd.DataFrame, k: int) -> go.Figure:
    """Catalogue coverage against novelty: how much of the catalogue a model shows and how little-known it is."""
    fig = go.Figure()
    for _, row in table.iterrows():
        fig.add_trace(go.Scatter(
            x=[row["coverage"]], y=[row["novelty"]], mode="markers+text", name=row["title"], text=[row["title"]],
            textposition="top center", marker=dict(size=10 + 60 * row["ndcg"], color=MODEL_COLORS.get(row["model"])),
            hovertemplate=(f"{row['title']}<br>coverage %{{x:.1%}}<br>novelty %{{y:.2f}} bits"
                           f"<br>NDCG@{k} {row['ndcg']:.3f}<extra></extra>")))
    fig.update_xaxes(title=f"Catalogue coverage: share of items in anyone's top {k}", tickformat=".0%")
    fig.update_yaxes(title="Novelty (bits; higher = less known items)")
    return style(fig, "Variety: bigger dots rank better", height=380, showlegend=False)


def rating_figure(table: pd.DataFrame) -> go.Figure:
    """RMSE and MAE of the models that predict star ratings (lower is better)."""
    rated = table.dropna(subset=["rmse"])
    names = [RATING_BASELINE if m == "popular" else t for m, t in zip(rated["model"], rated["title"])]
    fig = go.Figure()
    for metric, opacity in (("rmse", 1.0), ("mae", 0.6)):
        fig.add_trace(go.Bar(name=METRIC_TITLES[metric], x=names, y=rated[metric], opacity=opacity,
                             marker_color=[MODEL_COLORS.get(m) for m in rated["model"]],
                             text=[f"{v:.3f}" for v in rated[metric]], textposition="outside"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="Error in stars (lower is better)", rangemode="tozero")
    return style(fig, "Rating error on held-out ratings (RMSE, then MAE)", height=340)


def tuning_figure(tuning: Tuning) -> go.Figure:
    """Validation NDCG@10 against ALS regularization (left) and against the hybrid's content weight (right)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("ALS regularization", "Hybrid: weight of content"))
    grid = pd.DataFrame(tuning.als, columns=["alpha", "regularization", "ndcg"])
    for alpha, part in grid.groupby("alpha"):
        fig.add_trace(go.Scatter(x=part["regularization"], y=part["ndcg"], mode="lines+markers",
                                 name=f"ALS, alpha {alpha:g}", line=dict(color=MODEL_COLORS["als"])), row=1, col=1)
    if tuning.weights:
        weights = pd.DataFrame(tuning.weights)
        fig.add_trace(go.Scatter(x=weights["weight"], y=weights["ndcg"], mode="lines+markers", name="hybrid",
                                 line=dict(color=MODEL_COLORS["hybrid"])), row=1, col=2)
    fig.update_xaxes(title="regularization (log scale)", type="log", row=1, col=1)
    fig.update_xaxes(title="content weight (0 = ALS only, 1 = content only)", row=1, col=2)
    fig.update_yaxes(title="Validation NDCG@10", rangemode="tozero", row=1, col=1)
    chosen = f"chosen: regularization {tuning.regularization:g}"
    chosen += f", weight {tuning.weight:g}" if tuning.weights else ""
    return style(fig, f"Tuned on a validation split, never the test split ({chosen})", height=360, showlegend=False)
