"""The slides' pictures: one per slide, large type for a projector, the house palette, colour-blind-safe good / bad
(blue / vermillion, with a second cue: a shape or a label). Pure functions: plain numbers in, a plotly Figure out;
the home page, the presentation mode, the downloadable deck and the report summary all draw these."""
from __future__ import annotations

import plotly.graph_objects as go

from core.common.charts import BAD, CAUTION, FONT, GOOD, INK, MUTED, PALETTE

SLIDE_HEIGHT = 430
TEXT_SIZE = 19


def _look(fig: go.Figure, title: str, height: int = SLIDE_HEIGHT, **layout) -> go.Figure:
    look = dict(template="plotly_white", height=height, font=dict(family=FONT, size=TEXT_SIZE, color=INK),
                title=dict(text=title, x=0.0, xanchor="left", font=dict(size=TEXT_SIZE + 3)),
                margin=dict(l=20, r=30, t=70, b=50), colorway=list(PALETTE), showlegend=False,
                paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    fig.update_layout(**(look | layout))
    return fig


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def balance_figure(counts: dict[str, int], plural: str) -> go.Figure:
    """How many rows have each answer: one bar per answer, largest first, with its share written on it."""
    items = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)[:12]
    total = float(sum(counts.values())) or 1.0
    labels, values = [k for k, _ in items][::-1], [v for _, v in items][::-1]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(items))][::-1]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=colours,
                           text=[f"{v:,} ({_pct(v / total)})" for v in values], textposition="auto",
                           hovertemplate="%{y}: %{x:,}<extra></extra>"))
    fig.update_xaxes(title=f"number of {plural}", showgrid=False)
    fig.update_yaxes(type="category", automargin=True)
    return _look(fig, f"The answers in the data ({int(total):,} {plural})")


def target_figure(values, label: str, plural: str) -> go.Figure:
    """The spread of a number to predict: a histogram in the data set's own units."""
    fig = go.Figure(go.Histogram(x=list(values), nbinsx=25, marker_color=PALETTE[0],
                                 hovertemplate="%{x}: %{y} " + plural + "<extra></extra>"))
    fig.update_xaxes(title=label)
    fig.update_yaxes(title=f"number of {plural}")
    return _look(fig, f"What the model must predict ({len(values):,} {plural})")


def contenders_figure(names: list[str], scores: list[float], chosen: int, axis: str, percent: bool) -> go.Figure:
    """Each model's score on held-back rows; the chosen one in the house blue, the others grey."""
    shown = [s * 100 for s in scores] if percent else list(scores)
    colours = [GOOD if i == chosen else MUTED for i in range(len(names))]
    text = [f"{v:.1f}" if percent else f"{v:.2f}" for v in shown]
    names = [f"✓ {n}" if i == chosen else n for i, n in enumerate(names)]
    fig = go.Figure(go.Bar(x=shown, y=names, orientation="h", marker_color=colours, text=text,
                           textposition="inside", insidetextanchor="end",
                           textfont=dict(color=["white" if i == chosen else INK for i in range(len(names))]),
                           hovertemplate="%{y}: %{x:.2f}<extra></extra>"))
    low = min(0.0, min(shown)) if shown else 0.0
    fig.update_xaxes(title=axis, range=[low, 100 if percent else max(1.0, max(shown) * 1.05)])
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _look(fig, "Each model, checked on rows it did not learn from (✓ kept)")


