"""Figures for image data sets (pure: data in, plotly Figure out): sample grids per class, class balance, pixel
and size statistics, and augmentation previews.

Pictures are tiled into one mosaic drawn as a single ``go.Image`` (one trace however many pictures), grey levels
scaled from the data set's own pixel range. ``to_rgb`` and ``mosaic`` are reused by the explanation heat maps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.common.charts import PALETTE, style
from core.data._dataset import Dataset
from core.data._images import image_geometry, images_of, pixel_range

GAP = 1   # pixels between tiles


def to_rgb(images: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """(…, c, h, w) pictures as uint8 (…, h, w, 3) for display, grey repeated to three channels."""
    lo, hi = value_range
    scaled = np.clip((np.asarray(images, dtype=np.float32) - lo) / max(hi - lo, 1e-12), 0, 1) * 255
    scaled = np.moveaxis(scaled, -3, -1)
    if scaled.shape[-1] == 1:
        scaled = np.repeat(scaled, 3, axis=-1)
    return scaled.round().astype(np.uint8)


def mosaic(tiles: np.ndarray, gap: int = GAP, background: int = 255) -> np.ndarray:
    """A (rows, cols, h, w, 3) uint8 grid of pictures as one (H, W, 3) picture with `gap` pixels between tiles."""
    rows, cols, h, w, _c = tiles.shape
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), background, dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tiles[r, c]
    return out


def _mosaic_figure(tiles: np.ndarray, row_names: list[str], title: str, height: int | None = None,
                   col_names: list[str] | None = None) -> go.Figure:
    rows, cols, h, w, _c = tiles.shape
    fig = go.Figure(go.Image(z=mosaic(tiles), hoverinfo="skip"))
    fig.update_yaxes(tickmode="array", tickvals=[r * (h + GAP) + h / 2 for r in range(rows)], ticktext=row_names,
                     showgrid=False, scaleanchor="x")
    if col_names:
        fig.update_xaxes(tickmode="array", tickvals=[c * (w + GAP) + w / 2 for c in range(cols)], ticktext=col_names,
                         side="top", showgrid=False, tickangle=0)
    else:
        fig.update_xaxes(showticklabels=False, showgrid=False)
    fig = style(fig, title, height=height or max(220, min(900, 60 + rows * 70)))
    return fig.update_layout(margin=dict(l=90, r=10, t=95 if col_names else 70, b=10))


def _per_class(dataset: Dataset, per_class: int, seed: int) -> tuple[list[str], list[np.ndarray]]:
    """Up to `per_class` seeded picks per class, classes in the data set's order."""
    rng = np.random.default_rng(seed)
    y = dataset.y.astype(str).to_numpy()
    names, picks = [], []
    for label in dataset.classes:
        rows = np.flatnonzero(y == label)
        picks.append(rng.choice(rows, size=min(per_class, len(rows)), replace=False))
        names.append(str(label))
    return names, picks


def sample_grid_figure(dataset: Dataset, per_class: int = 8, max_classes: int = 12, seed: int = 0) -> go.Figure:
    """A seeded sample of pictures, one row per class."""
    channels, height, width = image_geometry(dataset)
    names, picks = _per_class(dataset, per_class, seed)
    names, picks = names[:max_classes], picks[:max_classes]
    value_range = pixel_range(dataset)
    tiles = np.full((len(names), per_class, height, width, 3), 255, dtype=np.uint8)
    for r, rows in enumerate(picks):
        tiles[r, :len(rows)] = to_rgb(images_of(dataset, dataset.frame.index[rows]), value_range)
    shown = f"{len(names)} of {len(dataset.classes)} classes" if len(dataset.classes) > len(names) else "each class"
    return _mosaic_figure(tiles, names, f"{per_class} random pictures of {shown} ({height}×{width}"
                          f"{', colour' if channels == 3 else ', grey'})")


def mean_image_figure(dataset: Dataset, max_classes: int = 12) -> go.Figure:
    """The average picture of each class: where the classes put their ink or their light."""
    _c, height, width = image_geometry(dataset)
    y = dataset.y.astype(str).to_numpy()
    classes = [str(c) for c in dataset.classes][:max_classes]
    means = np.stack([images_of(dataset, dataset.frame.index[y == c]).mean(axis=0) for c in classes])
    tiles = to_rgb(means, (float(means.min()), float(means.max())))[None]
    return _mosaic_figure(tiles, ["average"], "The average picture of each class", col_names=classes,
                          height=260)


