"""Heat maps drawn over the picture (pure: explanation results in, plotly Figure out).

The picture is a grey or colour ``go.Image``; the attribution is a ``go.Heatmap`` on top whose colour scale is
transparent at zero, red where pixels pushed towards the class and blue where they pushed away, so the picture
stays readable underneath. LIME's regions are drawn the same way with one weight per region.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.common.charts import PALETTE, style
from core.data.image_charts import to_rgb
from core.explain._images import probability_text

# transparent at 0, red for evidence towards the class, blue against it
HEAT = [[0.0, "rgba(33,102,172,0.85)"], [0.35, "rgba(103,169,207,0.45)"], [0.5, "rgba(255,255,255,0)"],
        [0.65, "rgba(239,138,98,0.45)"], [1.0, "rgba(178,24,43,0.85)"]]


def _overlay(fig: go.Figure, picture: np.ndarray, heat: np.ndarray | None, value_range, row: int, col: int,
             showscale: bool, scale_title: str = "push") -> None:
    fig.add_trace(go.Image(z=to_rgb(picture, value_range), hoverinfo="skip"), row=row, col=col)
    if heat is not None:
        limit = float(np.abs(heat).max()) or 1.0
        fig.add_trace(go.Heatmap(z=heat, colorscale=HEAT, zmin=-limit, zmax=limit, showscale=showscale,
                                 colorbar=dict(title=scale_title, len=0.8, thickness=12),
                                 hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>"), row=row, col=col)


def _bare_axes(fig: go.Figure) -> None:
    """No ticks or grid; go.Image already keeps each panel's pixels square and its rows top-down."""
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)


def picture_figure(explanation, value_range, lime=None, method_title: str = "") -> go.Figure:
    """The picture, the map for the predicted class, the map for the chosen class, and LIME's regions."""
    panels = [("The picture", None, None)]
    panels.append((f"For '{explanation.predicted}' (predicted)", explanation.maps[explanation.predicted], None))
    if explanation.chosen != explanation.predicted:
        panels.append((f"For '{explanation.chosen}' (chosen)", explanation.maps[explanation.chosen], None))
    if lime is not None:
        panels.append((f"LIME regions, '{lime.target}'", None, lime.weight_map()))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.03)
    for col, (_title, attribution, region) in enumerate(panels, 1):
        heat = attribution.sum(axis=0) if attribution is not None else region
        _overlay(fig, explanation.picture, heat, value_range, 1, col, showscale=False)   # each panel has its own scale
    _bare_axes(fig)
    title = (f"Where the network looked ({method_title or explanation.method.replace('_', ' ')}): red pushed towards "
             "the class, blue away")
    return style(fig, title, height=340).update_layout(margin=dict(l=10, r=10, t=80, b=10))


def top_classes_figure(explanation) -> go.Figure:
    """The three most likely classes and their probabilities."""
    names = [c for c, _p in explanation.top3][::-1]
    probs = [p for _c, p in explanation.top3][::-1]
    colours = [PALETTE[2] if c == explanation.truth else PALETTE[0] for c in names]
    fig = go.Figure(go.Bar(x=[100 * p for p in probs], y=[f"'{c}'" for c in names], orientation="h",
                           marker_color=colours, text=[probability_text(p) for p in probs], textposition="auto"))
    fig.update_xaxes(title_text="Probability (%)", range=[0, 100])
    return style(fig, "Top 3 classes" + (" (green: the true class)" if explanation.truth else ""), height=240)


def compare_methods_figure(picture: np.ndarray, maps: dict[str, np.ndarray], value_range) -> go.Figure:
    """The same picture under each method's map (e.g. captum against SHAP's DeepExplainer)."""
    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=list(maps), horizontal_spacing=0.03)
    for col, heat in enumerate(maps.values(), 1):
        _overlay(fig, picture, np.asarray(heat).sum(axis=0), value_range, 1, col, showscale=False)
    _bare_axes(fig)
    fig = style(fig, "The same picture, two ways of sharing out the evidence", height=300)
    return fig.update_layout(margin=dict(l=10, r=10, t=80, b=10))


def mistakes_figure(mistakes, value_range, per_row: int = 4) -> go.Figure:
    """The most confident mistakes, each with the map of the class the network wrongly chose."""
    rows = max(1, -(-len(mistakes) // per_row))
    titles = [f"is '{m.truth}', said '{m.predicted}' ({probability_text(m.confidence)})" for m in mistakes]
    fig = make_subplots(rows=rows, cols=per_row, subplot_titles=titles + [""] * (rows * per_row - len(titles)),
                        horizontal_spacing=0.02, vertical_spacing=0.12)
    for i, m in enumerate(mistakes):
        _overlay(fig, m.picture, m.attribution.sum(axis=0), value_range, i // per_row + 1, i % per_row + 1,
                 showscale=False)
    _bare_axes(fig)
    fig.update_annotations(font_size=12)
    return style(fig, "The most confident mistakes (red: what made the network choose the wrong class)",
                 height=80 + 230 * rows).update_layout(margin=dict(l=10, r=10, t=90, b=10))
