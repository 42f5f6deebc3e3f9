"""Figures for the Explain page (pure: results in, plotly Figures out; the HTML report reuses them).

Every figure's title names the method and its fidelity: SHAP's additivity error, LIME's R².
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.common.charts import style
from core.explain._interactions import InteractionResult
from core.explain._narrate import encoded_data, fmt_value
from core.explain._permutation import PermutationResult
from core.explain._result import Explanation

UP, DOWN, NEUTRAL = "#d62728", "#1f77b4", "#9aa5b1"
LOW_HIGH = [[0.0, "#1f77b4"], [0.5, "#b4a7d6"], [1.0, "#d62728"]]


def _titled(main: str, sub: str) -> str:
    return f"{main}<br><sup>{sub}</sup>"


def _short(expl: Explanation, k: int) -> str:
    """The output's name without its explanation in brackets (for axis titles)."""
    return expl.output_labels[k].split(" (")[0]


def _axis_label(expl: Explanation, k: int) -> str:
    unit = " (percentage points)" if expl.output_kind == "probability" else ""
    return f"SHAP value: push on the {_short(expl, k)}{unit}"


def _scaled(expl: Explanation, values: np.ndarray) -> np.ndarray:
    """Probability pushes are drawn in percentage points, other outputs as they are."""
    return values * 100 if expl.output_kind == "probability" else values


def importance_figure(expl: Explanation, k: int = 0, top: int = 15) -> go.Figure:
    """Mean |SHAP| per column, largest on top."""
    imp = expl.importance(k).iloc[:top][::-1]
    fig = go.Figure(go.Bar(x=_scaled(expl, imp.to_numpy()), y=list(imp.index), orientation="h",
                           marker_color=UP, hovertemplate="%{y}: %{x:.3g}<extra></extra>"))
    style(fig, _titled("What drives the model overall (mean |SHAP|)", expl.fidelity()),
          height=max(320, 26 * len(imp) + 120))
    fig.update_layout(xaxis_title=f"Average size of the push on the {_short(expl, k)}"
                                  f"{' (points)' if expl.output_kind == 'probability' else ''}", showlegend=False)
    return fig


def _swarm_offsets(x: np.ndarray, width: float = 0.38, bins: int = 50) -> np.ndarray:
    """Vertical offsets that spread points sharing similar x (a beeswarm), within ±width."""
    if len(x) == 0:
        return x
    lo, hi = float(np.min(x)), float(np.max(x))
    idx = np.zeros(len(x), dtype=int) if hi == lo else np.minimum(((x - lo) / (hi - lo) * bins).astype(int), bins - 1)
    step = width / max(np.bincount(idx).max() / 2.0, 1.0)
    order = np.argsort(idx, kind="stable")
    sorted_bins = idx[order]
    j = np.arange(len(x)) - np.searchsorted(sorted_bins, sorted_bins, side="left")   # place within its bin
    offsets = np.empty(len(x))
    offsets[order] = ((j + 1) // 2) * step * np.where(j % 2 == 1, 1.0, -1.0)
    return offsets


def _colour_scale(column: np.ndarray) -> np.ndarray:
    """Each value's rank within its column, 0 (lowest) … 1 (highest); NaN stays NaN."""
    ranks = pd.Series(column).rank(pct=True).to_numpy()
    return ranks


def beeswarm_figure(expl: Explanation, k: int = 0, top: int = 12) -> go.Figure:
    """One dot per row and column: its SHAP value, coloured by the column's value (blue low, red high;
    category columns grey)."""
    imp = expl.importance(k).iloc[:top]
    encoded = encoded_data(expl)
    numeric = {"x": [], "y": [], "c": [], "t": []}
    grey = {"x": [], "y": [], "c": [], "t": []}
    for rank, feature in enumerate(imp.index):
        j = expl.features.index(feature)
        v = _scaled(expl, expl.values[:, j, k])
        target = grey if feature in expl.categorical else numeric
        target["x"].append(v)
        target["y"].append(len(imp) - 1 - rank + _swarm_offsets(v))
        target["c"].append(_colour_scale(encoded[:, j]))
        target["t"] += [f"{feature} = {fmt_value(val)}" for val in expl.data[feature].to_numpy()]
    fig = go.Figure()
    for part, marker in ((numeric, dict(colorscale=LOW_HIGH, cmin=0, cmax=1, colorbar=dict(
            title="value", tickvals=[0, 1], ticktext=["low", "high"], len=0.6, thickness=12))),
                         (grey, dict(color=NEUTRAL))):
        if not part["x"]:
            continue
        if "colorscale" in marker:
            marker["color"] = np.nan_to_num(np.concatenate(part["c"]), nan=0.5)
        fig.add_trace(go.Scattergl(x=np.concatenate(part["x"]), y=np.concatenate(part["y"]), mode="markers",
                                   text=part["t"], hovertemplate="%{text}<br>SHAP %{x:.3g}<extra></extra>",
                                   marker=dict(size=5, opacity=0.75, **marker)))
    fig.add_vline(x=0, line_color="#999999", line_width=1)
    note = " · grey: category columns" if grey["x"] else ""
    style(fig, _titled("How each column pushes, row by row (beeswarm)", expl.fidelity() + note),
          height=max(360, 34 * len(imp) + 120))
    fig.update_layout(xaxis_title=_axis_label(expl, k), showlegend=False,
                      yaxis=dict(tickvals=list(range(len(imp))), ticktext=list(imp.index[::-1]),
                                 range=[-0.6, len(imp) - 0.4]))
    return fig


def _axis_values(expl: Explanation, feature: str) -> tuple[np.ndarray, dict]:
    """x positions for a column (category codes with jitter for categories) and axis settings."""
    column = expl.data[feature]
    if feature in expl.categorical:
        cats = pd.Categorical(column.astype(str))
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(column))
        return cats.codes + jitter, dict(tickvals=list(range(len(cats.categories))), ticktext=list(cats.categories))
    return pd.to_numeric(column, errors="coerce").to_numpy(float), {}


