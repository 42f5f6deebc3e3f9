"""Figures for the Tune page (pure functions: a TuneStatus in, a plotly Figure out).

History, importances and strategy comparison are drawn here; the landscape (contour / slice) and parallel
coordinates reuse Optuna's plotly visualizations on an in-memory copy of the finished trials, restyled like the
rest. Optuna is imported only by the figures that use it.
"""
from __future__ import annotations

import warnings

import plotly.graph_objects as go

from core.common.charts import PALETTE, empty_figure, style
from core.tune._config import STRATEGIES
from core.tune._importance import memory_study
from core.tune._status import TuneStatus

BEST_COLOR = "#d62728"


def _score_axis(fig: go.Figure, status: TuneStatus, values: list[float]) -> None:
    """Title with units; percentages with enough decimals that close ticks do not read the same."""
    metric = status.metric
    title = f"Cross-validated {metric.label.lower()}" + (" (%)" if metric.percent else "")
    narrow = values and max(values) - min(values) < 0.02
    fig.update_yaxes(title=title, tickformat=(".2%" if narrow else ".1%") if metric.percent else None)


def history_figure(status: TuneStatus) -> go.Figure:
    """Every finished trial's score (one colour per worker) and the best-so-far line."""
    title = "How the search got there: each trial and the best so far"
    done = status.complete_trials()
    if not done:
        return empty_figure(title, "No trial has finished yet.")
    fig = go.Figure()
    workers = sorted({t.user_attrs.get("worker", "?") for t in done})
    for i, worker in enumerate(workers):
        mine = [t for t in done if t.user_attrs.get("worker", "?") == worker]
        fig.add_trace(go.Scatter(
            x=[t.number for t in mine], y=[t.value for t in mine], mode="markers",
            name=f"worker {worker}" if len(workers) > 1 else "trial", marker=dict(color=PALETTE[i % len(PALETTE)],
                                                                                  size=8, opacity=0.75),
            customdata=[[str(t.params)] for t in mine],
            hovertemplate="trial %{x}: %{y}<br>%{customdata[0]}<extra></extra>"))
    numbers, best = status.best_so_far()
    fig.add_trace(go.Scatter(x=numbers, y=best, mode="lines", line=dict(color=BEST_COLOR, width=2, shape="hv"),
                             name="best so far"))
    fig.update_xaxes(title="Trial number")
    _score_axis(fig, status, [t.value for t in done])
    return style(fig, title)


def importance_figure(shares: dict[str, float], title: str = "Which settings matter") -> go.Figure:
    """Horizontal bars: each tuned setting's share of the importance (sums to 100%)."""
    if not shares:
        return empty_figure(title, "Needs at least 3 finished trials with different scores.")
    names = list(shares)[::-1]
    fig = go.Figure(go.Bar(x=[shares[n] for n in names], y=names, orientation="h", marker_color=PALETTE[0],
                           text=[f"{shares[n]:.0%}" for n in names], textposition="auto"))
    fig.update_xaxes(title="Share of importance (%)", tickformat=".0%", range=[0, 1])
    return style(fig, title, height=max(220, 90 + 40 * len(names)))


def _optuna_figure(plot, status: TuneStatus, title: str, **kwargs) -> go.Figure:
    """One of Optuna's plotly visualizations of the finished trials, in the shared look."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # Optuna's experimental-feature warnings
        fig = plot(memory_study(status), target_name=f"CV {status.metric.label.lower()}", **kwargs)
    return style(fig, title, height=420)


def landscape_figure(status: TuneStatus, shares: dict[str, float]) -> go.Figure:
    """Contour of the score over the two most important settings (a slice plot when only one is tuned)."""
    import optuna
    params = list(shares)[:2]
    if not params:
        return empty_figure("Score landscape", "Needs at least 3 finished trials with different scores.")
    if len(params) == 2:
        return _optuna_figure(optuna.visualization.plot_contour, status,
                              "Score over the two most important settings", params=params)
    return _optuna_figure(optuna.visualization.plot_slice, status, "Score against the tuned setting", params=params)


def parallel_figure(status: TuneStatus) -> go.Figure:
    """Parallel coordinates: one line per finished trial across every tuned setting, coloured by score."""
    import optuna
    if len(status.complete_trials()) < 2:
        return empty_figure("Every trial's settings", "Needs at least 2 finished trials.")
    return _optuna_figure(optuna.visualization.plot_parallel_coordinate, status,
                          "Every trial's settings, coloured by score")


def compare_figure(statuses: dict[str, TuneStatus]) -> go.Figure:
    """Best score so far against the number of finished trials, one line per strategy."""
    title = "Compare strategies: best score so far after each trial"
    curves = {k: s.best_so_far()[1] for k, s in statuses.items() if s.complete_trials()}
    if not curves:
        return empty_figure(title, "No trial has finished yet.")
    fig = go.Figure()
    for (strategy, curve), color in zip(curves.items(), PALETTE * 2):
        fig.add_trace(go.Scatter(x=list(range(1, len(curve) + 1)), y=curve, mode="lines+markers",
                                 name=STRATEGIES.get(strategy, strategy), line=dict(color=color, shape="hv"),
                                 marker=dict(size=5)))
    fig.update_xaxes(title="Finished trials")
    _score_axis(fig, next(iter(statuses.values())), [v for curve in curves.values() for v in curve])
    return style(fig, title)