def class_balance_figure(dataset: Dataset) -> go.Figure:
    """Pictures per class."""
    counts = dataset.y.astype(str).value_counts().reindex([str(c) for c in dataset.classes])
    share = counts / counts.sum()
    fig = go.Figure(go.Bar(x=list(counts.index), y=counts.values, marker_color=PALETTE[0],
                           text=[f"{n:,} ({s:.1%})" for n, s in zip(counts.values, share.values)], textposition="auto"))
    fig.update_xaxes(title_text=f"Class ('{dataset.target}')", type="category")
    fig.update_yaxes(title_text="Pictures")
    return style(fig, "Class balance (pictures per class)", height=320)


def pixel_histogram_figure(dataset: Dataset, sample: int = 500, seed: int = 0) -> go.Figure:
    """Distribution of pixel values per channel, on a seeded sample of pictures."""
    channels, _h, _w = image_geometry(dataset)
    rng = np.random.default_rng(seed)
    rows = dataset.frame.index[rng.permutation(len(dataset.frame))[:sample]]
    images = images_of(dataset, rows)
    fig = go.Figure()
    names = ("grey",) if channels == 1 else ("red", "green", "blue")
    colours = ("#555555",) if channels == 1 else ("#d62728", "#2ca02c", "#1f77b4")
    for c, (name, colour) in enumerate(zip(names, colours)):
        fig.add_trace(go.Histogram(x=images[:, c].ravel(), name=name, marker_color=colour, opacity=0.6, nbinsx=50,
                                   histnorm="percent"))
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="Pixel value")
    fig.update_yaxes(title_text="Share of pixels (%)")
    return style(fig, f"Pixel values per channel ({len(rows):,} pictures sampled)", height=320)


@dataclass(frozen=True)
class ImageStats:
    """What a person wants to know about an image set before training."""

    pictures: int
    classes: int
    height: int
    width: int
    channels: int
    low: float
    high: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    blank: int                  # pictures with a single value everywhere

    def sentence(self) -> str:
        colour = "colour (3 channels)" if self.channels == 3 else "grey (1 channel)"
        text = (f"{self.pictures:,} pictures in {self.classes} classes, each {self.height}×{self.width} pixels, "
                f"{colour}, pixel values {self.low:g}–{self.high:g} (mean {', '.join(f'{m:.1f}' for m in self.mean)}).")
        if self.blank:
            text += f" {self.blank:,} picture(s) are a single flat colour: check they belong in the data."
        return text


def image_stats(dataset: Dataset) -> ImageStats:
    channels, height, width = image_geometry(dataset)
    images = images_of(dataset)
    flat = images.reshape(len(images), -1)
    return ImageStats(len(images), len(dataset.classes), height, width, channels, float(flat.min()),
                      float(flat.max()), tuple(float(v) for v in images.mean(axis=(0, 2, 3))),
                      tuple(float(v) for v in images.std(axis=(0, 2, 3))),
                      int((flat.max(axis=1) == flat.min(axis=1)).sum()))


def augment_preview_figure(originals: np.ndarray, augmented: np.ndarray, value_range: tuple[float, float],
                           describe: str, seed: int) -> go.Figure:
    """Each original picture (first column) next to its augmented versions (same seed, same pictures)."""
    tiles = np.concatenate([to_rgb(originals, value_range)[:, None], to_rgb(augmented, value_range)], axis=1)
    cols = ["original"] + [f"#{i + 1}" for i in range(augmented.shape[1])]
    return _mosaic_figure(tiles, [f"picture {i + 1}" for i in range(len(tiles))],
                          f"Each original, then {augmented.shape[1]} augmented draws (seed {seed}): {describe}",
                          col_names=cols)


def curves_side_by_side_figure(histories: dict[str, list[dict]], metric: str = "val_score",
                               title: str = "Validation accuracy per epoch") -> go.Figure:
    """One line per training (e.g. with and without augmentation) of a history metric."""
    fig = make_subplots(rows=1, cols=1)
    for i, (name, history) in enumerate(histories.items()):
        points = [(h["epoch"], h[metric]) for h in history if h.get(metric) is not None]
        if points:
            x, y = zip(*points)
            fig.add_trace(go.Scatter(x=x, y=[100 * v for v in y] if metric == "val_score" else y, name=name,
                                     mode="lines+markers", line=dict(color=PALETTE[i % len(PALETTE)])))
    fig.update_xaxes(title_text="Epoch")
    if metric == "val_score":
        fig.update_yaxes(title_text="Validation accuracy (%)")
    else:
        fig.update_yaxes(title_text=f"{metric.replace('_', ' ').replace('val', 'validation')} (cross-entropy, log scale)",
                         type="log")
    return style(fig, title, height=340)