def dependence_figure(expl: Explanation, feature: str, colour: str | None, k: int = 0) -> go.Figure:
    """A column's value against its SHAP value, coloured by the column it seems to interact with most."""
    j = expl.features.index(feature)
    x, xaxis = _axis_values(expl, feature)
    v = _scaled(expl, expl.values[:, j, k])
    marker = dict(size=6, opacity=0.75, color=NEUTRAL)
    hover = [f"{feature} = {fmt_value(a)}" for a in expl.data[feature]]
    if colour:
        c = expl.features.index(colour)
        cvals = encoded_data(expl)[:, c]
        marker.update(color=np.nan_to_num(_colour_scale(cvals), nan=0.5), colorscale=LOW_HIGH, cmin=0, cmax=1,
                      colorbar=dict(title=colour[:18], tickvals=[0, 1], ticktext=["low", "high"], thickness=12))
        hover = [f"{h}<br>{colour} = {fmt_value(b)}" for h, b in zip(hover, expl.data[colour])]
    fig = go.Figure(go.Scattergl(x=x, y=v, mode="markers", marker=marker, text=hover,
                                 hovertemplate="%{text}<br>SHAP %{y:.3g}<extra></extra>"))
    fig.add_hline(y=0, line_color="#999999", line_width=1)
    style(fig, _titled(f"Dependence: how {feature} pushes the {_short(expl, k)}", expl.fidelity()))
    fig.update_layout(xaxis=dict(title=feature, **xaxis), showlegend=False,
                      yaxis_title=f"SHAP value of {feature}{' (points)' if expl.output_kind == 'probability' else ''}")
    return fig


def waterfall_figure(expl: Explanation, i: int = 0, k: int = 0, top: int = 10, title: str | None = None) -> go.Figure:
    """From the base value to this row's output, one bar per column (the smaller ones grouped)."""
    values = expl.values[i, :, k]
    order = np.argsort(-np.abs(values))
    shown, rest = order[:top], order[top:]
    labels = [f"{expl.features[j]} = {fmt_value(expl.data.iloc[i][expl.features[j]])}" for j in shown]
    pushes = list(values[shown])
    if len(rest):
        labels.append(f"{len(rest)} other columns")
        pushes.append(float(values[rest].sum()))
    scale = 100.0 if expl.output_kind == "probability" else 1.0
    base, out = float(expl.base_values[k]) * scale, float(expl.outputs[i, k]) * scale
    # plotly draws a horizontal waterfall from the bottom up: base, small pushes, … largest, output
    y = ["average (base value)"] + labels[::-1] + ["this row"]
    x = [base] + [p * scale for p in pushes[::-1]] + [out]
    pct = "%" if scale == 100.0 else ""
    text = [f"{base:.3g}{pct}"] + [f"{p * scale:+.3g}" for p in pushes[::-1]] + [f"{out:.3g}{pct}"]
    steps = np.cumsum(x[:-1])
    anchor = [] if expl.output_kind == "value" else [0.0]        # 0 means something for probabilities and log-odds
    lo, hi = min(anchor + [float(steps.min()), out]), max(anchor + [float(steps.max()), out])
    pad = 0.18 * (hi - lo or 1.0)
    fig = go.Figure(go.Waterfall(
        orientation="h", y=y, x=x, measure=["absolute"] + ["relative"] * len(pushes) + ["total"], text=text,
        textposition=["outside"] + ["auto"] * len(pushes) + ["outside"], cliponaxis=False,
        increasing=dict(marker_color=UP), decreasing=dict(marker_color=DOWN),
        totals=dict(marker_color="#555555"), connector=dict(line=dict(color="#bbbbbb", width=1))))
    fig.update_xaxes(range=[lo - pad, hi + pad])
    row_id = expl.row_ids[i]
    main = title or f"Why this prediction for row {row_id} (SHAP waterfall)"
    sub = f"{expl.title} · additivity error {abs(base + sum(x[1:-1]) - out) / scale:.1e}"
    style(fig, _titled(main, sub), height=max(360, 30 * len(y) + 120))
    unit = f"{_short(expl, k)}{' (%)' if expl.output_kind == 'probability' else ''}"
    fig.update_layout(xaxis_title=unit, showlegend=False, margin=dict(l=220, r=40, t=70, b=50))
    return fig


