"""The shared look of every chart: template, height, palette (also the app's theme), fonts, colour-blind-safe good /
bad colours, title placement, and an empty-figure placeholder."""
from __future__ import annotations

import plotly.graph_objects as go

TEMPLATE = "plotly_white"
HEIGHT = 380
# The house palette (Okabe & Ito, colour-blind safe), shared by every chart, the app theme
# (.streamlit/config.toml: primaryColor, chartCategoricalColors), the slides and the report.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
GOOD, BAD, CAUTION, MUTED = "#0072B2", "#D55E00", "#E69F00", "#C3CBD4"   # blue / vermillion: safe for colour-blindness
INK = "#1b1f24"
FONT = "Source Sans Pro, Source Sans 3, Segoe UI, Helvetica Neue, Arial, sans-serif"


def style(fig: go.Figure, title: str, *, height: int = HEIGHT, **layout) -> go.Figure:
    """Apply the shared look: template, height, title, compact margins, legend on top."""
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title=dict(text=title, x=0.0, xanchor="left"),
        margin=dict(l=60, r=20, t=60, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        colorway=list(PALETTE),
        font=dict(family=FONT, color=INK),
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