def icon_figure(groups: list[tuple[str, int, str, str]], plural: str) -> go.Figure:
    """100 icons in a 10 × 10 grid: (label, count out of 100, colour, marker symbol) per group, filled in order."""
    xs, ys, colours, symbols, names = [], [], [], [], []
    i = 0
    for label, count, colour, symbol in groups:
        for _ in range(count):
            xs.append(i % 10)
            ys.append(9 - i // 10)
            colours.append(colour)
            symbols.append(symbol)
            names.append(label)
            i += 1
    fig = go.Figure()
    for label, count, colour, symbol in groups:
        pts = [k for k, n in enumerate(names) if n == label]
        fig.add_scatter(x=[xs[k] for k in pts], y=[ys[k] for k in pts], mode="markers", name=f"{count} {label}",
                        marker=dict(size=26, color=colour, symbol=symbol, line=dict(width=1, color="white")),
                        hovertemplate=f"{count} of 100: {label}<extra></extra>")
    fig.update_xaxes(visible=False, range=[-0.7, 9.7])
    fig.update_yaxes(visible=False, range=[-0.7, 9.7], scaleanchor="x")
    fig = _look(fig, f"Out of 100 {plural} it never saw", showlegend=True)
    fig.update_layout(legend=dict(orientation="v", x=1.02, y=0.5, yanchor="middle", font=dict(size=TEXT_SIZE)),
                      margin=dict(l=10, r=10, t=70, b=10))
    return fig


def misses_figure(guess: float, model: float, unit: str) -> go.Figure:
    """A number to predict: the average miss of always guessing the average, against the model's."""
    names = ["Always guess the average", "The model"]
    fig = go.Figure(go.Bar(x=[guess, model], y=names, orientation="h", marker_color=[MUTED, GOOD],
                           text=[f"{guess:,.3g}", f"{model:,.3g}"], textposition="auto",
                           hovertemplate="%{y}: %{x:,.3g}<extra></extra>"))
    fig.update_xaxes(title=f"average miss on new rows{f' ({unit})' if unit else ''}", rangemode="tozero")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _look(fig, "How far off it is, on rows it never saw")


def drivers_figure(names: list[str], shares: list[float], directions: list[int], up: str, down: str) -> go.Figure:
    """The facts that weigh most, as a share of everything that moved the answers; colour and arrow give the
    direction: +1 higher value -> `up`, -1 higher value -> `down`, 0 mixed."""
    colour = {1: GOOD, -1: BAD, 0: MUTED}
    arrow = {1: "▲", -1: "▼", 0: "◆"}
    fig = go.Figure(go.Bar(x=[s * 100 for s in shares], y=names, orientation="h",
                           marker_color=[colour[d] for d in directions], showlegend=False,
                           text=[f"{arrow[d]} {_pct(s)}" for s, d in zip(shares, directions)], textposition="auto",
                           hovertemplate="%{y}: %{x:.0f}% of the push<extra></extra>"))
    key = [f"{arrow[d]} higher means {words}" if d else f"{arrow[d]} no single direction"
           for d, words in ((1, up), (-1, down), (0, "")) if d in directions]
    fig.update_xaxes(title="share of what moved its answers (%)", rangemode="tozero")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig = _look(fig, "The facts it leans on most")
    fig.add_annotation(text="<br>".join(key), x=0.0, y=1.0, xref="paper", yref="paper", xanchor="left",
                       yanchor="bottom", align="left", showarrow=False, font=dict(size=TEXT_SIZE - 3, color="#57606a"))
    fig.update_layout(margin=dict(l=20, r=30, t=80 + 22 * len(key), b=50))
    return fig


def pixels_figure(grid) -> go.Figure:
    """Where in the picture the model looks: each pixel's share of what moved its answers, darker = more."""
    import numpy as np
    grid = np.asarray(grid, dtype=float)
    h, w = grid.shape
    fig = go.Figure(go.Heatmap(z=grid * 100, x=list(range(1, w + 1)), y=list(range(1, h + 1)),
                               colorscale=[[0.0, "#ffffff"], [1.0, GOOD]], showscale=True,
                               colorbar=dict(title="% of weight", thickness=14),
                               hovertemplate="pixel (%{y}, %{x}): %{z:.1f}%<extra></extra>"))
    fig.update_xaxes(title="column", dtick=1, constrain="domain")
    fig.update_yaxes(title="row", dtick=1, autorange="reversed", scaleanchor="x")
    return _look(fig, "Where in the picture it looks")


def before_after_figure(*versions: tuple[str, float, float]) -> go.Figure:
    """Pairs of bars, file size (KB) and time per answer (ms), for the original (first, grey) and the versions after
    it (the shipped one in the house blue, another in light blue); a version slower than the original is orange."""
    from plotly.subplots import make_subplots

    from core.share._words import fmt_ms, fmt_size
    names = [v[0] for v in versions]
    colours = [MUTED, GOOD, PALETTE[5]][:len(versions)]
    original_ms = versions[0][2]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("File size (KB)", "Time per answer (ms)"),
                        horizontal_spacing=0.16)
    fig.add_bar(x=names, y=[v[1] / 1024 for v in versions], marker_color=colours, row=1, col=1,
                text=[fmt_size(v[1]) for v in versions], textposition="outside", textangle=0, cliponaxis=False,
                hovertemplate="%{x}: %{y:,.1f} KB<extra></extra>")
    fig.add_bar(x=names, y=[v[2] for v in versions], row=1, col=2, textposition="outside", textangle=0,
                cliponaxis=False,
                marker_color=[c if i == 0 or v[2] <= original_ms * 1.1 else CAUTION
                              for i, (c, v) in enumerate(zip(colours, versions))],
                text=[fmt_ms(v[2]) for v in versions], hovertemplate="%{x}: %{y:.3f} ms<extra></extra>")
    fig.update_yaxes(rangemode="tozero", showticklabels=False)
    fig.update_xaxes(tickangle=0)
    fig.update_annotations(font=dict(size=TEXT_SIZE))
    return _look(fig, "Before and after", margin=dict(l=20, r=20, t=90, b=50))