def lime_figure(result, top: int = 10) -> go.Figure:
    """LIME's strongest conditions and their weights in the local surrogate."""
    n = min(top, len(result.weights))
    order = np.argsort(-np.abs(result.weights))[:n][::-1]
    w = result.weights[order]
    scale = 100.0 if result.output_kind == "probability" else 1.0
    fig = go.Figure(go.Bar(x=w * scale, y=[result.conditions[i] for i in order], orientation="h",
                           marker_color=[UP if v > 0 else DOWN for v in w],
                           hovertemplate="%{y}: %{x:+.3g}<extra></extra>"))
    style(fig, _titled(f"LIME for row {result.row_id}: strongest conditions", result.title()),
          height=max(320, 28 * n + 120))
    fig.update_layout(xaxis_title=(f"Weight (points of probability of '{result.output_name}')" if scale == 100
                                   else "Weight (push on the predicted value)"), showlegend=False,
                      margin=dict(l=220, r=30, t=70, b=50))
    return fig


def shap_lime_figure(shap_row: pd.Series, lime, shap_title: str, top: int = 10) -> go.Figure:
    """Side by side: each column's share of the total |push| under SHAP and under LIME for this row."""
    lime_row = lime.by_feature()
    shap_share = shap_row.abs() / max(float(shap_row.abs().sum()), 1e-12)
    lime_share = lime_row.abs() / max(float(lime_row.abs().sum()), 1e-12)
    cols = list(shap_share.sort_values(ascending=False).index[:top])[::-1]
    fig = go.Figure([
        go.Bar(x=shap_share.reindex(cols).fillna(0), y=cols, orientation="h", name="SHAP", marker_color=UP),
        go.Bar(x=lime_share.reindex(cols).fillna(0), y=cols, orientation="h", name="LIME (surrogate)",
               marker_color=NEUTRAL)])
    style(fig, _titled("SHAP and LIME for this row, side by side",
                       f"{shap_title} vs LIME (R² {lime.score:.2f}) · share of each method's total |weight|"),
          height=max(340, 34 * len(cols) + 120))
    fig.update_layout(barmode="group", xaxis=dict(title="Share of the total push", tickformat=".0%"),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0.0))
    return fig


def permutation_figure(result: PermutationResult, top: int = 15) -> go.Figure:
    """Score drop when each column is shuffled on the test rows (mean ± std over shuffles)."""
    order = np.argsort(-result.mean)[:top][::-1]
    scale = 100.0 if result.metric == "accuracy" else 1.0
    fig = go.Figure(go.Bar(x=result.mean[order] * scale, y=[result.features[i] for i in order], orientation="h",
                           error_x=dict(array=result.std[order] * scale, color="#666666"), marker_color=NEUTRAL))
    unit = "points of accuracy" if result.metric == "accuracy" else "R²"
    style(fig, _titled("Permutation importance on the test rows (model-agnostic cross-check)",
                       f"{result.n_rows:,} test rows · {result.n_repeats} shuffles per column · seed {result.seed}"),
          height=max(320, 26 * len(order) + 120))
    fig.update_layout(xaxis_title=f"Drop in {unit} when the column is shuffled", showlegend=False)
    return fig


def interaction_figure(result: InteractionResult, k: int = 0, top: int = 12) -> go.Figure:
    """Mean |SHAP interaction| between the strongest columns (diagonal: main effects left out)."""
    m = result.mean_abs[:, :, k] * (100.0 if result.output_kind == "probability" else 1.0)
    strength = m.sum(axis=1) - np.diag(m)
    idx = list(np.argsort(-strength)[:top])
    sub = m[np.ix_(idx, idx)] * 2
    np.fill_diagonal(sub, np.nan)
    names = [result.features[i] for i in idx]
    fig = go.Figure(go.Heatmap(z=sub, x=names, y=names, colorscale="Reds", hoverongaps=False,
                               hovertemplate="%{y} × %{x}: %{z:.3g}<extra></extra>",
                               colorbar=dict(title="mean |interaction|" + (" (points)" if result.output_kind ==
                                                                          "probability" else ""), thickness=12)))
    style(fig, _titled("Which columns work together (Tree SHAP interaction values)",
                       f"{result.n_rows:,} rows · exact · computed in {result.seconds:.1f} s"),
          height=max(380, 30 * len(names) + 160))
    fig.update_layout(yaxis=dict(autorange="reversed"), margin=dict(l=160, r=20, t=70, b=120))
    return fig
