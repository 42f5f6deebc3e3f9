"""Figures for the Data page and the report's data section (pure: results in, plotly Figure out).

Each takes a ``Dataset``, a ``Profile`` or a ``CleaningPreview`` and returns a figure titled with what
it shows, with units on the axes; pages only call ``st.plotly_chart`` on it.
"""
from __future__ import annotations

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.common.charts import TEMPLATE
from core.data._dataset import Dataset
from core.data._profile import CleaningPreview, Profile, sample_note, sample_rows

HEIGHT = 360  # the Data page's charts, a little lower than the shared core.common.charts.HEIGHT


def _style(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    """The Data page look: shared template, this page's height, a title and both axis titles."""
    fig.update_layout(template=TEMPLATE, height=HEIGHT, title=title, xaxis_title=x, yaxis_title=y,
                      margin=dict(l=40, r=20, t=60, b=40))
    return fig


def _count_labels(counts, shares) -> list[str]:
    """'1,234 (12.3%)' for each bar."""
    return [f"{n:,} ({s:.1%})" for n, s in zip(counts, shares)]


def missing_figure(profile: Profile) -> go.Figure:
    """Horizontal bars: the share of rows missing in each column that has gaps."""
    missing = profile.missing[profile.missing > 0].sort_values(ascending=True)
    share = missing / profile.n_rows
    fig = go.Figure(go.Bar(x=share.values, y=[str(c) for c in share.index], orientation="h",
                           text=_count_labels(missing.values, share.values),
                           textposition="auto", marker_color="#d62728"))
    fig.update_xaxes(tickformat=".1%" if share.max() < 0.1 else ".0%")
    return _style(fig, "Missing values per column", "Share of rows missing (%)", "Column")


def class_balance_figure(profile: Profile, dataset: Dataset) -> go.Figure:
    """Rows per class of the target (classification)."""
    counts = profile.target_summary
    share = counts / counts.sum()
    fig = go.Figure(go.Bar(x=[str(c) for c in counts.index], y=counts.values,
                           text=_count_labels(counts.values, share.values),
                           textposition="auto", marker_color="#1f77b4"))
    return _style(fig, f"Class balance of '{dataset.target}'", "Class", "Rows")


def _sampled(frame, max_rows: int | None) -> tuple:
    """(the rows a chart draws: a seeded sample of `max_rows` when more, the title's note on it)."""
    shown = sample_rows(frame, max_rows)
    note = sample_note(len(shown), len(frame))
    return shown, f"<br><sup>{note[0].upper()}{note[1:]}</sup>" if note else ""


def target_figure(dataset: Dataset, max_rows: int | None = None) -> go.Figure:
    """Histogram of the target (regression), on a seeded sample of `max_rows` rows when there are more."""
    frame, note = _sampled(dataset.frame[[dataset.target]], max_rows)
    fig = px.histogram(frame, x=dataset.target, nbins=40)
    return _style(fig, f"Distribution of the target '{dataset.target}'{note}", dataset.target, "Rows")


def distribution_figure(dataset: Dataset, column: str, max_rows: int | None = None) -> go.Figure:
    """Histogram (numeric) or bar chart (categorical), split by class for classification; on a seeded sample of
    `max_rows` rows when there are more (the title says so)."""
    frame, note = _sampled(dataset.frame[list(dict.fromkeys([column, dataset.target]))], max_rows)
    color = dataset.target if dataset.task == "classification" and column != dataset.target else None
    data = frame.assign(**{dataset.target: frame[dataset.target].astype(str)}) if color else frame
    if dataset.column_types.get(column) == "numeric":
        fig = px.histogram(data, x=column, color=color, nbins=40, barmode="overlay", opacity=0.7)
    else:
        counts = data.groupby([column] + ([color] if color else []), dropna=False).size().reset_index(name="rows")
        counts[column] = counts[column].astype(str)
        fig = px.bar(counts, x=column, y="rows", color=color, barmode="group")
    return _style(fig, f"Distribution of '{column}'" + (f" by {color}" if color else "") + note, column, "Rows")


def correlation_figure(profile: Profile) -> go.Figure:
    """Heatmap of Pearson r between the profiled numeric columns (taller when there are many)."""
    corr = profile.correlation
    fig = go.Figure(go.Heatmap(z=corr.values, x=list(corr.columns), y=list(corr.index), zmin=-1, zmax=1,
                               colorscale="RdBu", reversescale=True, colorbar=dict(title="r")))
    fig = _style(fig, "Correlation between numeric columns (Pearson r)", "", "")
    fig.update_layout(height=max(HEIGHT, 18 * len(corr) + 120))
    return fig


def before_after_figure(preview: CleaningPreview, column: str) -> go.Figure:
    """Side-by-side histograms, each with its own bins (scaling changes the range, not the shape)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Before (raw values)", "After (as the model sees it)"))
    for col, (values, color) in enumerate(((preview.before[column], "#1f77b4"), (preview.after[column], "#2ca02c")), 1):
        fig.add_trace(go.Histogram(x=values, nbinsx=40, marker_color=color, showlegend=False), row=1, col=col)
    note = sample_note(len(preview.before), preview.train_rows, "training rows")
    fig = _style(fig, f"'{column}' before and after cleaning (training split)"
                 + (f"<br><sup>{note[0].upper()}{note[1:]}</sup>" if note else ""), "", "Rows")
    fig.update_xaxes(title_text="Value")
    return fig


def image_samples_figure(dataset: Dataset, per_class: int = 1, max_classes: int = 10) -> go.Figure:
    """The first image of each class, for data sets whose rows are pixel grids (e.g. digits, 8×8)."""
    height, width = dataset.image_shape
    frame = dataset.frame
    rows = frame.groupby(frame[dataset.target].astype(str), sort=True).head(per_class).head(max_classes * per_class)
    pixels = rows[dataset.features].to_numpy(float).reshape(-1, height, width)
    fig = px.imshow(np.asarray(pixels), facet_col=0, facet_col_wrap=10, binary_string=False,
                    color_continuous_scale="gray_r")
    for i, label in enumerate(rows[dataset.target].astype(str)):
        fig.layout.annotations[i].text = f"{dataset.target} = {label}"
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(template=TEMPLATE, height=220, title=f"One example per class ({height}×{width} pixels)",
                      coloraxis_showscale=False, margin=dict(l=10, r=10, t=60, b=10))
    return fig
