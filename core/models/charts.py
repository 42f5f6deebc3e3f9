"""Figures for the model zoo's own studies (pure: result in, plotly Figure out): transfer learning against
training from scratch at each label budget."""
from __future__ import annotations

import plotly.graph_objects as go

from core.common.charts import PALETTE, style
from core.models._transfer import STARTS


def transfer_figure(result) -> go.Figure:
    """Test accuracy per label budget, one bar per start (scratch first), on the same test pictures."""
    table = result.table()
    fig = go.Figure()
    for i, start in enumerate(s for s in STARTS if s in set(table["start"])):
        rows = table[table["start"] == start]
        fig.add_trace(go.Bar(x=[f"{result.budget_words(b, n).split(':')[0]} ({n:,} pictures)"
                                for b, n in zip(rows["budget"], rows["labelled"])],
                             y=100 * rows["accuracy"], name=STARTS[start], marker_color=PALETTE[i % len(PALETTE)],
                             text=[f"{a:.1%}" for a in rows["accuracy"]], textposition="auto"))
    low = max(0.0, 100 * float(table["accuracy"].min()) - 10)
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="Labelled training pictures")
    fig.update_yaxes(title_text=f"Test accuracy (%), {result.test_pictures:,} pictures", range=[low, 100])
    return style(fig, f"Pretrained start against training from scratch, on {result.target}")
