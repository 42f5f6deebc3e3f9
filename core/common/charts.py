"""The shared look of every chart: template, height, palette, title placement, and an empty-figure placeholder."""
from __future__ import annotations

import plotly.graph_objects as go

TEMPLATE = "plotly_white"
HEIGHT = 380
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def style(fig: go.Figure, title: str, *, height: int = HEIGHT, **layout) -> go.Figure:
    """Apply the shared look: template, height, title, compact margins, legend on top."""
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title=dict(text=title, x=0.0, xanchor="left"),
        margin=dict(l=60, r=20, t=60, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        **layout,
    )
    return fig


def empty_figure(title: str, message: str) -> go.Figure:
    """A figure with no data and a centred message (e.g. "No cross-validation was run")."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style(fig, title)