def contenders_cost_figure(names: list[str], sizes: list[float], ms: list[float], chosen: int) -> go.Figure:
    """Nothing to shrink: every model's file size and time per answer, the chosen one highlighted."""
    from plotly.subplots import make_subplots

    from core.share._words import fmt_ms, fmt_size
    colours = [GOOD if i == chosen else MUTED for i in range(len(names))]
    names = [n.replace(" ", "<br>") for n in names]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("File size (KB)", "Time per answer, in bulk (ms)"),
                        horizontal_spacing=0.16)
    fig.add_bar(x=names, y=[s / 1024 for s in sizes], marker_color=colours, text=[fmt_size(s) for s in sizes],
                textposition="outside", textangle=0, cliponaxis=False, row=1, col=1,
                hovertemplate="%{x}: %{y:,.1f} KB<extra></extra>")
    fig.add_bar(x=names, y=ms, marker_color=colours, text=[fmt_ms(m) for m in ms], textposition="outside",
                textangle=0, cliponaxis=False, row=1, col=2, hovertemplate="%{x}: %{y:.3f} ms<extra></extra>")
    fig.update_yaxes(rangemode="tozero", showticklabels=False)
    fig.update_xaxes(tickangle=0)
    fig.update_annotations(font=dict(size=TEXT_SIZE))
    return _look(fig, "The kept model beside the others", margin=dict(l=20, r=20, t=90, b=50))


def cost_figure(volumes: list[float], monthly: list[float], marked: int) -> go.Figure:
    """Monthly cost at a few volumes of answers a day; the volume the headline uses is marked."""
    from core.share._words import fmt_money
    labels = [_volume(v) for v in volumes]
    colours = [GOOD if i == marked else MUTED for i in range(len(volumes))]
    fig = go.Figure(go.Bar(x=labels, y=monthly, marker_color=colours, text=[fmt_money(m) for m in monthly],
                           textposition="auto", hovertemplate="%{x}: $%{y:,.2f} a month<extra></extra>"))
    fig.update_xaxes(title="answers a day", type="category")
    fig.update_yaxes(title="dollars a month", rangemode="tozero", tickprefix="$")
    return _look(fig, "What running it costs, by traffic")


def _volume(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:,.0f} million"
    if v >= 1e3:
        return f"{v / 1e3:,.0f} thousand"
    return f"{v:,.0f}"


def checks_figure(checks: list[tuple[str, str]]) -> go.Figure:
    """A checklist: (check, 'ok' | 'note' | 'warn') per line, with a mark and a colour that do not rely on hue."""
    marks = {"ok": ("✓", GOOD), "note": ("i", CAUTION), "warn": ("!", BAD)}
    n = len(checks)
    fig = go.Figure()
    fig.add_scatter(x=[0] * n, y=list(range(n)), mode="markers+text",
                    marker=dict(size=34, color=[marks[s][1] for _, s in checks], symbol="circle"),
                    text=[marks[s][0] for _, s in checks], textfont=dict(color="white", size=TEXT_SIZE + 2),
                    hoverinfo="skip")
    fig.add_scatter(x=[0.35] * n, y=list(range(n)), mode="text", text=[c for c, _ in checks], textposition="middle right",
                    textfont=dict(size=TEXT_SIZE), hovertemplate="%{text}<extra></extra>")
    fig.update_xaxes(visible=False, range=[-0.4, 6])
    fig.update_yaxes(visible=False, range=[n - 0.4, -0.6])
    return _look(fig, "The checks we ran", margin=dict(l=10, r=10, t=70, b=10))
